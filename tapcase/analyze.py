"""``tapcase analyze``: the investigation query pack on logs you already have, on this machine.

1. find the Zeek logs (stock JSON, ISO-time JSON or TSV; gzip or not) and Suricata EVE files
   under ``--logs`` (by content, not by name);
2. curate them into ``<out>/investigations/curated/...`` Parquet, exactly as the sensor does
   before uploading to S3 (:mod:`tapcase_sensor.lake.curate`);
3. expose the Parquet to DuckDB as the Glue tables' views (:mod:`tapcase.lake_views`) and
   run every query of the pack that needs no finding values, transpiled from Athena SQL by
   :mod:`tapcase.athena_sql`;
4. write ``<out>/results.json`` (``{"queries": {name: {"columns": [...], "rows": [...]}}}``) and
   the report the workflow writes (``report.json``, ``report.md``).
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tapcase_contract import ContractError
from tapcase_contract.ids import check_investigation_id, investigation_id_from_name
from tapcase_contract.layout import CURATED_PREFIX, INVESTIGATION_PARTITION

DATABASE = "forensics"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class AnalyzeError(Exception):
    """Input ``tapcase analyze`` cannot work with (the message says why)."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# ---------------------------------------------------------------------------------------------
# Running the pack on DuckDB
# ---------------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """DuckDB values -> JSON values (Decimal/HUGEINT/dates/structs/NaN handled)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def duckdb_connection(database: str = DATABASE) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{database}"')
    return con


def run_query(con: Any, sql: str, *, database: str = DATABASE) -> dict[str, list[Any]]:
    """One Athena query on DuckDB: ``{"columns": [...], "rows": [[...], ...]}``."""
    from tapcase.athena_sql import output_column_names, to_duckdb
    from tapcase_sensor.lake.schema import query_schema

    duck = to_duckdb(sql, {database: query_schema()})
    cursor = con.execute(duck)
    columns = output_column_names(d[0] for d in cursor.description)
    rows = [[jsonable(v) for v in row] for row in cursor.fetchall()]
    return {"columns": columns, "rows": rows}


def run_pack(
    con: Any,
    investigation_id: str,
    *,
    parameters: Mapping[str, Any] | None = None,
    database: str = DATABASE,
    names: list[str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Every runnable query of the pack: (``{"queries": {...}}``, ``{name: error}``)."""
    from tapcase_workflow.querypack import render_pack

    queries: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for query in render_pack(database=database, investigation_id=investigation_id, parameters=parameters, names=names):
        try:
            queries[query.name] = run_query(con, query.sql, database=database)
        except Exception as exc:  # one failing query must not lose the others' results
            errors[query.name] = f"{type(exc).__name__}: {exc}"
    return {"queries": queries}, errors


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def default_investigation_id(logs: Path) -> str:
    """An investigation id from the logs folder's name (``My Logs_2024`` -> ``my-logs-2024``; a
    long name is shortened and keeps a digest of the whole: :func:`investigation_id_from_name`)."""
    return investigation_id_from_name(logs.resolve().name)


def analyze(logs: Path, out: Path, investigation_id: str | None = None) -> dict[str, Any]:
    """Curate, run the pack, write results and report. Returns what the command prints."""
    from tapcase.lake_views import create_parquet_views
    from tapcase_sensor.errors import LogParseError
    from tapcase_sensor.lake.curate import curate, discover_logs
    from tapcase_workflow.logic.report import build_report, render_markdown
    from tapcase_workflow.querypack import skipped_queries

    logs = Path(logs)
    if not logs.is_dir():
        raise AnalyzeError(f"{logs} is not a folder")
    if not any(p.is_file() for p in logs.rglob("*")):
        raise AnalyzeError(f"{logs} holds no files")
    if investigation_id is None:
        inv = default_investigation_id(logs)
    else:
        try:
            inv = check_investigation_id(investigation_id)
        except ContractError as exc:
            raise AnalyzeError(f"--investigation: {exc}") from None
    out = Path(out)
    sources, skipped_files = discover_logs(logs)
    if not sources:
        reasons = "; ".join(f"{s['path']}: {s['reason']}" for s in skipped_files[:5])
        raise AnalyzeError(f"no Zeek or Suricata logs found in {logs}" + (f" ({reasons})" if reasons else ""))

    out.mkdir(parents=True, exist_ok=True)
    curated_root = out / CURATED_PREFIX
    if curated_root.is_dir():  # a re-run replaces this investigation's curated data
        for partition in curated_root.glob(f"*/{INVESTIGATION_PARTITION}={inv}"):
            shutil.rmtree(partition)

    started = time.monotonic()
    try:
        curation = curate(sources, out, inv)
    except LogParseError as exc:
        raise AnalyzeError(f"cannot read a log: {exc}", EXIT_FAILED) from None
    curate_seconds = time.monotonic() - started

    con = duckdb_connection()
    create_parquet_views(con, DATABASE, out)
    started = time.monotonic()
    results, errors = run_pack(con, inv)
    query_seconds = time.monotonic() - started
    con.close()

    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    context = {
        "source": "tapcase analyze",
        "logs": str(logs),
        "curated_rows": curation.rows,
        "log_files": len(curation.sources),
        "ignored_files": len(skipped_files),
    }
    report = build_report(
        results,
        investigation_id=inv,
        context=context,
        skipped=skipped_queries(),
        errors=errors,
    )
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    return {
        "investigation_id": inv,
        "results": results,
        "report": report,
        "curation": curation.to_dict() | {"seconds": round(curate_seconds, 3)},
        "ignored_files": skipped_files,
        "errors": errors,
        "query_seconds": round(query_seconds, 3),
        "out": str(out),
    }


def _print_summary(outcome: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    report = outcome["report"]
    curation = outcome["curation"]
    console.print(f"[bold]tapcase analyze[/bold]: investigation [cyan]{outcome['investigation_id']}[/cyan]")
    rows = ", ".join(f"{t} {n:,}" for t, n in curation["rows"].items())
    console.print(
        f"curated {len(curation['sources'])} log file(s) in {curation['seconds']:.1f} s: {rows}", highlight=False
    )
    if outcome["ignored_files"]:
        console.print(f"ignored {len(outcome['ignored_files'])} other file(s)", style="dim")
    if report["highlights"]:
        console.print("\n[bold]Highlights[/bold]")
        for item in report["highlights"]:
            console.print(f"  • {item['text']}", highlight=False)
    table = Table(title="Query pack", show_lines=False)
    table.add_column("query")
    table.add_column("title")
    table.add_column("rows", justify="right")
    for section in report["sections"]:
        table.add_row(section["name"], section["title"], str(section["row_count"]))
    for name in report["skipped"]:
        table.add_row(name, "(needs finding values)", "skipped", style="dim")
    for name, error in outcome["errors"].items():
        table.add_row(name, error[:80], "failed", style="red")
    console.print(table)
    console.print(f"results: {Path(outcome['out']) / 'results.json'}  report: {Path(outcome['out']) / 'report.md'}")


def run(logs: Path, investigation_id: str | None, out: Path, as_json: bool) -> int:
    """Entry point of ``tapcase analyze`` (returns the exit code)."""
    try:
        outcome = analyze(logs, out, investigation_id)
    except AnalyzeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if as_json:
        print(json.dumps(outcome["results"]))
    else:
        _print_summary(outcome)
    return EXIT_FAILED if outcome["errors"] else EXIT_OK
