"""Athena on the local cloud: queries really run, on an embedded DuckDB, over the local S3.

moto 5.2.5's Athena never executes SQL (it answers canned results) and its Step Functions
interpreter refuses ``arn:aws:states:::athena:startQueryExecution.sync``. This module fixes both.

``StartQueryExecution`` runs the query synchronously (the state is final when the call returns):

- tables are the Glue catalog's (moto's Glue backend): ``StorageDescriptor.Location``, columns,
  ``PartitionKeys``, ``Parameters`` (partition projection) and the SerDe tell what to read; the
  objects come from moto's in-process S3 backend, are copied to a temporary directory and exposed
  to DuckDB as one view per table, partition columns included;
- partitions: with ``projection.enabled`` they are found under ``storage.location.template`` (or
  the Hive layout ``col=value/``); an ``injected`` column must be pinned by the query, as Athena
  demands (``CONSTRAINT_VIOLATION``), and only the pinned partitions are read; without projection
  only the partitions registered in Glue are read, as on Athena;
- the SQL is transpiled by :mod:`tapcase.athena_sql` (Athena's semantics where DuckDB differs);
- the result goes, as Athena's CSV, to ``<OutputLocation>/<QueryExecutionId>.csv`` in the local S3;
- ``GetQueryExecution`` reports SUCCEEDED, FAILED (with ``StateChangeReason`` and ``AthenaError``)
  or CANCELLED (the workgroup's ``BytesScannedCutoffPerQuery`` exceeded), with ``Statistics``
  (``DataScannedInBytes`` = bytes of the objects read);
- ``GetQueryResults`` answers Athena's shape: header row first, ``ColumnInfo`` with Athena's type
  names, ``NextToken`` paging of at most 1000 rows.

Step Functions: an ``athena`` optimized integration (``startQueryExecution[.sync]``,
``getQueryExecution``, ``getQueryResults``, ``stopQueryExecution``) replaces moto's
"unsupported" one.

What cannot be reproduced: Athena's exact bytes-scanned figures (Parquet column pruning), Athena
being stricter than DuckDB on SQL it accepts, IAM. See ``tapcase.athena_sql`` for the SQL gaps.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import duckdb
from sqlglot import exp

from tapcase import athena_sql
from tapcase.localcloud.patches import PINNED_MOTO_VERSION

ENGINE_VERSION: Final[dict[str, str]] = {
    "SelectedEngineVersion": "AUTO",
    "EffectiveEngineVersion": "Athena engine version 3",
}
MAX_RESULTS: Final[int] = 1000

# Athena error catalog (docs.aws.amazon.com/athena/latest/ug/error-reference.html):
# ErrorCategory 1 SYSTEM, 2 USER; ErrorType 1000 "User error", 100 "Internal service error".
USER_ERROR_CATEGORY: Final[int] = 2
SYSTEM_ERROR_CATEGORY: Final[int] = 1
USER_ERROR_TYPE: Final[int] = 1000
INTERNAL_ERROR_TYPE: Final[int] = 100

#: Athena's reason for a query stopped by the workgroup's per-query cutoff. Observed on Athena
#: engine version 3 (reports of real runs): the query ends CANCELLED, not FAILED.
BYTES_SCANNED_LIMIT_REASON: Final[str] = "Bytes scanned limit was exceeded"

_applied = False
_apply_lock = threading.Lock()


# =================================================================================================
# Errors
# =================================================================================================


class QueryFailure(Exception):
    """Ends a query execution the way Athena would (FAILED, or CANCELLED for the scan cutoff)."""

    def __init__(
        self,
        reason: str,
        *,
        state: str = "FAILED",
        category: int = USER_ERROR_CATEGORY,
        error_type: int = USER_ERROR_TYPE,
        data_scanned: int = 0,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.state = state
        self.category = category
        self.error_type = error_type
        self.data_scanned = data_scanned


def _position(sql: str, node: exp.Expr | None) -> str:
    """``line L:C`` of a parsed node, as Trino prefixes its messages."""
    if isinstance(node, exp.Table):
        identifier = node.args.get("catalog") or node.args.get("db") or node.this
    elif isinstance(node, exp.Column):
        identifier = node.args.get("table") or node.this
    else:
        identifier = node
    meta = getattr(identifier, "meta", None) or {}
    start = meta.get("start")
    if start is None:
        return "line 1:1"
    line = sql.count("\n", 0, start) + 1
    column = start - (sql.rfind("\n", 0, start) + 1) + 1
    return f"line {line}:{column}"


# =================================================================================================
# The Glue catalog and the S3 objects
# =================================================================================================


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` → ``(bucket, prefix)``."""
    if not url.lower().startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    rest = url[5:]
    bucket, _, key = rest.partition("/")
    return bucket, key


class S3Store:
    """The local S3 (moto's in-process backend), read and written directly."""

    def __init__(self, account_id: str, region: str) -> None:
        from moto.s3.models import s3_backends
        from moto.utilities.utils import get_partition

        self._backend = s3_backends[account_id][get_partition(region)]

    def _bucket(self, name: str) -> Any | None:
        from moto.s3.exceptions import MissingBucket

        try:
            return self._backend.get_bucket(name)
        except MissingBucket:
            return None

    def list(self, url: str) -> list[S3Object]:
        """Objects under an ``s3://bucket/prefix``, in key order (none if the bucket is missing)."""
        from moto.s3.models import FakeKey

        bucket_name, prefix = split_s3_url(url)
        bucket = self._bucket(bucket_name)
        if bucket is None:
            return []
        found = [
            S3Object(bucket_name, name, int(key.size))
            for name, key in list(bucket.keys.items())
            if name.startswith(prefix) and isinstance(key, FakeKey)
        ]
        return sorted(found, key=lambda o: o.key)

    def read(self, obj: S3Object) -> bytes:
        key = self._backend.get_object(obj.bucket, obj.key)
        if key is None:
            raise QueryFailure(f"HIVE_CANNOT_OPEN_SPLIT: s3://{obj.bucket}/{obj.key} disappeared")
        return bytes(key.value)

    def write(self, url: str, data: bytes) -> None:
        bucket_name, key = split_s3_url(url)
        if self._bucket(bucket_name) is None:
            # Athena's message when the result bucket does not exist.
            raise QueryFailure(f"Unable to verify/create output bucket {bucket_name}")
        self._backend.put_object(bucket_name, key, data)


