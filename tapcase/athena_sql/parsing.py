"""Reading Athena (Trino) SQL: one statement parsed, its parameters bound, the tables it reads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.optimizer.scope import traverse_scope

from tapcase.athena_sql.errors import AthenaSqlError, AthenaSyntaxError, TableName

READ_DIALECT = "athena"

#: Athena's own catalog name; ``awsdatacatalog.db.table`` is the same table as ``db.table``.
DEFAULT_CATALOG = "awsdatacatalog"


def parse(sql: str) -> exp.Expr:
    """Parse one Athena statement. Raises :class:`AthenaSyntaxError` like Athena's SYNTAX_ERROR."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=READ_DIALECT, error_level=ErrorLevel.RAISE) if s]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        message = first.get("description") or str(exc)
        raise AthenaSyntaxError(message, int(first.get("line") or 1), int(first.get("col") or 1)) from exc
    except TokenError as exc:
        raise AthenaSyntaxError(str(exc)) from exc
    if len(statements) != 1:
        raise AthenaSyntaxError(
            "Only one sql statement is allowed. Got: " + str(len(statements))
            if statements
            else "Query string is empty"
        )
    return statements[0]


def is_query(expression: exp.Expr) -> bool:
    """True for a statement that returns rows (SELECT, WITH … SELECT, UNION, VALUES)."""
    return isinstance(expression, exp.Query | exp.Values)


def substitute_parameters(expression: exp.Expr, parameters: list[str] | None) -> exp.Expr:
    """Replace ``?`` placeholders, in order, by Athena ExecutionParameters (SQL literal text)."""
    placeholders = [p for p in expression.find_all(exp.Placeholder) if p.this is None]
    given = parameters or []
    if len(placeholders) != len(given):
        raise AthenaSqlError(
            f"Incorrect number of parameters: expected {len(placeholders)} but found {len(given)}"
        )
    for placeholder, text in zip(placeholders, given, strict=True):
        try:
            value = sqlglot.parse_one(text, read=READ_DIALECT, into=exp.Expr)
        except (ParseError, TokenError) as exc:
            raise AthenaSyntaxError(f"invalid execution parameter {text!r}: {exc}") from exc
        placeholder.replace(value)
    return expression


@dataclass(frozen=True)
class TableReference:
    """One mention of a catalog table in a query."""

    table: TableName
    alias: str
    node: exp.Table
    scope_expression: exp.Expr


def table_references(expression: exp.Expr, default_database: str) -> Iterator[TableReference]:
    """Every reference to a catalog table (CTE names excluded), with the scope it is read in."""
    seen: set[int] = set()
    for scope in traverse_scope(expression):
        for alias, source in scope.sources.items():
            if not isinstance(source, exp.Table) or id(source) in seen:
                continue
            if source.find_ancestor(exp.Select, exp.SetOperation) is not scope.expression:
                continue  # an outer query's table, visible to a correlated subquery
            if not source.name:
                continue  # e.g. a table function
            seen.add(id(source))
            catalog = source.catalog.lower()
            if catalog and catalog != DEFAULT_CATALOG:
                database = f"{catalog}.{source.db.lower()}"
            else:
                database = (source.db or default_database).lower()
            yield TableReference((database, source.name.lower()), alias, source, scope.expression)


def output_column_names(columns: Iterable[str]) -> list[str]:
    """Trino lower-cases identifiers, quoted or not, so result column names are lower case."""
    return [name.lower() for name in columns]
