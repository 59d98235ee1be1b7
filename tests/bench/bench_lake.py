"""Benchmark of the curated lake (not a test).

    .venv/bin/python -m tests.bench.bench_lake [--size-mb 300] [--seed 7] [--keep DIR]

1. generates ``--size-mb`` of synthetic Zeek (stock JSON) and Suricata EVE logs with the planted
   patterns of tests/lake/synth.py (deterministic seed);
2. prints the conversion figures of tests/bench/bench_convert.py: MB/s and peak memory on one core,
   Suricata EVE and Zeek JSON apart, each in its own process, at two sizes (the logs, and the same
   written ``--repeat`` times), the Python way for comparison, and the Zeek shapes that stay on it;
3. curates all the logs to Parquet (ZSTD) in this process as the sensor does and prints the
   Parquet size against the raw JSON;
4. for every query of the pack, finds with sqlglot the columns each table reference reads (and
   the ``event_type`` partitions it is pinned to) and prints the bytes Athena would scan on the
   Parquet (the column chunks of those columns, from the Parquet footers) against the bytes of
   the raw JSON the same references would read (whole files: JSON cannot be read by column);
5. runs the pack on the Parquet with the local engine and prints the time it took.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

from tapcase import athena_sql
from tapcase.analyze import DATABASE, duckdb_connection, run_pack
from tapcase.lake_views import create_parquet_views
from tapcase_contract.layout import CURATED_PREFIX
from tapcase_sensor.lake.curate import curate, discover_logs
from tapcase_sensor.lake.schema import SURICATA_EVENT_TYPES, TABLES
from tapcase_workflow.querypack import render_pack
from tests.bench.bench_convert import conversion_figures
from tests.lake.synth import PLANTED, generate

MB = 1_000_000
ATHENA_MINIMUM = 10 * MB
PARAMETERS = {
    "finding_remote_ips": [PLANTED.c2],
    "finding_domains": [PLANTED.tunnel_domain],
    "finding_ports": [22],
    "suspect_ips": [PLANTED.suspect],
}


def _mb(n: float) -> str:
    return f"{n / MB:,.1f} MB"


# ---------------------------------------------------------------------------------------------
# What each query reads
# ---------------------------------------------------------------------------------------------


def _column_of(column: exp.Column, aliases: dict[str, str]) -> tuple[str, str] | None:
    """(alias, top-level column) of ``alias.col``, ``alias.struct.field``, ``alias.s.f.g``."""
    parts = [p for p in (column.catalog, column.db, column.table, column.name) if p]
    for index, part in enumerate(parts[:-1]):
        if part in aliases:
            return part, parts[index + 1]
    if len(parts) == 1 and len(aliases) == 1:
        return next(iter(aliases)), parts[0]
    return None


def _pinned_event_types(scope_expression: exp.Expr, alias: str) -> set[str] | None:
    """Event types a reference is restricted to by ``alias.event_type = '...'`` (None: all)."""
    values: set[str] = set()
    where = scope_expression.args.get("where")
    if where is None:
        return None
    for eq in where.find_all(exp.EQ):
        left, right = eq.left, eq.right
        if isinstance(right, exp.Column):
            left, right = right, left
        if (isinstance(left, exp.Column) and left.name == "event_type" and left.table == alias
                and isinstance(right, exp.Literal) and right.is_string):
            values.add(right.name)
    return values or None


def references(sql: str) -> list[dict]:
    """Every catalog table reference of a query: table, columns read, event types pinned."""
    tree = athena_sql.parse(sql)
    out = []
    for scope in traverse_scope(tree):
        aliases = {
            alias: source.name
            for alias, source in scope.sources.items()
            if isinstance(source, exp.Table) and source.name in TABLES
            and source.find_ancestor(exp.Select, exp.SetOperation) is scope.expression
        }
        if not aliases:
            continue
        columns: dict[str, set[str]] = defaultdict(set)
        for column in scope.columns:
            found = _column_of(column, aliases)
            if found:
                alias, name = found
                if name in TABLES[aliases[alias]].column_names:
                    columns[alias].add(name)
        for alias, table in aliases.items():
            out.append({
                "table": table,
                "columns": sorted(columns.get(alias, ())),
                "event_types": _pinned_event_types(scope.expression, alias),
            })
    return out


# ---------------------------------------------------------------------------------------------
# Bytes
# ---------------------------------------------------------------------------------------------


def column_chunk_bytes(root: Path, investigation_id: str) -> dict[tuple[str, str | None], dict[str, int]]:
    """{(table, event_type): {top-level column: compressed bytes}} from the Parquet footers."""
    sizes: dict[tuple[str, str | None], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for table in TABLES.values():
        base = root / CURATED_PREFIX / table.name / f"investigation_id={investigation_id}"
        for path in sorted(base.rglob("*.parquet")):
            event_type = path.parent.name.split("=", 1)[1] if path.parent.name.startswith("event_type=") else None
            meta = pq.ParquetFile(path).metadata
            for rg in range(meta.num_row_groups):
                group = meta.row_group(rg)
                for c in range(group.num_columns):
                    chunk = group.column(c)
                    sizes[(table.name, event_type)][chunk.path_in_schema.split(".")[0]] += chunk.total_compressed_size
    return sizes


def scanned(refs: list[dict], chunks: dict, raw_bytes: dict[str, int]) -> tuple[int, int]:
    parquet = raw = 0
    for ref in refs:
        table = ref["table"]
        if not ref["columns"]:
            continue  # an existence probe on the partition only (NOT EXISTS ...): no data columns
        raw += raw_bytes.get(table, 0)
        if "event_type" in TABLES[table].partition_keys:
            wanted = ref["event_types"] or set(SURICATA_EVENT_TYPES)
            keys = [(table, e) for e in wanted]
        else:
            keys = [(table, None)]
        for key in keys:
            per_column = chunks.get(key, {})
            parquet += sum(per_column.get(c, 0) for c in ref["columns"])
    return parquet, raw


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark raw JSON -> Parquet and the query pack's scan sizes.")
    parser.add_argument("--size-mb", type=float, default=300.0, help="raw JSON to generate (default 300)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep the logs and Parquet in this folder")
    parser.add_argument("--workers", type=int, default=1, help="curation processes (one table per process)")
    parser.add_argument("--repeat", type=int, default=3, help="conversion figures: the second size, the logs x N")
    parser.add_argument("--json", type=Path, help="write the conversion figures to this file too")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="tapcase-bench-"))
    logs, out = work / "logs", work / "out"
    investigation_id = "bench-1"
    try:
        # About 1.45 kB of logs per background connection (measured on the generator).
        conns = max(1500, int(args.size_mb * MB / 1450))
        started = time.monotonic()
        info = generate(logs, seed=args.seed, background_conns=conns)
        gen_seconds = time.monotonic() - started
        raw_total = info["bytes"]
        print(f"generated {_mb(raw_total)} of JSON logs ({', '.join(info['files'])}) in {gen_seconds:.1f} s")

        figures = conversion_figures(logs, repeat=args.repeat, work=work)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1) + "\n")
        print()

        sources, _ = discover_logs(logs)
        started = time.monotonic()
        result = curate(sources, out, investigation_id, workers=args.workers)
        seconds = time.monotonic() - started
        parquet_total = sum(p.stat().st_size for p in result.files)
        rows = sum(result.rows.values())
        print(
            f"all the logs curated at once (workers={args.workers}, threads as Arrow chooses): {rows:,} records, "
            f"{_mb(raw_total)} in {seconds:.1f} s = {raw_total / MB / seconds:.1f} MB/s ({rows / seconds:,.0f} records/s)"
        )
        print(
            f"size: raw JSON {_mb(raw_total)}, Parquet ZSTD {_mb(parquet_total)} "
            f"({100 * parquet_total / raw_total:.1f}% of raw, {raw_total / parquet_total:.1f}x smaller)"
        )
        raw_bytes: dict[str, int] = defaultdict(int)
        for source in sources:
            table = "suricata_eve" if source.kind == "suricata" else f"zeek_{source.log_type}"
            raw_bytes[table] += source.path.stat().st_size
        print("per table:", ", ".join(
            f"{t} {_mb(raw_bytes[t])} -> {_mb(sum(p.stat().st_size for p in result.files if f'/{t}/' in p.as_posix()))}"
            for t in sorted(raw_bytes)))

        chunks = column_chunk_bytes(out, investigation_id)
        print()
        print(f"{'query':26} {'Parquet scan':>14} {'raw JSON scan':>14} {'ratio':>7}  columns read")
        total_parquet = total_raw = billed_parquet = billed_raw = 0
        for query in render_pack(database=DATABASE, investigation_id=investigation_id, parameters=PARAMETERS):
            refs = references(query.sql)
            parquet, raw = scanned(refs, chunks, raw_bytes)
            total_parquet += parquet
            total_raw += raw
            billed_parquet += max(parquet, ATHENA_MINIMUM)
            billed_raw += max(raw, ATHENA_MINIMUM)
            cols = "; ".join(
                f"{r['table']}({','.join(r['columns']) or '-'})"
                + (f"[{','.join(sorted(r['event_types']))}]" if r["event_types"] else "")
                for r in refs
            )
            ratio = f"{100 * parquet / raw:.1f}%" if raw else "-"
            print(f"{query.name:26} {_mb(parquet):>14} {_mb(raw):>14} {ratio:>7}  {cols}")
        print(
            f"{'pack total':26} {_mb(total_parquet):>14} {_mb(total_raw):>14} "
            f"{100 * total_parquet / max(total_raw, 1):>6.1f}%"
        )
        print(
            f"Athena bill for the pack (10 MB minimum per query, $5/TB): Parquet {_mb(billed_parquet)} "
            f"= ${billed_parquet / 1e12 * 5:.5f}; raw JSON {_mb(billed_raw)} = ${billed_raw / 1e12 * 5:.5f}"
        )

        con = duckdb_connection()
        create_parquet_views(con, DATABASE, out)
        started = time.monotonic()
        results, errors = run_pack(con, investigation_id, parameters=PARAMETERS)
        print(
            f"\nlocal pack run on Parquet (DuckDB): {len(results['queries'])} queries in "
            f"{time.monotonic() - started:.1f} s" + (f", {len(errors)} failed: {errors}" if errors else "")
        )
        top = results["queries"]["beaconing"]["rows"][0]
        print(f"beaconing, first row: {top[0]} -> {top[1]} score {top[2]}")
        return 1 if errors else 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