@dataclass(frozen=True)
class CatalogTable:
    """What the local engine needs of a Glue table."""

    database: str
    name: str
    columns: tuple[tuple[str, str], ...]
    partition_keys: tuple[tuple[str, str], ...]
    location: str
    parameters: Mapping[str, str]
    serde_library: str
    serde_parameters: Mapping[str, str]
    input_format: str
    registered_partitions: tuple[tuple[tuple[str, ...], str], ...]

    @classmethod
    def from_glue(cls, table: Any) -> CatalogTable:
        description = table.as_dict()
        storage = description.get("StorageDescriptor") or {}
        serde = storage.get("SerdeInfo") or {}
        partitions = []
        for partition in table.partitions.values():
            values = tuple(str(v) for v in partition.partition_input.get("Values", []))
            location = (partition.partition_input.get("StorageDescriptor") or {}).get("Location", "")
            partitions.append((values, location))
        return cls(
            database=str(description.get("DatabaseName", "")).lower(),
            name=str(description.get("Name", "")).lower(),
            columns=tuple((c["Name"].lower(), c.get("Type", "string")) for c in storage.get("Columns") or []),
            partition_keys=tuple(
                (c["Name"].lower(), c.get("Type", "string")) for c in description.get("PartitionKeys") or []
            ),
            location=storage.get("Location") or "",
            parameters={str(k): str(v) for k, v in (description.get("Parameters") or {}).items()},
            serde_library=serde.get("SerializationLibrary") or "",
            serde_parameters={str(k): str(v) for k, v in (serde.get("Parameters") or {}).items()},
            input_format=storage.get("InputFormat") or "",
            registered_partitions=tuple(partitions),
        )

    @property
    def qualified_name(self) -> str:
        return f"awsdatacatalog.{self.database}.{self.name}"

    @property
    def all_columns(self) -> tuple[tuple[str, str], ...]:
        """Data columns, then partition columns: the order Athena gives ``SELECT *``."""
        return self.columns + self.partition_keys

    @property
    def projection_enabled(self) -> bool:
        return self.parameters.get("projection.enabled", "").strip().lower() == "true"

    def projection(self, column: str, setting: str) -> str | None:
        return self.parameters.get(f"projection.{column}.{setting}")

    @property
    def injected_columns(self) -> list[str]:
        return athena_sql.injected_projection_columns(self.parameters, [k for k, _ in self.partition_keys])

    @property
    def storage_format(self) -> str:
        library = self.serde_library.lower()
        input_format = self.input_format.lower()
        classification = self.parameters.get("classification", "").lower()
        if "parquet" in library or "parquet" in input_format or classification == "parquet":
            return "parquet"
        if "json" in library or classification == "json":
            return "json"
        if "opencsvserde" in library:
            return "opencsv"
        if "lazysimpleserde" in library or classification in ("csv", "tsv"):
            return "text"
        if "orc" in library or "orc" in input_format:
            return "orc"
        return library or input_format or "unknown"


class GlueCatalog:
    """The Glue Data Catalog of the local cloud (moto's Glue backend), read directly."""

    def __init__(self, account_id: str, region: str) -> None:
        from moto.glue.models import glue_backends

        self._backend = glue_backends[account_id][region]

    def has_database(self, database: str) -> bool:
        return self._find(self._backend.databases, database) is not None

    def table(self, database: str, name: str) -> CatalogTable | None:
        db = self._find(self._backend.databases, database)
        if db is None:
            return None
        table = self._find(db.tables, name)
        return CatalogTable.from_glue(table) if table is not None else None

    @staticmethod
    def _find(items: Mapping[str, Any], name: str) -> Any | None:
        if name in items:
            return items[name]
        lowered = name.lower()
        return next((value for key, value in items.items() if key.lower() == lowered), None)


# =================================================================================================
# Partitions
# =================================================================================================


@dataclass
class TablePartition:
    """One partition (or the whole of an unpartitioned table) and the objects it holds."""

    values: dict[str, str]
    objects: list[S3Object]


def _is_hidden(key: str) -> bool:
    """Athena skips files whose name starts with ``_`` or ``.``, and folder markers."""
    name = key.rsplit("/", 1)[-1]
    return not name or name.startswith(("_", "."))


def _readable(objects: Iterable[S3Object]) -> list[S3Object]:
    return [o for o in objects if not _is_hidden(o.key) and o.size > 0]


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _template(table: CatalogTable) -> str:
    template = table.parameters.get("storage.location.template")
    if template:
        return _with_slash(template)
    hive = "".join(f"{name}=${{{name}}}/" for name, _ in table.partition_keys)
    return _with_slash(table.location) + hive


_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


def _accepts(table: CatalogTable, column: str, value: str, pinned: Mapping[str, set[str]]) -> bool:
    """Would Athena's projection of ``column`` include ``value``?"""
    kind = (table.projection(column, "type") or "").strip().lower()
    if kind == "injected":
        return value in pinned.get(column, set())
    if kind == "enum":
        return value in (table.projection(column, "values") or "").split(",")
    if kind == "integer":
        bounds = (table.projection(column, "range") or "").split(",")
        try:
            low, high = int(bounds[0]), int(bounds[1])
            return low <= int(value) <= high
        except (ValueError, IndexError):
            return False
    return True  # date ranges and anything else: whatever the layout holds


def table_partitions(table: CatalogTable, store: S3Store, pinned: Mapping[str, set[str]]) -> list[TablePartition]:
    """The partitions a query on ``table`` reads, as Athena would choose them."""
    if not table.partition_keys:
        return [TablePartition({}, _readable(store.list(_with_slash(table.location))))]

    if not table.projection_enabled:
        # Without projection Athena reads the partitions registered in the catalog, nothing else.
        partitions = []
        for values, location in table.registered_partitions:
            named = {name: value for (name, _), value in zip(table.partition_keys, values)}
            partitions.append(TablePartition(named, _readable(store.list(_with_slash(location)))))
        return partitions

    template = _template(table)
    first = _PLACEHOLDER.search(template)
    fixed_prefix = template[: first.start()] if first else template
    pattern_parts: list[str] = []
    position = 0
    names: list[str] = []
    for match in _PLACEHOLDER.finditer(template):
        pattern_parts.append(re.escape(template[position : match.start()]))
        name = match.group(1).lower()
        if name in names:
            pattern_parts.append(f"(?P=p{names.index(name)})")
        else:
            pattern_parts.append(f"(?P<p{len(names)}>[^/]+)")
            names.append(name)
        position = match.end()
    pattern_parts.append(re.escape(template[position:]))
    pattern = re.compile("^" + "".join(pattern_parts) + ".+$")

    uses_hive_layout = "storage.location.template" not in table.parameters
    grouped: dict[tuple[str, ...], TablePartition] = {}
    for obj in _readable(store.list(fixed_prefix)):
        match = pattern.match(f"s3://{obj.bucket}/{obj.key}")
        if match is None:
            continue
        raw = [match.group(f"p{i}") for i in range(len(names))]
        values = [urllib.parse.unquote(v) if uses_hive_layout else v for v in raw]
        named = dict(zip(names, values))
        if not all(_accepts(table, column, value, pinned) for column, value in named.items()):
            continue
        key = tuple(values)
        grouped.setdefault(key, TablePartition(named, [])).objects.append(obj)
    return list(grouped.values())


