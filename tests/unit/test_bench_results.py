"""The committed benchmark results (bench/results.json, BENCHMARKS.md) and the report writer.

The benchmarks themselves are not tests (they measure; `make bench`, `make bench-quick`); these
check that the results a run writes carry the figures the project reports, and that writing
BENCHMARKS.md again keeps the previous run's section for comparison.
"""

from __future__ import annotations

import copy
import importlib
import json

import pytest

from tests.conftest import REPO

RESULTS = REPO / "bench" / "results.json"


@pytest.fixture(scope="module")
def results():
    return json.loads(RESULTS.read_text())


@pytest.mark.parametrize("module", ["run", "bench_pipeline", "bench_orchestration", "bench_cost", "bench_scale",
                                    "bench_querypack", "aws_paper", "report", "captures", "stages", "prices"])
def test_bench_modules_import(module):
    importlib.import_module(f"tests.bench.{module}")


def test_every_import_of_the_bench_modules_resolves():
    """The benchmarks import most of what they time inside functions (each section runs in a process
    of its own): a renamed module or function would only show when `make bench` runs, so every
    ``from X import Y`` of tests/bench, at any depth, is resolved here."""
    import ast

    missing = []
    for path in sorted((REPO / "tests" / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            module = importlib.import_module(node.module)
            for alias in node.names:
                if not hasattr(module, alias.name):
                    try:
                        importlib.import_module(f"{node.module}.{alias.name}")
                    except ImportError:
                        missing.append(f"{path.name}: from {node.module} import {alias.name}")
    assert missing == []


def test_the_stage_timers_find_every_function_they_time(monkeypatch):
    """The pipeline benchmark times real functions by name (tests/bench/bench_pipeline.py
    install_timers): each one must still exist; everything wrapped is put back afterwards."""
    from tapcase import investigate
    from tests.bench.bench_pipeline import install_timers
    from tests.bench.stages import Timers

    monkeypatch.setattr(investigate, "investigate_once", investigate.investigate_once)  # install_timers replaces it
    timers = Timers()
    try:
        install_timers(timers, count_costs=True)
        assert len(timers._undo) >= 15
    finally:
        timers.restore()


def test_results_carry_the_headline_figures(results):
    headline = results["headline"]
    assert all(ratio > 0 for ratio in headline["overhead_ratio"].values())
    assert headline["conversion_mb_per_s"]["suricata_eve"] > 0 and headline["conversion_mb_per_s"]["zeek_json"] > 0
    assert headline["conversion_mb_per_cpu_s"]["suricata_eve"] > 0 and headline["conversion_mb_per_cpu_s"]["zeek_json"] > 0
    assert isinstance(headline["state_transitions"], int) and headline["state_transitions"] > 10
    dollars = headline["dollars_per_investigation"]
    assert 0 < dollars["without_sensor"] < dollars["total"]
    assert results["machine"]["cores"] and results["machine"]["memory_gb"]
    assert all("load_before" in s and "load_after" in s for s in results["sections"].values())


def test_writing_the_markdown_again_keeps_the_previous_run(results, tmp_path):
    from tests.bench.report import write_markdown

    page = tmp_path / "BENCHMARKS.md"
    first = copy.deepcopy(results)
    first["finished"] = "2000-01-01T00:00:00Z"
    write_markdown(first, page, RESULTS)
    assert "None: this is the first run" in page.read_text()
    second = copy.deepcopy(results)
    second["finished"] = "2000-01-02T00:00:00Z"
    write_markdown(second, page, RESULTS)
    text = page.read_text()
    assert "## Latest run: 2000-01-02T00:00:00Z" in text
    assert "## Previous run: 2000-01-01T00:00:00Z" in text
    assert text.count("### Goals") == 2


def test_growth_splits_the_investigation_into_a_fixed_part_and_seconds_per_mb():
    from tests.bench.report import growth

    def entry(mb, investigation, plain, analyze, engines):
        return {"capture_bytes": mb * 1_000_000, "investigation_s": investigation, "plain_suricata_s": plain,
                "stages_s": {"Analyze": analyze, "collect: engines (Suricata)": engines}}

    g = growth([entry(10, 12.0, 0.2, 4.0, 0.5), entry(110, 22.0, 1.2, 4.0, 5.5)])
    assert g["investigation_s_per_100mb"] == 10.0 and g["plain_suricata_s_per_100mb"] == 1.0
    assert g["investigation_fixed_s"] == 11.0 and g["marginal_ratio"] == 10.0
    assert g["growing_stages_s_per_100mb"] == {"collect: engines (Suricata)": 5.0}  # Analyze does not grow
    assert growth([entry(10, 12.0, 0.2, 4.0, 0.5)]) is None


def test_serve_memory_splits_growth_between_records_aws_keeps_and_the_process():
    """Least squares over the second half: 0.5 MB/run of RSS, 0.3 of it S3 versions and 0.1 Athena's
    history (AWS keeps both), 0.1 the process's own."""
    from tests.bench.bench_scale import summarise

    samples = [{"runs": n, "rss_mb": 500 + 0.5 * n, "s3_stored_mb": 0.2 * n,
                "holdings": {"s3 object versions": {"count": 36 * n, "bytes": 300_000 * n},
                             "athena query history": {"count": 27 * n, "bytes": 100_000 * n},
                             "threads": {"count": 8}}} for n in range(0, 101, 10)]
    m = summarise(100, 1.0, samples)
    assert m["rss_growth_mb_per_run_second_half"] == 0.5
    assert m["holders_mb_per_run_second_half"] == {"athena query history": 0.1, "s3 object versions": 0.3}
    assert m["aws_kept_mb_per_run_second_half"] == 0.4
    assert m["bookkeeping_growth_mb_per_run_second_half"] == 0.1
    assert m["holders_records_per_run_second_half"]["threads"] == 0


def test_re_measuring_one_figure_rewrites_only_the_latest_section(results, tmp_path):
    from tests.bench.report import PREV_END, PREV_START, update_latest

    page = tmp_path / "BENCHMARKS.md"
    page.write_text((REPO / "BENCHMARKS.md").read_text())
    before = page.read_text()
    again = copy.deepcopy(results)
    again["sections"]["scale: local serve memory"] = results["sections"]["scale"]
    again["remeasured"] = {"scale: local serve memory": {"at": "2000-01-03T00:00:00Z", "argv": ["python", "-m", "x"],
                                                         "machine": results["machine"]}}
    update_latest(again, page, RESULTS)
    text = page.read_text()
    previous = before[before.index(PREV_START):before.index(PREV_END)]
    assert previous in text  # the previous run's section is kept as it was
    assert "- scale: local serve memory: re-measured on its own at 2000-01-03T00:00:00Z" in text
