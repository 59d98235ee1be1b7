"""The SQL engine: one Athena query run on an embedded DuckDB over the Glue tables' S3 data.

The query is parsed and transpiled by :mod:`tapcase.athena_sql`; its tables are resolved in the
Glue catalog (Athena's ``TABLE_NOT_FOUND``, ``SCHEMA_NOT_FOUND``…), ``injected`` partition columns
must be pinned (``CONSTRAINT_VIOLATION``), the bytes of the objects it reads are what it scans
(the workgroup's cutoff cancels it before reading), and DuckDB's refusals are worded as Trino's.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb
from sqlglot import exp

from tapcase import athena_sql
from tapcase.localcloud.athena import plans
from tapcase.localcloud.athena.catalog import CatalogTable, GlueCatalog
from tapcase.localcloud.athena.failures import (
    BYTES_SCANNED_LIMIT_REASON,
    INTERNAL_ERROR_TYPE,
    SYSTEM_ERROR_CATEGORY,
    QueryFailure,
    position,
)
from tapcase.localcloud.athena.partitions import TablePartition, table_partitions
from tapcase.localcloud.athena.results import QueryResult, athena_column, format_value
from tapcase.localcloud.athena.storage import S3Store
from tapcase.localcloud.athena.views import Materializer, identifier, literal, view_sql


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
            f"COLUMN_NOT_FOUND: {position(sql, node)}: Column '{name}' cannot be resolved "
            "or requester is not authorized to access requested resources"
        )
    if match := _FUNCTION_NOT_FOUND.search(message):
        name = match.group(1)
        function = next((f for f in parsed.find_all(exp.Anonymous) if f.name.lower() == name.lower()), None)
        return QueryFailure(f"FUNCTION_NOT_FOUND: {position(sql, function)}: Function '{name}' not registered")
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
        where = position(sql, reference.node)
        if "." in db_name:
            catalog_name = db_name.split(".", 1)[0]
            raise QueryFailure(f"CATALOG_NOT_FOUND: {where}: Catalog '{catalog_name}' does not exist")
        if not catalog.has_database(db_name):
            raise QueryFailure(f"SCHEMA_NOT_FOUND: {where}: Schema '{db_name}' does not exist")
        table = catalog.table(db_name, table_name)
        if table is None:
            raise QueryFailure(
                f"TABLE_NOT_FOUND: {where}: Table 'awsdatacatalog.{db_name}.{table_name}' does not exist"
            )
        tables[reference.table] = table
    return tables


def _plan(
    parsed: exp.Expr, database: str, tables: Mapping[athena_sql.TableName, CatalogTable], sql: str | None = None,
) -> tuple[dict[athena_sql.TableName, dict[str, list[exp.Expr]]], str]:
    """The values the injected partition columns are pinned to, and the DuckDB SQL (from a
    template of the same query with other partition values when ``sql``, its text, is given:
    :mod:`.plans`)."""
    injected = {name: table.injected_columns for name, table in tables.items() if table.injected_columns}
    schema: dict[str, dict[str, dict[str, str]]] = {}
    for (db_name, table_name), table in tables.items():
        schema.setdefault(db_name, {})[table_name] = dict(table.all_columns)
    try:
        pinned = athena_sql.partition_predicates(parsed, injected, database)

        def transpile() -> str:
            return athena_sql.to_duckdb(parsed, schema, default_database=database)

        if sql is None:
            return pinned, transpile()
        values = [v.name for columns in pinned.values() for exprs in columns.values() for v in exprs
                  if isinstance(v, exp.Literal) and v.is_string]
        context = f"{database}\n{sorted((k, sorted(v.items())) for k, v in schema.items())}"
        return pinned, plans.duckdb_sql(sql, context, values, transpile)
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
    pinned_expressions, duckdb_sql = _plan(parsed, database, tables, None if execution_parameters else sql)

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

            materializer = Materializer(store, Path(directory))
            for schema in {database} | {table.database for table, _ in reads}:
                connection.execute(f"CREATE SCHEMA IF NOT EXISTS {identifier(schema)}")
            for table, partitions in reads:
                view = view_sql(connection, table, partitions, materializer)
                connection.execute(f"CREATE VIEW {identifier(table.database)}.{identifier(table.name)} AS {view}")
            connection.execute(f"SET search_path = {literal(database)}")
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
        columns=[athena_column(name, column_type) for name, column_type in zip(names, column_types, strict=True)],
        rows=[[format_value(v) for v in row] for row in rows],
        data_scanned=scanned,
        planning_ms=int((planned - started) * 1000),
        engine_ms=int((finished - started) * 1000),
    )