# =================================================================================================
# The engine: Glue tables as DuckDB views, the query transpiled and run
# =================================================================================================


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def duckdb_type(glue_type: str) -> str:
    """DuckDB type for a Glue (Hive) column type."""
    lowered = glue_type.strip().lower()
    if lowered == "string" or lowered.startswith(("varchar", "char")):
        return "VARCHAR"
    return exp.DataType.build(glue_type, dialect="hive").sql("duckdb")


@dataclass(frozen=True)
class ColumnMeta:
    name: str
    type: str
    precision: int
    scale: int
    case_sensitive: bool

    def column_info(self) -> dict[str, Any]:
        return {
            "CatalogName": "hive",
            "SchemaName": "",
            "TableName": "",
            "Name": self.name,
            "Label": self.name,
            "Type": self.type,
            "Precision": self.precision,
            "Scale": self.scale,
            "Nullable": "UNKNOWN",
            "CaseSensitive": self.case_sensitive,
        }


@dataclass
class QueryResult:
    columns: list[ColumnMeta]
    rows: list[list[str | None]]
    data_scanned: int
    planning_ms: int
    engine_ms: int


class _Materializer:
    """Copies S3 objects to a temporary directory DuckDB reads from."""

    def __init__(self, store: S3Store, directory: Path) -> None:
        self._store = store
        self._directory = directory
        self._count = 0

    def path(self, obj: S3Object) -> str:
        self._count += 1
        name = obj.key.rsplit("/", 1)[-1]
        target = self._directory / f"{self._count:06d}_{name}"
        target.write_bytes(self._store.read(obj))
        return str(target)


def _files_literal(paths: Sequence[str]) -> str:
    return "[" + ", ".join(_literal(p) for p in paths) + "]"


def _data_select(connection: duckdb.DuckDBPyConnection, table: CatalogTable, paths: Sequence[str]) -> str:
    """SELECT of the table's data columns (Glue names and types) from one partition's files."""
    storage = table.storage_format
    files = _files_literal(paths)
    projections: list[str] = []
    if storage == "parquet":
        source = f"read_parquet({files}, union_by_name = true, hive_partitioning = false)"
        physical = {
            row[0].lower(): row[0] for row in connection.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        }
        for name, glue_type in table.columns:
            if name in physical:
                # DuckDB casts structs by field name (missing fields NULL), like Hive's Parquet reader.
                projections.append(f"CAST({_quote(physical[name])} AS {duckdb_type(glue_type)}) AS {_quote(name)}")
            else:
                projections.append(f"CAST(NULL AS {duckdb_type(glue_type)}) AS {_quote(name)}")
        return f"SELECT {', '.join(projections)} FROM {source}"

    if storage == "json":
        keys = {name: table.serde_parameters.get(f"mapping.{name}", name) for name, _ in table.columns}
        columns = ", ".join(f"{_literal(keys[name])}: {_literal(duckdb_type(t))}" for name, t in table.columns)
        ignore = table.serde_parameters.get("ignore.malformed.json", "").lower() == "true"
        source = (
            f"read_json({files}, format = 'newline_delimited', columns = {{{columns}}}, "
            f"ignore_errors = {'true' if ignore else 'false'})"
        )
        projections = [f"{_quote(keys[name])} AS {_quote(name)}" for name, _ in table.columns]
        return f"SELECT {', '.join(projections)} FROM {source}"

    if storage in ("text", "opencsv"):
        skip = int(table.parameters.get("skip.header.line.count", "0") or 0)
        if storage == "text":
            delimiter = table.serde_parameters.get("field.delim") or table.serde_parameters.get(
                "serialization.format", "\x01"
            )
            if delimiter.isdigit():  # serialization.format is sometimes a character code
                delimiter = chr(int(delimiter))
            null = table.serde_parameters.get("serialization.null.format", "\\N")
            options = f"delim = {_literal(delimiter)}, quote = '', escape = '', nullstr = {_literal(null)}"
            column_types = {name: duckdb_type(t) for name, t in table.columns}
        else:
            delimiter = table.serde_parameters.get("separatorChar", ",")
            quote = table.serde_parameters.get("quoteChar", '"')
            escape = table.serde_parameters.get("escapeChar", "\\")
            options = f"delim = {_literal(delimiter)}, quote = {_literal(quote)}, escape = {_literal(escape)}"
            column_types = {name: "VARCHAR" for name, _ in table.columns}  # OpenCSVSerDe reads strings
        columns = ", ".join(f"{_literal(n)}: {_literal(t)}" for n, t in column_types.items())
        source = (
            f"read_csv({files}, header = false, auto_detect = false, skip = {skip}, "
            f"columns = {{{columns}}}, {options})"
        )
        projections = [
            f"CAST({_quote(name)} AS {duckdb_type(glue_type)}) AS {_quote(name)}" for name, glue_type in table.columns
        ]
        return f"SELECT {', '.join(projections)} FROM {source}"

    raise QueryFailure(
        f"LOCAL_ENGINE_UNSUPPORTED: table {table.qualified_name} is stored as {storage!r}; "
        "the local Athena reads Parquet, JSON lines and delimited text",
        category=SYSTEM_ERROR_CATEGORY,
        error_type=INTERNAL_ERROR_TYPE,
    )


def _view_sql(
    connection: duckdb.DuckDBPyConnection,
    table: CatalogTable,
    partitions: Sequence[TablePartition],
    materializer: _Materializer,
) -> str:
    selects: list[str] = []
    for partition in partitions:
        if not partition.objects:
            continue
        paths = [materializer.path(obj) for obj in partition.objects]
        constants = [
            f"CAST({_literal(partition.values[name])} AS {duckdb_type(glue_type)}) AS {_quote(name)}"
            for name, glue_type in table.partition_keys
        ]
        data = _data_select(connection, table, paths)
        columns = [_quote(name) for name, _ in table.columns]
        selects.append(f"SELECT {', '.join(columns + constants)} FROM ({data})")
    if not selects:
        empty = [f"CAST(NULL AS {duckdb_type(t)}) AS {_quote(n)}" for n, t in table.all_columns]
        return f"SELECT {', '.join(empty)} WHERE false"
    return "\nUNION ALL\n".join(selects)


def _static_values(connection: duckdb.DuckDBPyConnection, values: Iterable[exp.Expr]) -> set[str]:
    result: set[str] = set()
    for value in values:
        if isinstance(value, exp.Literal):
            result.add(value.name)
            continue
        evaluated = connection.execute(athena_sql.static_value_sql(value)).fetchone()
        if evaluated and evaluated[0] is not None:
            result.add(format_value(evaluated[0]) or "")
    return result


_COLUMN_NOT_FOUND = re.compile(
    r'Referenced column "([^"]+)" not found|Column "([^"]+)" referenced that exists in the SELECT clause',
    re.IGNORECASE,
)
_FUNCTION_NOT_FOUND = re.compile(r"(?:Scalar|Aggregate|Table) Function with name (\w+) does not exist", re.I)


