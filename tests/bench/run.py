"""Every benchmark in one run: ``bench/results.json`` and the table of ``BENCHMARKS.md`` (not a test).

    .venv/bin/python -m tests.bench.run --quick     # make bench-quick: small sizes, under two minutes
    .venv/bin/python -m tests.bench.run             # make bench: every size

Each section runs in processes of its own, one after the other (never two measurements at once),
with the machine's load recorded before and after it. Figures are medians over repeats where a
section repeats. The previous table of BENCHMARKS.md is kept under "Previous run" for comparison.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench import aws_paper, bench_cost, bench_orchestration, bench_pipeline, bench_querypack, bench_scale
from tests.bench.captures import MB, REPO
from tests.bench.machine import describe, load
from tests.bench.report import growth, write_markdown

RESULTS = REPO / "bench" / "results.json"
MARKDOWN = REPO / "BENCHMARKS.md"

PROFILES: dict[str, dict[str, Any]] = {
    "quick": {"sizes": [10], "repeat": 2, "conversion_mb": 20, "conversion_repeat": 1, "orchestration_runs": 2,
              "scale_levels": [3], "sequential": 5, "pack_mb": 20},
    "full": {"sizes": [10, 100, 500], "repeat": 3, "conversion_mb": 200, "conversion_repeat": 3,
             "orchestration_runs": 15, "scale_levels": [1, 10, 50], "sequential": 100, "pack_mb": 1000},
}


def _section(name: str, results: dict[str, Any], run: Any) -> Any:
    print(f"\n== {name} ==", flush=True)
    before, began = load(), time.monotonic()
    value = run()
    results.setdefault("sections", {})[name] = {"seconds": round(time.monotonic() - began, 1),
                                                "load_before": before, "load_after": load()}
    return value


def conversion(size_mb: float, repeat: int, work: Path) -> dict[str, Any]:
    """Raw logs -> Parquet on one core (tests/bench/bench_convert.py), native EVE and Zeek JSON."""
    from tests.bench.bench_convert import conversion_figures, print_header, print_row, run_one
    from tests.lake.synth import generate

    logs = work / "conversion-logs"
    info = generate(logs, seed=7, background_conns=max(1500, int(size_mb * MB / 1450)))
    if repeat > 1:
        rows = conversion_figures(logs, repeat=repeat, work=work / "conversion")
    else:
        print_header()
        rows = []
        for kind in ("suricata-eve", "zeek-json"):
            rows.append(run_one(kind, logs, native=True, label=f"synthetic, {info['bytes'] / MB:.0f} MB of logs",
                                work=work / "conversion"))
            print_row(rows[-1])
    return conversion_summary(rows)


def conversion_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The conversion figures of the largest synthetic input of each kind: MB/s of wall time, and MB
    per CPU-second of the one core the process is pinned to (the rate the goal is judged on: on a
    shared machine the wall time also counts the other processes queued on that core)."""
    native = [r for r in rows if r["path"] == "native" and r["input"].startswith("synthetic")]

    def best(kind: str) -> dict[str, Any]:
        candidates = [r for r in native if r["kind"] == kind]
        return max(candidates, key=lambda r: r["bytes"])  # the largest input of the kind

    eve, zeek = best("suricata-eve"), best("zeek-json")
    return {"runs": rows, "eve_mb_per_s": round(eve["mb_per_s"], 1), "zeek_json_mb_per_s": round(zeek["mb_per_s"], 1),
            "eve_cpu_mb_per_s": round(eve["cpu_mb_per_s"], 1), "zeek_json_cpu_mb_per_s": round(zeek["cpu_mb_per_s"], 1),
            "eve_peak_rss_mb": eve["peak_rss_mb"], "zeek_peak_rss_mb": zeek["peak_rss_mb"],
            "memory_bounded": _memory_bounded(native)}


def _memory_bounded(native: list[dict[str, Any]]) -> dict[str, Any] | None:
    out = {}
    for kind in ("suricata-eve", "zeek-json"):
        runs = sorted((r for r in native if r["kind"] == kind), key=lambda r: r["bytes"])
        if len(runs) >= 2:
            small, large = runs[0], runs[-1]
            out[kind] = {"input_ratio": round(large["bytes"] / small["bytes"], 2),
                         "memory_ratio": round(large["peak_rss_mb"] / small["peak_rss_mb"], 2)}
    return out or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (make bench-quick)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--markdown", type=Path, default=MARKDOWN)
    parser.add_argument("--only", choices=["serve-memory"],
                        help="re-measure one figure and merge it into the existing results (serve-memory: "
                             "`local serve` over --sequential runs); the rest of BENCHMARKS.md is kept as it is")
    parser.add_argument("--sequential", type=int, help="runs of the serve-memory figure (default: the profile's)")
    args = parser.parse_args(argv)
    if args.only:
        return only_serve_memory(args.results, args.markdown, args.sequential or PROFILES["full"]["sequential"])
    profile = "quick" if args.quick else "full"
    p = PROFILES[profile]
    command = "make bench-quick" if args.quick else "make bench"
    results: dict[str, Any] = {
        "profile": profile, "command": command,
        "argv": [Path(sys.executable).name, "-m", "tests.bench.run", *(["--quick"] if args.quick else [])],
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": describe(),
    }
    began = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="tapcase-bench-run-"))
    try:
        pipeline = _section("pipeline overhead", results, lambda: [
            _print_size(bench_pipeline.measure_size(size, p["repeat"], work, count_costs=(size == p["sizes"][-1])))
            for size in p["sizes"]])
        cost_size = pipeline[-1]
        cost = bench_cost.figures(cost_size.pop("cost_run"), cost_size["capture"], cost_size["capture_bytes"])
        for entry in pipeline:
            entry.pop("cost_run", None)
        bench_cost.print_figures(cost)
        results["pipeline"] = pipeline
        results["cost"] = cost
        results["conversion"] = _section("conversion", results, lambda: conversion(
            p["conversion_mb"], p["conversion_repeat"], work))
        orchestration = _section("orchestration", results, lambda: _print_orchestration(
            bench_orchestration.measure(p["orchestration_runs"])))
        results["orchestration"] = orchestration
        results["scale"] = _section("scale", results, lambda: _scale(p["scale_levels"], p["sequential"]))
        results["querypack"] = _section("query pack at size", results, lambda: _pack(p["pack_mb"]))
        collect = statistics.median(
            [e["stages_s"].get("collect: manifest", 0) + e["stages_s"].get("collect: curation", 0)
             + e["stages_s"].get("collect: upload", 0) for e in pipeline])
        results["aws_paper"] = aws_paper.estimate(orchestration, collect)
        results["headline"] = headline(results)
        results["seconds"] = round(time.monotonic() - began, 1)
        results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=1) + "\n")
    write_markdown(results, args.markdown, args.results)
    print(f"\nwrote {args.results} and {args.markdown} in {results['seconds']:.0f} s")
    return 0


