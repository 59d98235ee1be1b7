"""Raw logs -> curated Parquet (ZSTD), streaming, in bounded memory.

The parsers (:mod:`tapcase_sensor.logs`) turn each log file into dicts; this module maps them onto
the columns of :mod:`tapcase_sensor.lake.schema` and writes one Parquet dataset per table and
partition with :class:`pyarrow.parquet.ParquetWriter`:

* records are buffered per partition and turned into an Arrow record batch every
  ``batch_rows`` rows; batches are written as one row group every ``row_group_rows`` rows; a file
  is closed and the next ``part-NNNNN.parquet`` started every ``file_rows`` rows;
* across all partitions at most ``max_buffered_rows`` parsed records are held at once (the
  largest buffer is converted first), so memory does not grow with the size of the capture;
* a value that does not fit its column type is coerced (``"42"`` -> 42) or dropped to NULL
  rather than failing the conversion; the raw logs stay the evidence.

Entry points: :func:`discover_logs` (what is in a folder), :func:`curate` (convert sources into
``<out_root>/investigations/curated/...``, optionally one process per table with ``workers``)
and :class:`Curator` (feed records yourself). ``CurateResult.keys()`` gives each written file
with its S3 key (relative to the evidence bucket) for the upload.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tapcase_sensor.lake.schema import (
    SURICATA_TABLE,
    Column,
    Table,
    TypeNode,
    check_investigation_id,
    parse_type,
    suricata_partition,
    table_for_zeek_log,
)
from tapcase_sensor.logs import ZeekLog, detect_zeek_log_type, iso_to_epoch, read_eve, sniff_format

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 3

# ---------------------------------------------------------------------------------------------
# Arrow types from the schema
# ---------------------------------------------------------------------------------------------


def arrow_type(node: TypeNode | str) -> pa.DataType:
    if isinstance(node, str):
        node = parse_type(node)
    if node.kind == "string":
        return pa.string()
    if node.kind == "bigint":
        return pa.int64()
    if node.kind == "double":
        return pa.float64()
    if node.kind == "boolean":
        return pa.bool_()
    if node.kind == "array":
        return pa.list_(arrow_type(node.children[0]))
    if node.kind == "map":
        return pa.map_(arrow_type(node.children[0]), arrow_type(node.children[1]))
    return pa.struct([pa.field(n, arrow_type(c)) for n, c in zip(node.fields, node.children)])


def arrow_schema(table: Table) -> pa.Schema:
    """Columns of the Parquet files (partition keys live in the folder names, not the files)."""
    return pa.schema([pa.field(c.name, arrow_type(c.type)) for c in table.columns])


# ---------------------------------------------------------------------------------------------
# Coercion (slow path, only for batches Arrow refuses as they are)
# ---------------------------------------------------------------------------------------------

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_TRUE = {"t", "true", "1", "yes"}
_FALSE = {"f", "false", "0", "no"}


def _to_string(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    return str(value)


def _to_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            return None
        result = int(value)
    elif isinstance(value, str):
        try:
            result = int(value.strip())
        except ValueError:
            try:
                return _to_int(float(value))
            except ValueError:
                return None
    else:
        return None
    return result if _INT64_MIN <= result <= _INT64_MAX else None


def _to_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            try:
                return iso_to_epoch(value)
            except ValueError:
                return None
    return None


def _to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    return None


def coerce(value: Any, node: TypeNode) -> Any:
    """``value`` made to fit ``node`` (or ``None`` when it cannot)."""
    if value is None:
        return None
    kind = node.kind
    if kind == "string":
        return _to_string(value)
    if kind == "bigint":
        return _to_int(value)
    if kind == "double":
        return _to_float(value)
    if kind == "boolean":
        return _to_bool(value)
    if kind == "array":
        if not isinstance(value, (list, tuple)):
            return None
        return [coerce(v, node.children[0]) for v in value]
    if kind == "map":
        if not isinstance(value, dict):
            return None
        return [(_to_string(k), coerce(v, node.children[1])) for k, v in value.items()]
    if not isinstance(value, dict):
        return None
    return {name: coerce(value.get(name), child) for name, child in zip(node.fields, node.children)}


def _to_arrow(values: list[Any], column: Column, node: TypeNode, typ: pa.DataType) -> pa.Array:
    if node.kind == "map":  # Arrow wants maps as lists of pairs
        return pa.array([coerce(v, node) for v in values], type=typ)
    try:
        return pa.array(values, type=typ)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
        return pa.array([coerce(v, node) for v in values], type=typ)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _dumps_extra(record: dict[str, Any], keys: Iterable[str]) -> str:
    return json.dumps({k: record[k] for k in sorted(keys)}, separators=(",", ":"), default=str)


class _PartitionWriter:
    """Buffers records of one table partition; writes row groups and rolls files."""

    def __init__(self, table: Table, directory: Path, *, row_group_rows: int, file_rows: int) -> None:
        self.table = table
        self.directory = directory
        self.row_group_rows = row_group_rows
        self.file_rows = file_rows
        self.schema = arrow_schema(table)
        self._plan = [
            (c, parse_type(c.type), self.schema.field(c.name).type) for c in table.columns if c.source != "*"
        ]
        self._known = frozenset(c.source for c in table.columns if c.source != "*") | _IGNORED_KEYS
        # The same columns named as in the records, for Arrow's own (C++) dict conversion.
        self._source_schema = pa.schema([pa.field(c.source, typ) for c, _, typ in self._plan])
        self._has_extra = any(c.source == "*" for c in table.columns)
        self.records: list[dict[str, Any]] = []
        self._batches: list[pa.RecordBatch] = []
        self._batched_rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._file_index = 0
        self._file_rows_written = 0
        self.rows = 0
        self.files: list[Path] = []

    def convert(self) -> None:
        """Turn the buffered records into an Arrow batch (frees the dicts)."""
        if not self.records:
            return
        records, self.records = self.records, []
        try:
            arrays = pa.RecordBatch.from_pylist(records, schema=self._source_schema).columns
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
            # Some value does not fit its column: convert column by column, coercing.
            arrays = [
                _to_arrow([r.get(column.source) for r in records], column, node, typ)
                for column, node, typ in self._plan
            ]
        arrays = list(arrays)
        if self._has_extra:
            known = self._known
            extra = []
            for r in records:
                unknown = r.keys() - known
                extra.append(_dumps_extra(r, unknown) if unknown else None)
            arrays.append(pa.array(extra, type=pa.string()))
        batch = pa.RecordBatch.from_arrays(arrays, schema=self.schema)
        self._batches.append(batch)
        self._batched_rows += batch.num_rows
        self.rows += batch.num_rows
        if self._batched_rows >= self.row_group_rows:
            self.write_row_group()

    def write_row_group(self) -> None:
        if not self._batches:
            return
        table = pa.Table.from_batches(self._batches, schema=self.schema)
        self._batches, self._batched_rows = [], 0
        offset = 0
        while offset < table.num_rows:
            if self._writer is None:
                self._open()
            room = self.file_rows - self._file_rows_written
            chunk = table.slice(offset, room)
            assert self._writer is not None
            self._writer.write_table(chunk, row_group_size=max(chunk.num_rows, 1))
            offset += chunk.num_rows
            self._file_rows_written += chunk.num_rows
            if self._file_rows_written >= self.file_rows:
                self._close_file()

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"part-{self._file_index:05d}.parquet"
        self._file_index += 1
        self._writer = pq.ParquetWriter(
            path,
            self.schema,
            compression=COMPRESSION,
            compression_level=COMPRESSION_LEVEL,
            use_dictionary=True,
            write_statistics=True,
        )
        self._file_rows_written = 0
        self.files.append(path)

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> None:
        self.convert()
        self.write_row_group()
        self._close_file()


# Keys a parser may leave in a record that are not data (partition values, bookkeeping).
_IGNORED_KEYS = frozenset({"event_type", "_path", "_write_ts"})


@dataclass
class CurateResult:
    """What a curation wrote: rows per table, the files, and what was skipped and why."""

    investigation_id: str
    root: Path
    rows: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    bytes_in: int = 0

    def keys(self) -> list[tuple[Path, str]]:
        """(local file, S3 key relative to the evidence bucket) for every file written."""
        return [(p, p.relative_to(self.root).as_posix()) for p in self.files]

    def to_dict(self) -> dict[str, Any]:
        return {
            "investigation_id": self.investigation_id,
            "rows": dict(sorted(self.rows.items())),
            "files": [k for _, k in self.keys()],
            "sources": self.sources,
            "skipped": self.skipped,
            "bytes_in": self.bytes_in,
        }


class Curator:
    """Collects records per table/partition and writes Parquet under ``root``.

    >>> with Curator(out, "inv-1") as cur:
    ...     cur.add_zeek("conn", record)
    ...     cur.add_eve(event_dict)
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        investigation_id: str,
        *,
        batch_rows: int = 8192,
        row_group_rows: int = 131072,
        file_rows: int = 4_000_000,
        max_buffered_rows: int = 65536,
    ) -> None:
        self.root = Path(root)
        self.investigation_id = check_investigation_id(investigation_id)
        self.batch_rows = batch_rows
        self.row_group_rows = row_group_rows
        self.file_rows = file_rows
        self.max_buffered_rows = max_buffered_rows
        self._writers: dict[tuple[str, str | None], _PartitionWriter] = {}
        self._buffered = 0
        self._closed = False

    def __enter__(self) -> Curator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _writer(self, table: Table, event_type: str | None) -> _PartitionWriter:
        key = (table.name, event_type)
        writer = self._writers.get(key)
        if writer is None:
            directory = self.root / table.relative_dir(self.investigation_id, event_type)
            if directory.exists():  # a re-run replaces the partition, never appends to it
                shutil.rmtree(directory)
            writer = _PartitionWriter(
                table, directory, row_group_rows=self.row_group_rows, file_rows=self.file_rows
            )
            self._writers[key] = writer
        return writer

    def _add(self, writer: _PartitionWriter, record: dict[str, Any]) -> None:
        writer.records.append(record)
        self._buffered += 1
        if len(writer.records) >= self.batch_rows:
            self._buffered -= len(writer.records)
            writer.convert()
        elif self._buffered >= self.max_buffered_rows:
            largest = max(self._writers.values(), key=lambda w: len(w.records))
            self._buffered -= len(largest.records)
            largest.convert()

    def add(self, table: Table, record: dict[str, Any], event_type: str | None = None) -> None:
        if self._closed:
            raise RuntimeError("curator is closed")
        self._add(self._writer(table, event_type), record)

    def add_zeek(self, log_type: str, record: dict[str, Any]) -> bool:
        """Add a Zeek record; ``False`` when the lake has no table for ``log_type``."""
        table = table_for_zeek_log(log_type)
        if table is None:
            return False
        self.add(table, record)
        return True

    def add_eve(self, record: dict[str, Any]) -> None:
        """Add a (normalised) EVE record: needs ``event_type`` and the epoch ``ts``."""
        self.add(SURICATA_TABLE, record, suricata_partition(record.get("event_type")))

    def close(self) -> dict[str, int]:
        if not self._closed:
            for writer in self._writers.values():
                writer.close()
            self._closed = True
            self._buffered = 0
        return self.rows

    @property
    def rows(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (name, _), writer in sorted(self._writers.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            out[name] = out.get(name, 0) + writer.rows + len(writer.records)
        return out

    @property
    def files(self) -> list[Path]:
        return sorted(p for w in self._writers.values() for p in w.files)


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogSource:
    """A log file and what it holds: ``kind`` ``zeek`` (with its ``log_type``) or ``suricata``."""

    path: Path
    kind: str
    log_type: str

    def records(self) -> Iterator[dict[str, Any]]:
        if self.kind == "suricata":
            for event in read_eve(self.path):
                yield event.data
        else:
            yield from ZeekLog(self.path)


_SKIP_NAMES = {"manifest.json"}


def discover_logs(directory: str | os.PathLike[str]) -> tuple[list[LogSource], list[dict[str, str]]]:
    """Zeek logs (any of the three shapes) and Suricata EVE files under ``directory``.

    Returns (sources, skipped): every other file is listed in ``skipped`` with the reason.
    Files are recognised by content (gzip too), not by name; the Zeek log type comes from
    ``_path`` / ``#path`` when present, else from the file name.
    """
    root = Path(directory)
    sources: list[LogSource] = []
    skipped: list[dict[str, str]] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if path.name in _SKIP_NAMES or path.suffix == ".parquet" or any(
            part.startswith(".") for part in path.relative_to(root).parts
        ):
            skipped.append({"path": rel, "reason": "not a log"})
            continue
        try:
            fmt = sniff_format(path)
        except (OSError, UnicodeDecodeError, EOFError) as exc:
            skipped.append({"path": rel, "reason": f"unreadable: {exc}"})
            continue
        if fmt == "eve":
            sources.append(LogSource(path, "suricata", "eve"))
        elif fmt in ("zeek-tsv", "zeek-json"):
            log_type = detect_zeek_log_type(path)
            if table_for_zeek_log(log_type) is None:
                skipped.append({"path": rel, "reason": f"Zeek {log_type}.log has no curated table"})
            else:
                sources.append(LogSource(path, "zeek", log_type))
        else:
            skipped.append({"path": rel, "reason": f"not a Zeek or Suricata log ({fmt})"})
    return sources, skipped


def _curate_group(
    sources: list[LogSource], out_root: str, investigation_id: str, options: dict[str, int]
) -> CurateResult:
    """Curate sources that all feed one table (runs in a worker process when parallel)."""
    root = Path(out_root)
    result = CurateResult(investigation_id=investigation_id, root=root)
    with Curator(root, investigation_id, **options) as curator:
        for source in sources:
            count = 0
            if source.kind == "suricata":
                for record in source.records():
                    curator.add_eve(record)
                    count += 1
            else:
                table = table_for_zeek_log(source.log_type)
                if table is None:
                    result.skipped.append({"path": str(source.path), "reason": "no curated table"})
                    continue
                for record in source.records():
                    curator.add(table, record)
                    count += 1
            size = source.path.stat().st_size
            result.bytes_in += size
            result.sources.append(
                {"path": str(source.path), "kind": source.kind, "log_type": source.log_type, "records": count, "bytes": size}
            )
    result.rows = curator.rows
    result.files = curator.files
    return result


def curate(
    sources: Iterable[LogSource],
    out_root: str | os.PathLike[str],
    investigation_id: str,
    *,
    workers: int = 1,
    **options: int,
) -> CurateResult:
    """Convert ``sources`` into ``<out_root>/investigations/curated/<table>/investigation_id=<id>/``.

    Sources are grouped by the table they feed; with ``workers`` > 1 the groups are converted in
    that many processes (each group's memory is bounded as in :class:`Curator`).
    """
    root = Path(out_root)
    check_investigation_id(investigation_id)
    groups: dict[str, list[LogSource]] = {}
    for source in sources:
        key = "suricata_eve" if source.kind == "suricata" else f"zeek_{source.log_type}"
        groups.setdefault(key, []).append(source)
    ordered = [groups[k] for k in sorted(groups, key=lambda k: -sum(s.path.stat().st_size for s in groups[k]))]
    if workers > 1 and len(ordered) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(workers, len(ordered))) as pool:
            parts = list(pool.map(_curate_group, ordered, [str(root)] * len(ordered),
                                  [investigation_id] * len(ordered), [options] * len(ordered)))
    else:
        parts = [_curate_group(group, str(root), investigation_id, options) for group in ordered]
    result = CurateResult(investigation_id=investigation_id, root=root)
    for part in parts:
        for table, rows in part.rows.items():
            result.rows[table] = result.rows.get(table, 0) + rows
        result.files += part.files
        result.sources += part.sources
        result.skipped += part.skipped
        result.bytes_in += part.bytes_in
    result.rows = dict(sorted(result.rows.items()))
    result.files.sort()
    result.sources.sort(key=lambda s: s["path"])
    return result