def _engine_failure(sql: str, parsed: exp.Expr, error: duckdb.Error) -> QueryFailure:
    """Athena's (Trino's) wording for what DuckDB refused."""
    message = str(error).split("\n")[0]
    if match := _COLUMN_NOT_FOUND.search(message):
        name = match.group(1) or match.group(2)
        node = next((c for c in parsed.find_all(exp.Column) if c.name.lower() == name.lower()), None)
        return QueryFailure(
            f"COLUMN_NOT_FOUND: {_position(sql, node)}: Column '{name}' cannot be resolved "
            "or requester is not authorized to access requested resources"
        )
    if match := _FUNCTION_NOT_FOUND.search(message):
        name = match.group(1)
        node = next((f for f in parsed.find_all(exp.Anonymous) if f.name.lower() == name.lower()), None)
        return QueryFailure(f"FUNCTION_NOT_FOUND: {_position(sql, node)}: Function '{name}' not registered")
    if isinstance(error, duckdb.ParserException):
        return QueryFailure(f"SYNTAX_ERROR: {message}")
    if isinstance(error, duckdb.BinderException):
        return QueryFailure(f"TYPE_MISMATCH: {message}")
    if isinstance(error, duckdb.ConversionException):
        return QueryFailure(f"INVALID_CAST_ARGUMENT: {message}")
    if isinstance(error, duckdb.InvalidInputException):
        return QueryFailure(f"HIVE_BAD_DATA: {message}")
    return QueryFailure(
        f"GENERIC_INTERNAL_ERROR: {type(error).__name__}: {message}",
        category=SYSTEM_ERROR_CATEGORY,
        error_type=INTERNAL_ERROR_TYPE,
    )


def _resolve_tables(
    sql: str, parsed: exp.Expr, database: str, catalog: GlueCatalog
) -> dict[athena_sql.TableName, CatalogTable]:
    """Every table the query reads, from the Glue catalog (Athena's errors when one is missing)."""
    tables: dict[athena_sql.TableName, CatalogTable] = {}
    for reference in athena_sql.table_references(parsed, database):
        if reference.table in tables:
            continue
        db_name, table_name = reference.table
        position = _position(sql, reference.node)
        if "." in db_name:
            catalog_name = db_name.split(".", 1)[0]
            raise QueryFailure(f"CATALOG_NOT_FOUND: {position}: Catalog '{catalog_name}' does not exist")
        if not catalog.has_database(db_name):
            raise QueryFailure(f"SCHEMA_NOT_FOUND: {position}: Schema '{db_name}' does not exist")
        table = catalog.table(db_name, table_name)
        if table is None:
            raise QueryFailure(
                f"TABLE_NOT_FOUND: {position}: Table 'awsdatacatalog.{db_name}.{table_name}' does not exist"
            )
        tables[reference.table] = table
    return tables


def _plan(
    parsed: exp.Expr, database: str, tables: Mapping[athena_sql.TableName, CatalogTable]
) -> tuple[dict[athena_sql.TableName, dict[str, list[exp.Expr]]], str]:
    """The values the injected partition columns are pinned to, and the DuckDB SQL."""
    injected = {name: table.injected_columns for name, table in tables.items() if table.injected_columns}
    schema: dict[str, dict[str, dict[str, str]]] = {}
    for (db_name, table_name), table in tables.items():
        schema.setdefault(db_name, {})[table_name] = dict(table.all_columns)
    try:
        pinned = athena_sql.partition_predicates(parsed, injected, database)
        return pinned, athena_sql.to_duckdb(parsed, schema, default_database=database)
    except athena_sql.PartitionConstraintViolation as exc:
        raise QueryFailure(str(exc)) from exc
    except athena_sql.UnsupportedAthenaSql as exc:
        raise QueryFailure(
            f"LOCAL_ENGINE_UNSUPPORTED: {exc} (valid on Athena, not reproducible on the local engine)",
            category=SYSTEM_ERROR_CATEGORY,
            error_type=INTERNAL_ERROR_TYPE,
        ) from exc
    except athena_sql.AthenaSqlError as exc:
        raise QueryFailure(f"SYNTAX_ERROR: {exc}") from exc


def run_query(
    sql: str,
    *,
    database: str,
    catalog: GlueCatalog,
    store: S3Store,
    execution_parameters: list[str] | None = None,
    bytes_scanned_cutoff: int | None = None,
) -> QueryResult:
    """Run one Athena query over the local Glue catalog and S3. Raises :class:`QueryFailure`."""
    started = time.monotonic()
    database = (database or "default").lower()
    try:
        parsed = athena_sql.parse(sql)
    except athena_sql.AthenaSyntaxError as exc:
        raise QueryFailure(f"SYNTAX_ERROR: line {exc.line}:{exc.column}: {exc}") from exc
    if not athena_sql.is_query(parsed):
        raise QueryFailure(
            f"LOCAL_ENGINE_UNSUPPORTED: the local Athena runs queries (SELECT, WITH, VALUES); "
            f"got a {parsed.key.upper()} statement. Define tables in Glue (the template) instead.",
            category=SYSTEM_ERROR_CATEGORY,
            error_type=INTERNAL_ERROR_TYPE,
        )
    try:
        parsed = athena_sql.substitute_parameters(parsed, execution_parameters)
    except athena_sql.AthenaSqlError as exc:
        raise QueryFailure(f"INVALID_PARAMETER_USAGE: {exc}") from exc
    tables = _resolve_tables(sql, parsed, database, catalog)
    pinned_expressions, duckdb_sql = _plan(parsed, database, tables)

    connection = duckdb.connect(":memory:")
    scanned = 0
    try:
        with tempfile.TemporaryDirectory(prefix="tapcase-athena-") as directory:
            # Which objects the query reads: that is what Athena bills and the cutoff limits.
            reads: list[tuple[CatalogTable, list[TablePartition]]] = []
            for name, table in tables.items():
                pinned = {
                    column: _static_values(connection, values)
                    for column, values in pinned_expressions.get(name, {}).items()
                }
                partitions = table_partitions(table, store, pinned)
                scanned += sum(o.size for p in partitions for o in p.objects)
                reads.append((table, partitions))
            if bytes_scanned_cutoff is not None and scanned > bytes_scanned_cutoff:
                raise QueryFailure(BYTES_SCANNED_LIMIT_REASON, state="CANCELLED", data_scanned=bytes_scanned_cutoff)

            materializer = _Materializer(store, Path(directory))
            for schema in {database} | {table.database for table, _ in reads}:
                connection.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(schema)}")
            for table, partitions in reads:
                view = _view_sql(connection, table, partitions, materializer)
                connection.execute(f"CREATE VIEW {_quote(table.database)}.{_quote(table.name)} AS {view}")
            connection.execute(f"SET search_path = {_literal(database)}")
            planned = time.monotonic()
            try:
                relation = connection.sql(duckdb_sql)
                names = athena_sql.output_column_names(relation.columns)
                column_types = list(relation.types)
                rows = relation.fetchall()
            except duckdb.Error as exc:
                failure = _engine_failure(sql, parsed, exc)
                failure.data_scanned = scanned
                raise failure from exc
            finished = time.monotonic()
    except duckdb.Error as exc:
        # Reading the objects failed (a file that is not what the table says it is).
        raise QueryFailure(f"HIVE_BAD_DATA: {str(exc).splitlines()[0]}", data_scanned=scanned) from exc
    finally:
        connection.close()

    return QueryResult(
        columns=[athena_column(name, column_type) for name, column_type in zip(names, column_types)],
        rows=[[format_value(v) for v in row] for row in rows],
        data_scanned=scanned,
        planning_ms=int((planned - started) * 1000),
        engine_ms=int((finished - started) * 1000),
    )


