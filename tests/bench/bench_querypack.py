"""The query pack at size (not a test): ~1 GB of logs, the pack on the local engine.

    .venv/bin/python -m tests.bench.bench_querypack [--size-mb 1000] [--json FILE]

1. generates ``--size-mb`` of synthetic Zeek (stock JSON) and Suricata EVE logs around the planted
   patterns of ``tests/lake/synth.py`` (deterministic seed);
2. curates them to Parquet as the sensor does (:func:`tapcase_sensor.lake.curate.curate`);
3. runs every query of the pack on the Parquet with the local engine -- the same path as
   ``tapcase analyze``: the query transpiled (``tapcase.athena_sql``) and run on DuckDB over the
   curated views -- each query timed alone, in a fresh process, one after the other: total time,
   per-query time, which query dominates, and the rows each returned.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.captures import MB, REPO
from tests.bench.machine import peak_rss_mb


def child(spec: dict[str, Any]) -> dict[str, Any]:
    from tapcase.analyze import DATABASE, duckdb_connection, run_query
    from tapcase.lake_views import create_parquet_views
    from tapcase_sensor.lake.curate import curate, discover_logs
    from tapcase_workflow.querypack import render_pack
    from tests.bench.bench_lake import PARAMETERS
    from tests.lake.synth import generate

    work = Path(spec["work"])
    logs, out = work / "logs", work / "out"
    investigation_id = "bench-pack"
    began = time.monotonic()
    info = generate(logs, seed=7, background_conns=max(1500, int(spec["size_mb"] * MB / 1450)))
    generated_s = time.monotonic() - began
    sources, _ = discover_logs(logs)
    began = time.monotonic()
    result = curate(sources, out, investigation_id)
    curate_s = time.monotonic() - began
    con = duckdb_connection()
    create_parquet_views(con, DATABASE, out)
    queries = []
    total = time.monotonic()
    for query in render_pack(database=DATABASE, investigation_id=investigation_id, parameters=PARAMETERS):
        began = time.monotonic()
        try:
            rows = len(run_query(con, query.sql)["rows"])
            error = None
        except Exception as exc:  # noqa: BLE001 - recorded: one failing query must not hide the others
            rows, error = 0, f"{type(exc).__name__}: {exc}"[:300]
        queries.append({"query": query.name, "seconds": round(time.monotonic() - began, 3), "rows": rows,
                        "error": error})
    pack_s = time.monotonic() - total
    return {
        "log_bytes": info["bytes"], "records": sum(result.rows.values()),
        "parquet_bytes": sum(p.stat().st_size for p in result.files),
        "generate_s": round(generated_s, 1), "curate_s": round(curate_s, 1),
        "pack_s": round(pack_s, 2), "queries": queries, "peak_rss_mb": peak_rss_mb(),
    }


def measure(size_mb: float) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="tapcase-bench-pack-"))
    try:
        proc = subprocess.run([sys.executable, "-m", "tests.bench.bench_querypack", "--child",
                               json.dumps({"work": str(work), "size_mb": size_mb})],
                              capture_output=True, text=True, check=False, cwd=REPO)
        if proc.returncode != 0:
            raise RuntimeError(f"query pack benchmark failed:\n{proc.stderr[-4000:]}")
        figures = dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ranked = sorted(figures["queries"], key=lambda q: -q["seconds"])
    figures["dominant_query"] = ranked[0]["query"]
    figures["dominant_share"] = round(ranked[0]["seconds"] / max(figures["pack_s"], 1e-9), 3)
    figures["failed"] = [q["query"] for q in figures["queries"] if q["error"]]
    return figures


def print_figures(f: dict[str, Any]) -> None:
    print(f"\nquery pack on {f['log_bytes'] / MB:,.0f} MB of logs ({f['records']:,} records, Parquet "
          f"{f['parquet_bytes'] / MB:,.0f} MB): {len(f['queries'])} queries in {f['pack_s']:.1f} s; "
          f"{f['dominant_query']} dominates ({100 * f['dominant_share']:.0f}%)")
    for q in sorted(f["queries"], key=lambda q: -q["seconds"]):
        print(f"  {q['query']:26} {q['seconds']:7.2f} s {q['rows']:6} rows" + (f"  {q['error']}" if q["error"] else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=1000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    figures = measure(args.size_mb)
    print_figures(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
