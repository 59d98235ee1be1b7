"""Curated tables as Parquet (ZSTD): Arrow types of the schema, records -> Arrow, partition writers.

Two kinds of input reach a table partition:

* Arrow record batches already in the table's schema (the native path, :mod:`.ndjson_arrow`);
* parsed records (dicts, the Python path: Zeek TSV, rows Arrow could not take as they are, and
  :class:`Curator` users), turned into the same batches by :func:`records_to_batch`, which maps
  record keys onto columns, coerces a value that does not fit its column (``"42"`` -> 42) or drops
  it to NULL rather than failing, and keeps unknown keys as a JSON object in ``extra``.

:class:`Curator` buffers batches per table/partition and writes them with
:class:`pyarrow.parquet.ParquetWriter`: one row group every ``row_group_rows`` rows, a new
``part-NNNNN.parquet`` every ``file_rows`` rows. Memory is bounded whatever the input size: at most
``max_buffered_rows`` parsed records and ``max_buffered_bytes`` of Arrow data are held across all
partitions (past either, the largest buffer is converted / written as a smaller row group).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tapcase_contract.ids import check_investigation_id
from tapcase_sensor.lake.schema import (
    SURICATA_TABLE,
    Table,
    TypeNode,
    parse_type,
    suricata_partition,
    table_for_zeek_log,
)
from tapcase_sensor.logs import iso_to_epoch

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 3

# Keys a parser may leave in a record that are not data (partition values, bookkeeping).
IGNORED_KEYS = frozenset({"event_type", "_path", "_write_ts"})

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
    return pa.struct([pa.field(n, arrow_type(c)) for n, c in zip(node.fields, node.children, strict=True)])


def arrow_schema(table: Table) -> pa.Schema:
    """Columns of the Parquet files (partition keys live in the folder names, not the files)."""
    schema = _SCHEMAS.get(table.name)
    if schema is None or schema.names != list(table.column_names):
        schema = _SCHEMAS[table.name] = pa.schema([pa.field(c.name, arrow_type(c.type)) for c in table.columns])
    return schema


_SCHEMAS: dict[str, pa.Schema] = {}


# Strings nearly unique per row: dictionary encoding gains nothing there and costs a dictionary
# attempt per column chunk (Parquet then falls back to plain pages).
_UNIQUE_STRINGS = frozenset({"timestamp", "start", "end", "community_id", "uid", "fuid", "notbefore", "notafter"})


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """Leaf paths (``tls.ja3.hash``, ``vlan.list.element``) of the string columns worth a dictionary."""
    paths: list[str] = []

    def walk(path: str, name: str, typ: pa.DataType) -> None:
        if pa.types.is_struct(typ):
            for child in typ:
                walk(f"{path}.{child.name}", child.name, child.type)
        elif pa.types.is_list(typ):
            walk(f"{path}.list.element", name, typ.value_type)
        elif pa.types.is_map(typ):
            walk(f"{path}.key_value.key", name, typ.key_type)
            walk(f"{path}.key_value.value", name, typ.item_type)
        elif pa.types.is_string(typ) and name not in _UNIQUE_STRINGS:
            paths.append(path)

    for field in schema:
        walk(field.name, field.name, field.type)
    return paths


def known_keys(table: Table) -> frozenset[str]:
    """Record keys that are columns (or ignored); every other key goes to ``extra``."""
    return frozenset(c.source for c in table.columns if c.source != "*") | IGNORED_KEYS


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
    return {name: coerce(value.get(name), child) for name, child in zip(node.fields, node.children, strict=True)}


def _to_arrow(values: list[Any], node: TypeNode, typ: pa.DataType) -> pa.Array:
    if node.kind == "map":  # Arrow wants maps as lists of pairs
        return pa.array([coerce(v, node) for v in values], type=typ)
    try:
        return pa.array(values, type=typ)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
        return pa.array([coerce(v, node) for v in values], type=typ)


def _dumps_extra(record: dict[str, Any], keys: set[str]) -> str:
    return json.dumps({k: record[k] for k in sorted(keys)}, separators=(",", ":"), default=str)


class _RecordConverter:
    """Parsed records of one table -> Arrow record batches in the table's schema."""

    def __init__(self, table: Table) -> None:
        self.schema = arrow_schema(table)
        self.plan = [(c, parse_type(c.type), self.schema.field(c.name).type) for c in table.columns if c.source != "*"]
        self.known = known_keys(table)
        # The same columns named as in the records, for Arrow's own (C++) dict conversion.
        self.source_schema = pa.schema([pa.field(c.source, typ) for c, _, typ in self.plan])
        self.has_extra = any(c.source == "*" for c in table.columns)

    def convert(self, records: list[dict[str, Any]]) -> pa.RecordBatch:
        try:
            arrays = list(pa.RecordBatch.from_pylist(records, schema=self.source_schema).columns)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
            # Some value does not fit its column: convert column by column, coercing.
            arrays = [_to_arrow([r.get(column.source) for r in records], node, typ) for column, node, typ in self.plan]
        if self.has_extra:
            known = self.known
            extra = []
            for r in records:
                unknown = r.keys() - known
                extra.append(_dumps_extra(r, unknown) if unknown else None)
            arrays.append(pa.array(extra, type=pa.string()))
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)