# =================================================================================================
# Athena's result formats
# =================================================================================================

# DuckDB type id → (Athena type name, precision). Athena reports varchar with precision
# 2147483647 (seen in real GetQueryResults output); the other precisions are Trino's.
_ATHENA_TYPES: Final[dict[str, tuple[str, int]]] = {
    "varchar": ("varchar", 2147483647),
    "bigint": ("bigint", 19),
    "hugeint": ("bigint", 19),
    "ubigint": ("bigint", 19),
    "uinteger": ("bigint", 19),
    "integer": ("integer", 10),
    "usmallint": ("integer", 10),
    "smallint": ("smallint", 5),
    "utinyint": ("smallint", 5),
    "tinyint": ("tinyint", 3),
    "double": ("double", 17),
    "float": ("float", 17),
    "boolean": ("boolean", 0),
    "date": ("date", 0),
    "time": ("time", 3),
    "timestamp": ("timestamp", 3),
    "timestamp_ms": ("timestamp", 3),
    "timestamp_s": ("timestamp", 3),
    "timestamp_ns": ("timestamp", 3),
    "timestamp with time zone": ("timestamp with time zone", 3),
    "interval": ("interval day to second", 0),
    "blob": ("varbinary", 2147483647),
    "list": ("array", 0),
    "array": ("array", 0),
    "struct": ("row", 0),
    "map": ("map", 0),
    "uuid": ("uuid", 0),
    "json": ("json", 0),
    "null": ("unknown", 0),
}


def athena_column(name: str, duckdb_type_: Any) -> ColumnMeta:
    """Athena's ColumnInfo for a result column of the given DuckDB type."""
    type_id = str(getattr(duckdb_type_, "id", duckdb_type_)).lower()
    if type_id == "decimal":
        match = re.search(r"\((\d+)\s*,\s*(\d+)\)", str(duckdb_type_))
        precision, scale = (int(match.group(1)), int(match.group(2))) if match else (38, 0)
        return ColumnMeta(name, "decimal", precision, scale, False)
    athena_type, precision = _ATHENA_TYPES.get(type_id, (type_id, 0))
    return ColumnMeta(name, athena_type, precision, 0, athena_type in ("varchar", "char", "json"))


def java_double(value: float) -> str:
    """A double as Java's ``Double.toString`` (and so Athena) writes it: 3.5, 1.0E7, 1.0E-4."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    shortest = Decimal(repr(abs(value))).normalize()  # the shortest digits that round-trip
    if 1e-3 <= abs(value) < 1e7:
        text = format(shortest, "f")
        return sign + (text if "." in text else text + ".0")
    _, digits, exponent = shortest.as_tuple()
    scientific = len(digits) + int(exponent) - 1
    head = str(digits[0])
    tail = "".join(str(d) for d in digits[1:]) or "0"
    return f"{sign}{head}.{tail}E{scientific}"


def _format_timestamp(value: dt.datetime) -> str:
    text = value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if value.tzinfo is not None:
        zone = value.tzname() or "UTC"
        text += " " + ("UTC" if zone in ("UTC", "Etc/UTC", "GMT") else zone)
    return text


def format_value(value: Any, nested: bool = False) -> str | None:
    """A value as Athena writes it in GetQueryResults and in the result CSV (None for NULL)."""
    if value is None:
        return "null" if nested else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return _format_timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
        days, rest = divmod(abs(seconds), 86400)
        hours, rest = divmod(rest, 3600)
        minutes, rest = divmod(rest, 60)
        sign = "-" if seconds < 0 else ""
        return f"{sign}{int(days)} {int(hours):02d}:{int(minutes):02d}:{rest:06.3f}"
    if isinstance(value, bytes | bytearray | memoryview):
        return " ".join(f"{b:02x}" for b in bytes(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v, nested=True) or "" for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={format_value(v, nested=True)}" for k, v in value.items()) + "}"
    return str(value)


def to_csv(columns: Sequence[ColumnMeta], rows: Iterable[Sequence[str | None]]) -> bytes:
    """Athena's result file: every field double-quoted, NULL as an empty unquoted field."""

    def quoted(text: str | None) -> str:
        return "" if text is None else '"' + text.replace('"', '""') + '"'

    lines = [",".join(quoted(c.name) for c in columns)]
    lines.extend(",".join(quoted(v) for v in row) for row in rows)
    return ("\n".join(lines) + "\n").encode("utf-8")


# =================================================================================================
# moto's Athena API: StartQueryExecution runs the query
# =================================================================================================

NO_OUTPUT_LOCATION: Final[str] = (
    "No output location provided. An output location is required either through the Workgroup "
    "result configuration setting or as an API input."
)
_DDL_PREFIXES: Final[tuple[str, ...]] = ("ALTER", "CREATE", "DESCRIBE", "DROP", "MSCK", "SHOW")


@dataclass
class LocalExecution:
    """What the local engine recorded for one query execution (kept on moto's Execution)."""

    state: str
    statement_type: str
    output_location: str
    submitted: float
    completed: float
    result: QueryResult | None = None
    reason: str | None = None
    error_category: int | None = None
    error_type: int | None = None
    data_scanned: int = 0
    planning_ms: int = 0
    engine_ms: int = 0


def _error(message: str, athena_error_code: str | None = None) -> tuple[str, dict[str, int]]:
    body: dict[str, Any] = {"__type": "InvalidRequestException", "Message": message}
    if athena_error_code:
        body["AthenaErrorCode"] = athena_error_code
    return json.dumps(body), {"status": 400}


def _local(execution: Any) -> LocalExecution | None:
    return getattr(execution, "tapcase", None)


def _statement_type(query: str) -> str:
    return "DDL" if query.lstrip().upper().startswith(_DDL_PREFIXES) else "DML"


