"""Glue tables as DuckDB views: each partition's S3 objects read with the table's SerDe.

The objects are copied from the local S3 to a temporary directory (:class:`Materializer`); a view
selects the Glue columns with their Glue types (Parquet by name, JSON lines through the SerDe's
``mapping.*``, delimited text as LazySimpleSerDe or OpenCSVSerDe read it), partition columns as
constants, every partition's SELECT joined with UNION ALL.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import duckdb
from sqlglot import exp

from tapcase.localcloud.athena.catalog import CatalogTable
from tapcase.localcloud.athena.failures import INTERNAL_ERROR_TYPE, SYSTEM_ERROR_CATEGORY, QueryFailure
from tapcase.localcloud.athena.partitions import TablePartition
from tapcase.localcloud.athena.storage import S3Object, S3Store


def identifier(name: str) -> str:
    """A DuckDB quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


@functools.lru_cache(maxsize=4096)
def duckdb_type(glue_type: str) -> str:
    """DuckDB type for a Glue (Hive) column type."""
    lowered = glue_type.strip().lower()
    if lowered == "string" or lowered.startswith(("varchar", "char")):
        return "VARCHAR"
    return exp.DataType.build(glue_type, dialect="hive").sql("duckdb")



class Materializer:
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
    return "[" + ", ".join(literal(p) for p in paths) + "]"


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
                column = identifier(physical[name])
                projections.append(f"CAST({column} AS {duckdb_type(glue_type)}) AS {identifier(name)}")
            else:
                projections.append(f"CAST(NULL AS {duckdb_type(glue_type)}) AS {identifier(name)}")
        return f"SELECT {', '.join(projections)} FROM {source}"

    if storage == "json":
        keys = {name: table.serde_parameters.get(f"mapping.{name}", name) for name, _ in table.columns}
        columns = ", ".join(f"{literal(keys[name])}: {literal(duckdb_type(t))}" for name, t in table.columns)
        ignore = table.serde_parameters.get("ignore.malformed.json", "").lower() == "true"
        source = (
            f"read_json({files}, format = 'newline_delimited', columns = {{{columns}}}, "
            f"ignore_errors = {'true' if ignore else 'false'})"
        )
        projections = [f"{identifier(keys[name])} AS {identifier(name)}" for name, _ in table.columns]
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
            options = f"delim = {literal(delimiter)}, quote = '', escape = '', nullstr = {literal(null)}"
            # LazySimpleSerDe reads text and makes a field that does not parse as its type NULL
            # (a flow log's "-" in a number column), never an error: read strings, TRY_CAST.
            column_types = {name: "VARCHAR" for name, _ in table.columns}
        else:
            delimiter = table.serde_parameters.get("separatorChar", ",")
            quote = table.serde_parameters.get("quoteChar", '"')
            escape = table.serde_parameters.get("escapeChar", "\\")
            options = f"delim = {literal(delimiter)}, quote = {literal(quote)}, escape = {literal(escape)}"
            column_types = {name: "VARCHAR" for name, _ in table.columns}  # OpenCSVSerDe reads strings
        columns = ", ".join(f"{literal(n)}: {literal(t)}" for n, t in column_types.items())
        source = (
            f"read_csv({files}, header = false, auto_detect = false, skip = {skip}, "
            f"columns = {{{columns}}}, {options})"
        )
        cast = "TRY_CAST" if storage == "text" else "CAST"
        projections = [
            f"{cast}({identifier(name)} AS {duckdb_type(glue_type)}) AS {identifier(name)}"
            for name, glue_type in table.columns
        ]
        return f"SELECT {', '.join(projections)} FROM {source}"

    raise QueryFailure(
        f"LOCAL_ENGINE_UNSUPPORTED: table {table.qualified_name} is stored as {storage!r}; "
        "the local Athena reads Parquet, JSON lines and delimited text",
        category=SYSTEM_ERROR_CATEGORY,
        error_type=INTERNAL_ERROR_TYPE,
    )


def view_sql(
    connection: duckdb.DuckDBPyConnection,
    table: CatalogTable,
    partitions: Sequence[TablePartition],
    materializer: Materializer,
) -> str:
    selects: list[str] = []
    for partition in partitions:
        if not partition.objects:
            continue
        paths = [materializer.path(obj) for obj in partition.objects]
        constants = [
            f"CAST({literal(partition.values[name])} AS {duckdb_type(glue_type)}) AS {identifier(name)}"
            for name, glue_type in table.partition_keys
        ]
        data = _data_select(connection, table, paths)
        columns = [identifier(name) for name, _ in table.columns]
        selects.append(f"SELECT {', '.join(columns + constants)} FROM ({data})")
    if not selects:
        empty = [f"CAST(NULL AS {duckdb_type(t)}) AS {identifier(n)}" for n, t in table.all_columns]
        return f"SELECT {', '.join(empty)} WHERE false"
    return "\nUNION ALL\n".join(selects)