_CONVERTERS: dict[str, _RecordConverter] = {}


def records_to_batch(table: Table, records: list[dict[str, Any]]) -> pa.RecordBatch:
    """Parsed records -> one batch with the columns of ``table`` (the Python path)."""
    converter = _CONVERTERS.get(table.name)
    if converter is None:
        converter = _CONVERTERS[table.name] = _RecordConverter(table)
    return converter.convert(records)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


class _PartitionWriter:
    """Buffers one table partition (records and batches); writes row groups and rolls files."""

    def __init__(self, table: Table, directory: Path, *, row_group_rows: int, file_rows: int) -> None:
        self.table = table
        self.directory = directory
        self.row_group_rows = row_group_rows
        self.file_rows = file_rows
        self.schema = arrow_schema(table)
        self.records: list[dict[str, Any]] = []
        self._batches: list[pa.RecordBatch] = []
        self._batched_rows = 0
        self.batched_bytes = 0
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
        self.add_batch(records_to_batch(self.table, records))

    def add_batch(self, batch: pa.RecordBatch | pa.Table) -> None:
        if batch.num_rows == 0:
            return
        if isinstance(batch, pa.Table):
            batches = batch.combine_chunks().to_batches()
        else:
            batches = [batch]
        for b in batches:
            self._batches.append(b)
            self._batched_rows += b.num_rows
            self.batched_bytes += b.get_total_buffer_size()
            self.rows += b.num_rows
        if self._batched_rows >= self.row_group_rows:
            self.write_row_group()

    def write_row_group(self) -> None:
        if not self._batches:
            return
        table = pa.Table.from_batches(self._batches, schema=self.schema)
        self._batches, self._batched_rows, self.batched_bytes = [], 0, 0
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
            use_dictionary=dictionary_columns(self.schema),
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


class Curator:
    """Collects records or batches per table/partition and writes Parquet under ``root``.

    >>> with Curator(out, "inv-1") as cur:
    ...     cur.add_zeek("conn", record)
    ...     cur.add_eve(event_dict)
    ...     cur.add_batch(table, batch, event_type)
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
        max_buffered_bytes: int = 32 << 20,
    ) -> None:
        self.root = Path(root)
        self.investigation_id = check_investigation_id(investigation_id)
        self.batch_rows = batch_rows
        self.row_group_rows = row_group_rows
        self.file_rows = file_rows
        self.max_buffered_rows = max_buffered_rows
        self.max_buffered_bytes = max_buffered_bytes
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
            self._bound_bytes()
        elif self._buffered >= self.max_buffered_rows:
            largest = max(self._writers.values(), key=lambda w: len(w.records))
            self._buffered -= len(largest.records)
            largest.convert()
            self._bound_bytes()

    def _bound_bytes(self) -> None:
        """Past ``max_buffered_bytes`` of Arrow data, write the largest buffer as a row group."""
        while sum(w.batched_bytes for w in self._writers.values()) > self.max_buffered_bytes:
            largest = max(self._writers.values(), key=lambda w: w.batched_bytes)
            if not largest.batched_bytes:
                break
            largest.write_row_group()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("curator is closed")

    def add(self, table: Table, record: dict[str, Any], event_type: str | None = None) -> None:
        self._check_open()
        self._add(self._writer(table, event_type), record)

    def add_batch(self, table: Table, batch: pa.RecordBatch | pa.Table, event_type: str | None = None) -> None:
        """Add rows already in ``arrow_schema(table)`` (written after the records buffered before)."""
        self._check_open()
        writer = self._writer(table, event_type)
        if writer.records:  # keep the partition's rows in arrival order
            self._buffered -= len(writer.records)
            writer.convert()
        writer.add_batch(batch)
        self._bound_bytes()

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