def execute(backend: Any, execution: Any, workgroup: Any) -> LocalExecution:
    """Run a moto ``Execution`` on the local engine and record the outcome on it."""
    submitted = execution.start_time
    context = execution.context or {}
    output_location = (execution.config or {}).get("OutputLocation", "")
    local = LocalExecution(
        state="RUNNING",
        statement_type=_statement_type(execution.query),
        output_location=output_location,
        submitted=submitted,
        completed=submitted,
    )
    cutoff = (workgroup.configuration or {}).get("BytesScannedCutoffPerQuery") if workgroup else None
    store = S3Store(backend.account_id, backend.region_name)
    try:
        catalog_name = str(context.get("Catalog") or athena_sql.DEFAULT_CATALOG)
        if catalog_name.lower() != athena_sql.DEFAULT_CATALOG:
            raise QueryFailure(f"CATALOG_NOT_FOUND: Catalog '{catalog_name}' does not exist")
        result = run_query(
            execution.query,
            database=str(context.get("Database") or "default"),
            catalog=GlueCatalog(backend.account_id, backend.region_name),
            store=store,
            execution_parameters=execution.execution_parameters,
            bytes_scanned_cutoff=int(cutoff) if cutoff else None,
        )
        store.write(output_location, to_csv(result.columns, result.rows))
        local.result = result
        local.state = "SUCCEEDED"
        local.data_scanned = result.data_scanned
        local.planning_ms = result.planning_ms
        local.engine_ms = result.engine_ms
    except QueryFailure as failure:
        local.state = failure.state
        local.reason = failure.reason
        local.error_category = failure.category
        local.error_type = failure.error_type
        local.data_scanned = failure.data_scanned
    except Exception as exc:  # noqa: BLE001 - a defect of the local engine ends the query, visibly
        local.state = "FAILED"
        local.reason = f"GENERIC_INTERNAL_ERROR: local engine: {type(exc).__name__}: {exc}"
        local.error_category = SYSTEM_ERROR_CATEGORY
        local.error_type = INTERNAL_ERROR_TYPE
    local.completed = max(time.time(), submitted)
    execution.end_time = local.completed
    execution.status = local.state
    execution.tapcase = local
    return local


def query_execution_description(execution: Any) -> dict[str, Any]:
    """The ``QueryExecution`` object of GetQueryExecution, as Athena returns it."""
    local = _local(execution)
    state = local.state if local else execution.status
    status: dict[str, Any] = {
        "State": state,
        "SubmissionDateTime": execution.start_time,
    }
    if state not in ("QUEUED", "RUNNING"):
        status["CompletionDateTime"] = local.completed if local else execution.end_time
    if local and local.reason:
        status["StateChangeReason"] = local.reason
        status["AthenaError"] = {
            "ErrorCategory": local.error_category or USER_ERROR_CATEGORY,
            "ErrorType": local.error_type or USER_ERROR_TYPE,
            "Retryable": False,
            "ErrorMessage": local.reason,
        }
    total_ms = int(((local.completed - local.submitted) if local else 0) * 1000)
    engine_ms = local.engine_ms if local else 0
    planning_ms = local.planning_ms if local else 0
    description: dict[str, Any] = {
        "QueryExecutionId": execution.id,
        "Query": execution.query,
        "StatementType": local.statement_type if local else _statement_type(execution.query),
        "ResultConfiguration": dict(execution.config or {}),
        "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
        "QueryExecutionContext": dict(execution.context or {}),
        "Status": status,
        "Statistics": {
            "EngineExecutionTimeInMillis": engine_ms,
            "DataScannedInBytes": local.data_scanned if local else 0,
            "TotalExecutionTimeInMillis": max(total_ms, engine_ms),
            "QueryQueueTimeInMillis": 0,
            "ServicePreProcessingTimeInMillis": 0,
            "QueryPlanningTimeInMillis": planning_ms,
            "ServiceProcessingTimeInMillis": max(total_ms - engine_ms, 0),
            "ResultReuseInformation": {"ReusedPreviousResult": False},
        },
        "WorkGroup": execution.workgroup.name if execution.workgroup else "primary",
        "EngineVersion": dict(ENGINE_VERSION),
    }
    if description["StatementType"] == "DML":
        description["SubstatementType"] = "SELECT"
    if execution.execution_parameters is not None:
        description["ExecutionParameters"] = execution.execution_parameters
    return description


def _result_rows(result: QueryResult) -> list[dict[str, Any]]:
    header = [{"Data": [{"VarCharValue": c.name} for c in result.columns]}]
    data = [{"Data": [{"VarCharValue": v} if v is not None else {} for v in row]} for row in result.rows]
    return header + data


def _encode_token(execution_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"q": execution_id, "o": offset}).encode()).decode()


def _decode_token(token: str, execution_id: str) -> int | None:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(decoded, dict) or decoded.get("q") != execution_id or not isinstance(decoded.get("o"), int):
        return None
    return int(decoded["o"])


def _start_query_execution(self: Any) -> str | tuple[str, dict[str, int]]:
    from moto.athena.models import Execution

    backend = self.athena_backend
    query = self._get_param("QueryString")
    context = self._get_param("QueryExecutionContext") or {}
    requested = dict(self._get_param("ResultConfiguration") or {})
    workgroup_name = self._get_param("WorkGroup") or "primary"
    parameters = self._get_param("ExecutionParameters")
    token = self._get_param("ClientRequestToken")

    if not query:
        return _error("QueryString must not be empty")
    workgroup = backend.work_groups.get(workgroup_name)
    if workgroup is None:
        return _error("WorkGroup does not exist")
    tokens: dict[str, str] = backend.__dict__.setdefault("_tapcase_request_tokens", {})
    if token and token in tokens:
        return json.dumps({"QueryExecutionId": tokens[token]})

    configuration = workgroup.configuration or {}
    enforced = dict(configuration.get("ResultConfiguration") or {})
    if configuration.get("EnforceWorkGroupConfiguration") and enforced.get("OutputLocation"):
        effective = {**requested, **enforced}
    else:
        effective = {**enforced, **requested}
    if not effective.get("OutputLocation"):
        return _error(NO_OUTPUT_LOCATION)
    if not str(effective["OutputLocation"]).lower().startswith("s3://"):
        return _error(f"Invalid OutputLocation: {effective['OutputLocation']}")

    execution = Execution(
        query=query,
        context=context,
        config=effective,
        workgroup=workgroup,
        execution_parameters=parameters,
    )
    backend.executions[execution.id] = execution
    if token:
        tokens[token] = execution.id
    execute(backend, execution, workgroup)
    return json.dumps({"QueryExecutionId": execution.id})


def _get_query_execution(self: Any) -> str | tuple[str, dict[str, int]]:
    execution_id = self._get_param("QueryExecutionId")
    execution = self.athena_backend.executions.get(execution_id)
    if execution is None:
        return _error(f"QueryExecution {execution_id} was not found")
    return json.dumps({"QueryExecution": query_execution_description(execution)})