def only_serve_memory(results_path: Path, markdown: Path, runs: int) -> int:
    """Re-measures `local serve` memory over ``runs`` runs into the existing results and rewrites
    only the latest run's section of BENCHMARKS.md (its previous-run section is kept as it is)."""
    from tests.bench.report import update_latest

    results = json.loads(results_path.read_text())
    argv = [Path(sys.executable).name, "-m", "tests.bench.run", "--only", "serve-memory", "--sequential", str(runs)]
    memory = _section("scale: local serve memory", results, lambda: bench_scale.memory_over_time(runs))
    results.setdefault("scale", {})["memory"] = memory
    results.setdefault("remeasured", {})["scale: local serve memory"] = {
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "argv": argv, "machine": describe()}
    print(f"local serve, {runs} runs: {memory['rss_growth_mb_per_run_second_half']:+.3f} MB/run over the second half, "
          f"{memory['aws_kept_mb_per_run_second_half']:.3f} MB/run kept by AWS too, "
          f"{memory['bookkeeping_growth_mb_per_run_second_half']:+.3f} MB/run the process's own")
    results_path.write_text(json.dumps(results, indent=1) + "\n")
    update_latest(results, markdown, results_path)
    print(f"wrote {results_path} and the latest section of {markdown}")
    return 0


def _print_size(result: dict[str, Any]) -> dict[str, Any]:
    bench_pipeline.print_size(result)
    return result


def _print_orchestration(f: dict[str, Any]) -> dict[str, Any]:
    print(f"start -> sessions created {f['sessions_created_s']:.2f} s, start -> teardown complete "
          f"{f['teardown_complete_s']:.2f} s (median of {f['runs']})")
    return f


def _scale(levels: list[int], sequential: int) -> dict[str, Any]:
    out: dict[str, Any] = {"at_once": [], "memory": None}
    for level in levels:
        f = bench_scale.at_once(level)
        out["at_once"].append(f)
        print(f"{level:3} at once: {f['wall_s']:.1f} s, each {f['per_investigation_median_s']:.1f} s, "
              f"peak {f['peak_rss_mb']:.0f} MB, {f['statuses']}", flush=True)
    if sequential:
        out["memory"] = bench_scale.memory_over_time(sequential)
        m = out["memory"]
        print(f"local serve, {m['runs']} runs: RSS {m['samples'][0]['rss_mb']} -> {m['rss_last_mb']} MB, "
              f"{m['rss_growth_mb_per_run_second_half']} MB/run over the second half")
    return out


def _pack(size_mb: float) -> dict[str, Any]:
    f = bench_querypack.measure(size_mb)
    bench_querypack.print_figures(f)
    return f


def headline(r: dict[str, Any]) -> dict[str, Any]:
    """The fields every reader looks for first (also required by the issue)."""
    return {
        "overhead_ratio": {f"{e['size_mb']:g}MB": e["overhead_ratio"] for e in r["pipeline"]},
        "overhead_ratio_on_running_cloud": {f"{e['size_mb']:g}MB": e["overhead_ratio_on_running_cloud"]
                                            for e in r["pipeline"]},
        "conversion_mb_per_s": {"suricata_eve": r["conversion"]["eve_mb_per_s"],
                                "zeek_json": r["conversion"]["zeek_json_mb_per_s"]},
        "conversion_mb_per_cpu_s": {"suricata_eve": r["conversion"]["eve_cpu_mb_per_s"],
                                    "zeek_json": r["conversion"]["zeek_json_cpu_mb_per_s"]},
        "state_transitions": r["cost"]["state_transitions"],
        "dollars_per_investigation": {"without_sensor": r["cost"]["without_sensor_usd"],
                                      "sensor_instance": r["cost"]["sensor_instance_usd"],
                                      "total": r["cost"]["total_usd"]},
        "orchestration_s": {"to_sessions": r["orchestration"]["sessions_created_s"],
                            "to_teardown": r["orchestration"]["teardown_complete_s"]},
        "finding_to_mirroring_on_aws_s": r["aws_paper"]["finding_to_mirroring_s"],
        "overhead_growth": growth(r["pipeline"]),
    }


if __name__ == "__main__":
    raise SystemExit(main())
