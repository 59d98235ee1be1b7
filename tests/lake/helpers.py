"""Shared helpers of the lake tests: curated datasets, DuckDB connections, row comparison."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tapcase.analyze import DATABASE, duckdb_connection, run_pack
from tapcase.lake_views import create_parquet_views, create_raw_json_views
from tapcase_sensor.lake.curate import CurateResult, LogSource, curate, discover_logs


@dataclass
class Lake:
    """Logs curated once: where the Parquet is, which raw files it came from."""

    investigation_id: str
    root: Path
    sources: list[LogSource]
    result: CurateResult
    _cache: dict[tuple[str, tuple[tuple[str, Any], ...]], dict[str, Any]] = field(default_factory=dict)

    def raw_json_files(self) -> dict[str, list[Path]]:
        files: dict[str, list[Path]] = {}
        for source in self.sources:
            if source.kind == "suricata":
                files.setdefault("suricata_eve", []).append(source.path)
            else:
                files.setdefault(f"zeek_{source.log_type}", []).append(source.path)
        return files

    def parquet_con(self) -> Any:
        con = duckdb_connection()
        create_parquet_views(con, DATABASE, self.root)
        return con

    def raw_con(self) -> Any:
        con = duckdb_connection()
        create_raw_json_views(con, DATABASE, self.raw_json_files(), self.investigation_id)
        return con

    def pack(self, engine: str = "parquet", parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        """Results of the whole pack (cached per engine and parameters)."""
        key = (engine, tuple(sorted((k, tuple(v)) for k, v in (parameters or {}).items())))
        if key not in self._cache:
            con = self.parquet_con() if engine == "parquet" else self.raw_con()
            results, errors = run_pack(con, self.investigation_id, parameters=parameters)
            con.close()
            assert not errors, errors
            self._cache[key] = results["queries"]
        return self._cache[key]

    def records(self, name: str, engine: str = "parquet", parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        result = self.pack(engine, parameters)[name]
        return [dict(zip(result["columns"], row, strict=True)) for row in result["rows"]]


def build_lake(logs: Path, out: Path, investigation_id: str, *, kinds: set[str] | None = None,
               log_types: set[str] | None = None, **options: int) -> Lake:
    sources, _ = discover_logs(logs)
    if kinds is not None:
        sources = [s for s in sources if s.kind in kinds]
    if log_types is not None:
        sources = [s for s in sources if s.log_type in log_types]
    result = curate(sources, out, investigation_id, **options)
    return Lake(investigation_id, out, sources, result)


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return a == b


def first_difference(rows_a: list[list[Any]], rows_b: list[list[Any]]) -> str | None:
    if len(rows_a) != len(rows_b):
        return f"{len(rows_a)} rows vs {len(rows_b)} rows"
    for i, (a, b) in enumerate(zip(rows_a, rows_b, strict=True)):
        if not same_value(a, b):
            return f"row {i}: {a!r} != {b!r}"
    return None