def _get_query_results(self: Any) -> str | tuple[str, dict[str, int]]:
    execution_id = self._get_param("QueryExecutionId")
    max_results = self._get_param("MaxResults")
    next_token = self._get_param("NextToken")
    execution = self.athena_backend.executions.get(execution_id)
    if execution is None:
        return _error(f"QueryExecution {execution_id} was not found")
    local = _local(execution)
    if local is None:
        return _error(f"QueryExecution {execution_id} was not run by the local engine")
    if local.state in ("QUEUED", "RUNNING"):
        return _error(f"Query has not yet finished. Current state: {local.state}", "INVALID_QUERY_EXECUTION_STATE")
    if local.state != "SUCCEEDED" or local.result is None:
        return _error(
            f"Query did not finish successfully. Final query state: {local.state}", "INVALID_QUERY_EXECUTION_STATE"
        )
    limit = MAX_RESULTS if max_results is None else int(max_results)
    if not 1 <= limit <= MAX_RESULTS:
        return _error(f"MaxResults must be between 1 and {MAX_RESULTS}")
    offset = 0
    if next_token:
        decoded = _decode_token(next_token, execution_id)
        if decoded is None:
            return _error("The NextToken is invalid")
        offset = decoded
    rows = _result_rows(local.result)
    response: dict[str, Any] = {
        "UpdateCount": 0,
        "ResultSet": {
            "Rows": rows[offset : offset + limit],
            "ResultSetMetadata": {"ColumnInfo": [c.column_info() for c in local.result.columns]},
        },
    }
    if offset + limit < len(rows):
        response["NextToken"] = _encode_token(execution_id, offset + limit)
    return json.dumps(response)


def _stop_query_execution(self: Any) -> str | tuple[str, dict[str, int]]:
    execution_id = self._get_param("QueryExecutionId")
    execution = self.athena_backend.executions.get(execution_id)
    if execution is None:
        return _error(f"QueryExecution {execution_id} was not found")
    local = _local(execution)
    # Stopping a query that has already ended changes nothing (queries here end in StartQueryExecution).
    if local is not None and local.state in ("QUEUED", "RUNNING"):
        local.state = "CANCELLED"
        execution.status = "CANCELLED"
    return "{}"


# =================================================================================================
# Step Functions: the optimized Athena integration
# =================================================================================================

# The APIs and parameters of the optimized integration (Step Functions developer guide,
# "Run Athena queries with Step Functions"); only StartQueryExecution supports .sync, and
# .waitForTaskToken is not supported.
_ATHENA_API_PARAMETERS: Final[dict[str, set[str]]] = {
    "startqueryexecution": {
        "ClientRequestToken",
        "ExecutionParameters",
        "QueryExecutionContext",
        "QueryString",
        "ResultConfiguration",
        "ResultReuseConfiguration",
        "WorkGroup",
    },
    "stopqueryexecution": {"QueryExecutionId"},
    "getqueryexecution": {"QueryExecutionId"},
    "getqueryresults": {"MaxResults", "NextToken", "QueryExecutionId"},
}
_SYNC_ACTIONS: Final[set[str]] = {"startqueryexecution"}
_FAILED_QUERY_STATES: Final[set[str]] = {"FAILED", "CANCELLED"}


def to_sfn_json(value: Any) -> Any:
    """A boto3 response as Step Functions passes it on: timestamps become epoch milliseconds.

    A real ``startQueryExecution.sync`` output shows ``"SubmissionDateTime":1643969446810``.
    """
    if isinstance(value, dt.datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, dict):
        return {k: to_sfn_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_sfn_json(v) for v in value]
    return value


def _build_state_task_service_class() -> type:
    """The interpreter's Task implementation for ``arn:aws:states:::athena:*``."""
    from botocore.exceptions import ClientError

    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.utils import boto_client
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    class StateTaskServiceAthena(StateTaskServiceCallback):  # type: ignore[misc]
        """``athena:startQueryExecution[.sync]``, ``getQueryExecution``, ``getQueryResults``,
        ``stopQueryExecution``, modelled on moto's Glue and Batch integrations.

        Error names, as far as they could be established:

        - an API error (e.g. an unknown workgroup) fails the Task with ``Athena.<ErrorCode>``
          (``Athena.InvalidRequestException``), with the AWS SDK for Java's cause text: Step
          Functions' convention for optimized integrations (moto's Glue and Batch integrations do
          the same), and the names state machines written for AWS retry on
          (``Athena.TooManyRequestsException``);
        - a ``.sync`` query that ends FAILED or CANCELLED fails the Task with
          ``States.TaskFailed`` and the GetQueryExecution response (JSON) as the cause. Not
          confirmed: AWS's documentation is silent. Chosen because it is what moto's interpreter
          (ported from LocalStack, whose integration tests are snapshot-recorded against AWS) does
          for the failed ``.sync`` jobs it models (Glue, Batch, nested Step Functions), and what
          independent emulators do for Athena. Not ``Athena.AmazonAthenaException``: that name
          appears in user Retry lists for API errors, not for a query that ran and failed.
          ``States.TaskFailed`` and ``States.ALL`` catch both kinds.
        """

        def __init__(self) -> None:
            super().__init__(supported_integration_patterns={ResourceCondition.Sync})

        def _get_supported_parameters(self) -> set[str] | None:
            return _ATHENA_API_PARAMETERS.get(self.resource.api_action.lower())

        def _validate_service_integration_is_supported(self) -> None:
            super()._validate_service_integration_is_supported()
            condition = self.resource.condition
            action = self.resource.api_action.lower()
            if condition is not None and (condition != ResourceCondition.Sync or action not in _SYNC_ACTIONS):
                raise ValueError(
                    f"The resource provided {self.resource.resource_arn} not recognized. "
                    "The value is not a valid resource ARN, or the resource is not available in this region."
                )

        def _client(self, resource_runtime_part: Any, state_credentials: Any) -> Any:
            # Looked up on the module at call time, so a patched (e.g. caching) factory is used.
            return boto_client.boto_client_for(
                service="athena", region=resource_runtime_part.region, state_credentials=state_credentials
            )

        def _eval_service_task(
            self,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: dict[str, Any],
            state_credentials: Any,
        ) -> None:
            client = self._client(resource_runtime_part, state_credentials)
            response = getattr(client, self._get_boto_service_action())(**normalised_parameters)
            response.pop("ResponseMetadata", None)
            env.stack.append(to_sfn_json(response))

        def _from_error(self, env: Any, ex: Exception) -> Any:
            if isinstance(ex, ClientError):
                code = ex.response["Error"]["Code"]
                error_name = f"Athena.{code}"
                metadata = ex.response.get("ResponseMetadata", {})
                cause = (
                    f"{ex.response['Error'].get('Message', '')} (Service: AmazonAthena; "
                    f"Status Code: {metadata.get('HTTPStatusCode', 400)}; Error Code: {code}; "
                    f"Request ID: {metadata.get('RequestId', '')}; Proxy: null)"
                )
                return FailureEvent(
                    env=env,
                    error_name=CustomErrorName(error_name),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(
                        taskFailedEventDetails=TaskFailedEventDetails(
                            error=error_name,
                            cause=cause,
                            resource=self._get_sfn_resource(),
                            resourceType=self._get_sfn_resource_type(),
                        )
                    ),
                )
            return super()._from_error(env=env, ex=ex)

        def _eval_integration_pattern(
            self,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: dict[str, Any],
            state_credentials: Any,
        ) -> None:
            # moto 5.2.5's StateTaskServiceCallback._eval_integration_pattern calls
            # interrupt_all() on a callback endpoint that is None unless .waitForTaskToken is a
            # supported pattern; Athena supports .sync only, so the wait is driven here.
            sync_resolver = self._build_sync_resolver(
                env=env,
                resource_runtime_part=resource_runtime_part,
                normalised_parameters=normalised_parameters,
                state_credentials=state_credentials,
            )
            outcome = self._eval_sync(
                env=env,
                sync_resolver=sync_resolver,
                timeout_seconds=None,
                callback_endpoint=None,
                heartbeat_endpoint=None,
            )
            env.stack.append(outcome)

        def _build_sync_resolver(
            self,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: dict[str, Any],
            state_credentials: Any,
        ) -> Callable[[], Any]:
            start_output: dict[str, Any] = env.stack.pop()
            execution_id = start_output["QueryExecutionId"]
            client = self._client(resource_runtime_part, state_credentials)

            def resolve() -> dict[str, Any] | None:
                response = client.get_query_execution(QueryExecutionId=execution_id)
                response.pop("ResponseMetadata", None)
                output: dict[str, Any] = to_sfn_json(response)
                state = output["QueryExecution"]["Status"]["State"]
                if state == "SUCCEEDED":
                    return output  # AWS's .sync output: {"QueryExecution": {...}}
                if state in _FAILED_QUERY_STATES:
                    raise FailureEventException(
                        FailureEvent(
                            env=env,
                            error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                            event_type=HistoryEventType.TaskFailed,
                            event_details=EventDetails(
                                taskFailedEventDetails=TaskFailedEventDetails(
                                    resource=self._get_sfn_resource(),
                                    resourceType=self._get_sfn_resource_type(),
                                    error=StatesErrorNameType.StatesTaskFailed.to_name(),
                                    cause=to_json_str(output),
                                )
                            ),
                        )
                    )
                return None  # QUEUED or RUNNING: poll again

            return resolve

    return StateTaskServiceAthena


