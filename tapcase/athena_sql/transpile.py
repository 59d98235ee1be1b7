"""Athena (Trino) SQL written as DuckDB SQL that returns what Athena would.

The corrections (see the table in :mod:`tapcase.athena_sql`) are made on sqlglot's syntax tree;
constructs DuckDB cannot run with Athena's meaning raise :class:`UnsupportedAthenaSql`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping

from sqlglot import exp
from sqlglot.dialects.dialect import unit_to_str
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import ErrorLevel, SqlglotError, UnsupportedError
from sqlglot.generators.duckdb import DuckDBGenerator
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from tapcase.athena_sql.errors import AthenaSqlError, UnsupportedAthenaSql
from tapcase.athena_sql.parsing import DEFAULT_CATALOG, READ_DIALECT, parse

#: ``{database: {table: {column: hive_or_athena_type}}}`` as Glue describes the tables.
Schema = Mapping[str, Mapping[str, Mapping[str, str]]]


def _date_diff_as_date_sub(self: DuckDBGenerator, expression: exp.DateDiff) -> str:
    """Trino's ``date_diff`` counts complete units; DuckDB's ``date_sub`` does, ``date_diff`` not."""
    return self.func("DATE_SUB", unit_to_str(expression), expression.expression, expression.this)


class DuckDBForAthena(DuckDB):
    """DuckDB, written for queries that were parsed as Athena SQL."""

    class Generator(DuckDBGenerator):
        TRANSFORMS = {
            **DuckDBGenerator.TRANSFORMS,
            exp.DateDiff: _date_diff_as_date_sub,
        }


def java_replacement_to_re2(replacement: str) -> str:
    """Turn a Trino ``regexp_replace`` replacement into RE2's rewrite syntax.

    Trino: ``$g`` is group *g*, ``${name}`` a named group, ``\\$`` a literal dollar sign.
    RE2 (DuckDB): ``\\g`` is group *g* (0-9) and a backslash must itself be escaped.
    """
    out: list[str] = []
    index = 0
    while index < len(replacement):
        char = replacement[index]
        if char == "\\":
            if index + 1 == len(replacement):
                raise AthenaSqlError("regexp_replace: replacement ends with an unescaped backslash")
            escaped = replacement[index + 1]
            out.append("\\\\" if escaped == "\\" else escaped)
            index += 2
        elif char == "$":
            following = replacement[index + 1 : index + 2]
            if following.isdigit():
                out.append("\\" + following)
                index += 2
            elif following == "{":
                raise UnsupportedAthenaSql(
                    "regexp_replace", "named group references (${name}) have no DuckDB (RE2) equivalent"
                )
            else:
                raise AthenaSqlError(f"regexp_replace: illegal group reference in replacement {replacement!r}")
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _is_identity_lambda(node: exp.Expr | None) -> bool:
    if not isinstance(node, exp.Lambda) or len(node.expressions) != 1:
        return False
    body = node.this
    param = node.expressions[0].name
    return isinstance(body, exp.Column | exp.Identifier) and not getattr(body, "table", "") and body.name == param


def _check_unsupported(expression: exp.Expr) -> None:
    for node in expression.walk():
        if isinstance(node, exp.DataType) and node.this in (exp.DType.IPADDRESS, exp.DType.IPPREFIX):
            raise UnsupportedAthenaSql(
                str(node.this.value), "DuckDB has no IP address types; test private ranges with regexp_like"
            )
        if isinstance(node, exp.ArrayContains):
            first = node.this
            if first.is_string and "/" in first.name:
                raise UnsupportedAthenaSql("contains(cidr, ip)", "CIDR membership needs Athena's IPPREFIX type")
        if isinstance(node, exp.Anonymous):
            name = node.name.lower()
            if name.startswith("url_extract_"):
                raise UnsupportedAthenaSql(name, "DuckDB has no URL functions without extensions")
            if name == "format_datetime":
                raise UnsupportedAthenaSql(name, "Joda-Time patterns; use date_format with MySQL patterns")
        if isinstance(node, exp.ParseDatetime):
            raise UnsupportedAthenaSql("parse_datetime", "Joda-Time patterns; use date_parse with MySQL patterns")
        if isinstance(node, exp.Reduce) and node.args.get("finish") is not None:
            if not _is_identity_lambda(node.args["finish"]):
                raise UnsupportedAthenaSql("reduce", "a finishing function other than the identity (s -> s)")


def _apply_athena_semantics(expression: exp.Expr) -> None:
    """Set the flags that make sqlglot's DuckDB generator keep Trino's meaning (in place)."""
    for node in list(expression.walk()):
        if isinstance(node, exp.ArraySlice):
            # Trino's slice(array, start, length): the third argument is a length.
            node.set("is_length", True)
        elif isinstance(node, exp.RegexpExtract):
            # Trino returns NULL when the pattern does not match; DuckDB returns ''.
            node.set("null_if_no_match", True)
        elif isinstance(node, exp.RegexpReplace):
            replacement = node.args.get("replacement")
            if replacement is None:
                continue
            if not replacement.is_string:
                raise UnsupportedAthenaSql(
                    "regexp_replace", "a replacement that is not a string literal ($n cannot be rewritten)"
                )
            node.set("replacement", exp.Literal.string(java_replacement_to_re2(replacement.name)))
        elif isinstance(node, exp.Reduce) and node.args.get("finish") is not None:
            node.set("finish", None)  # identity (checked in _check_unsupported)


def _strip_default_catalog(expression: exp.Expr) -> None:
    for table in expression.find_all(exp.Table):
        if table.catalog and table.catalog.lower() == DEFAULT_CATALOG:
            table.set("catalog", None)


def _leftmost_select(expression: exp.Expr) -> exp.Select | None:
    node: exp.Expr | None = expression
    while isinstance(node, exp.SetOperation | exp.Subquery):
        node = node.this
    return node if isinstance(node, exp.Select) else None


def name_unnamed_columns(expression: exp.Expr) -> None:
    """Alias the output columns Trino would call ``_col0``, ``_col1``… (in place).

    Trino names a column reference (or a field access) after the column and every other unaliased
    expression ``_col<position>``; DuckDB would name it after the expression's text.
    """
    select = _leftmost_select(expression)
    if select is None:
        return
    projections = list(select.expressions)
    for index, projection in enumerate(projections):
        if isinstance(projection, exp.Star) or (
            isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
        ):
            return  # positions after a * depend on the tables' columns
        if isinstance(projection, exp.Alias | exp.Column | exp.Dot):
            continue
        projection.replace(exp.alias_(projection.copy(), f"_col{index}"))


def _schema_for_sqlglot(schema: Schema) -> MappingSchema:
    """sqlglot's schema of the tables (one per distinct schema: building it normalises every column
    type, ~25 ms for the curated tables, and every query of an investigation has the same)."""
    key = json.dumps({db: {t: list(dict(c).items()) for t, c in tables.items()} for db, tables in schema.items()},
                     sort_keys=True)
    return _mapping_schema(key)


@functools.lru_cache(maxsize=32)
def _mapping_schema(key: str) -> MappingSchema:
    schema = json.loads(key)
    return MappingSchema(
        {db: {table: dict(columns) for table, columns in tables.items()} for db, tables in schema.items()},
        dialect="hive",
    )


def to_duckdb_expression(
    sql_or_expression: str | exp.Expr,
    schema: Schema | None = None,
    *,
    default_database: str | None = None,
) -> exp.Expr:
    """The corrected syntax tree, ready to be written as DuckDB SQL (see :func:`to_duckdb`)."""
    expression = parse(sql_or_expression) if isinstance(sql_or_expression, str) else sql_or_expression.copy()
    _check_unsupported(expression)
    _strip_default_catalog(expression)
    _apply_athena_semantics(expression)
    name_unnamed_columns(expression)
    if schema:
        mapping = _schema_for_sqlglot(schema)
        try:
            expression = qualify(
                expression,
                db=default_database,
                schema=mapping,
                dialect=READ_DIALECT,
                expand_stars=False,
                validate_qualify_columns=False,
                quote_identifiers=False,
                identify=False,
            )
        except (SqlglotError, ValueError, KeyError):
            # Unknown tables or columns: let the engine report them; column types stay unknown.
            pass
        return annotate_types(expression, schema=mapping, dialect=READ_DIALECT)
    return annotate_types(expression, dialect=READ_DIALECT)


def to_duckdb(
    sql: str | exp.Expr,
    schema: Schema | None = None,
    *,
    default_database: str | None = None,
    pretty: bool = False,
) -> str:
    """Transpile one Athena statement to DuckDB SQL that returns what Athena would.

    ``schema`` (``{database: {table: {column: type}}}``, Glue/Hive type names) lets integer
    divisions between columns stay integer divisions; without it only literal operands are typed.
    ``default_database`` is the database unqualified table names refer to.

    Raises :class:`AthenaSyntaxError`, :class:`UnsupportedAthenaSql` or :class:`AthenaSqlError`.
    """
    expression = to_duckdb_expression(sql, schema, default_database=default_database)
    try:
        return expression.sql(dialect=DuckDBForAthena, pretty=pretty, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise UnsupportedAthenaSql("sqlglot", str(exc)) from exc


def static_value_sql(value: exp.Expr) -> str:
    """DuckDB SQL for a static partition value, to be evaluated by the engine."""
    return to_duckdb(exp.select(value.copy()))