_state_task_service_class: type | None = None


def state_task_service_class() -> type:
    global _state_task_service_class
    if _state_task_service_class is None:
        _state_task_service_class = _build_state_task_service_class()
    return _state_task_service_class


# =================================================================================================
# Patching moto
# =================================================================================================


def check_moto_internals() -> list[str]:
    """What this module relies on in moto; an empty list when all of it is still there."""
    import inspect

    import moto

    problems: list[str] = []
    if moto.__version__ != PINNED_MOTO_VERSION:
        problems.append(f"moto {moto.__version__} installed, the patch was written for {PINNED_MOTO_VERSION}")
    try:
        from moto.athena.models import AthenaBackend, Execution
        from moto.athena.responses import AthenaResponse
        from moto.glue.models import FakeTable, GlueBackend
        from moto.s3.models import FakeKey, S3Backend, s3_backends  # noqa: F401
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
            state_task_service_callback,
            state_task_service_factory,
        )
        from moto.stepfunctions.parser.asl.utils import boto_client
    except ImportError as exc:
        return problems + [f"import failed: {exc}"]

    for name in ("start_query_execution", "get_query_execution", "get_query_results", "stop_query_execution"):
        if not callable(getattr(AthenaResponse, name, None)):
            problems.append(f"AthenaResponse.{name} is gone")
    if not isinstance(getattr(AthenaResponse, "athena_backend", None), property):
        problems.append("AthenaResponse.athena_backend is no longer a property")
    init = inspect.signature(AthenaBackend.__init__).parameters
    if "region_name" not in init or "account_id" not in init:
        problems.append("AthenaBackend.__init__ signature changed")
    if list(inspect.signature(Execution.__init__).parameters) != [
        "self",
        "query",
        "context",
        "config",
        "workgroup",
        "execution_parameters",
    ]:
        problems.append("athena Execution.__init__ signature changed")
    table_init = inspect.getsource(FakeTable.__init__)
    if not callable(getattr(FakeTable, "as_dict", None)) or "self.partitions" not in table_init:
        problems.append("glue FakeTable changed (as_dict / partitions)")
    if "databases" not in inspect.getsource(GlueBackend.__init__):
        problems.append("GlueBackend no longer keeps .databases")
    for name in ("get_bucket", "get_object", "put_object"):
        if not callable(getattr(S3Backend, name, None)):
            problems.append(f"S3Backend.{name} is gone")
    if "value" not in dir(FakeKey) or "size" not in dir(FakeKey):
        problems.append("s3 FakeKey.value/.size changed")
    if not callable(getattr(state_task_factory, "state_task_service_for", None)):
        problems.append("state_task_factory no longer imports state_task_service_for by name")
    if "athena" not in state_task_service_factory._UNSUPPORTED_SERVICE_NAMES:
        problems.append("moto's Step Functions now handles athena itself: drop tapcase's integration")
    callback = state_task_service_callback.StateTaskServiceCallback
    for name in ("_build_sync_resolver", "_eval_sync", "_eval_integration_pattern", "_from_error"):
        if not callable(getattr(callback, name, None)):
            problems.append(f"StateTaskServiceCallback.{name} is gone")
    if "callback_endpoint.interrupt_all()" not in inspect.getsource(callback._eval_integration_pattern):
        problems.append(
            "StateTaskServiceCallback._eval_integration_pattern changed: re-check the .sync workaround"
        )
    if list(inspect.signature(boto_client.boto_client_for).parameters) != ["region", "service", "state_credentials"]:
        problems.append("boto_client_for signature changed")
    return problems


def apply() -> None:
    """Patch moto's Athena and Step Functions interpreter (idempotent)."""
    global _applied
    with _apply_lock:
        if _applied:
            return
        problems = check_moto_internals()
        if problems:
            raise RuntimeError("tapcase's local Athena cannot patch this moto: " + "; ".join(problems))

        from moto.athena.responses import AthenaResponse
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
            state_task_service_factory,
        )

        AthenaResponse.start_query_execution = _start_query_execution  # type: ignore[method-assign]
        AthenaResponse.get_query_execution = _get_query_execution  # type: ignore[method-assign]
        AthenaResponse.get_query_results = _get_query_results  # type: ignore[method-assign]
        AthenaResponse.stop_query_execution = _stop_query_execution  # type: ignore[method-assign]

        service_class = state_task_service_class()
        # state_task_factory imported the function by name: patch that binding (and the module's,
        # for anyone importing it later). Wrap what is there, so other patches compose.
        previous = state_task_factory.state_task_service_for

        def state_task_service_for(service_name: str) -> Any:
            if service_name == "athena":
                return service_class()
            return previous(service_name)

        state_task_factory.state_task_service_for = state_task_service_for
        state_task_service_factory.state_task_service_for = state_task_service_for
        _applied = True
