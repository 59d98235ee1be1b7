"""Athena (Trino) SQL, run on DuckDB with Athena's semantics.

sqlglot transpiles most of the Athena query language to DuckDB correctly. A few functions have the
same name on both engines and silently return something else; they are corrected here:

=================================  ==============================  ===================================
Athena (Trino)                     DuckDB as sqlglot writes it      Correction
=================================  ==============================  ===================================
``date_diff(unit, a, b)``          counts unit *boundaries*         ``date_sub(unit, a, b)`` (complete
                                                                    units, as Trino counts)
``slice(arr, start, length)``      ``length`` read as an end index  ``is_length`` slice (sqlglot #8040)
``regexp_extract`` without match   ``''``                           ``NULL`` (``null_if_no_match``)
``regexp_replace(s, p, '$1')``     ``$1`` is literal text           ``\\1`` (RE2 rewrite syntax)
``a / b`` on integers              float division                   integer division, when the operand
                                                                    types are known (literals always;
                                                                    columns with ``schema``)
=================================  ==============================  ===================================

Constructs DuckDB cannot run with Athena's meaning raise :class:`UnsupportedAthenaSql` instead of
running differently: ``IPADDRESS``/``IPPREFIX`` and ``contains(cidr, ip)``, ``url_extract_*``,
``format_datetime``/``parse_datetime`` (Joda patterns), ``reduce`` with a finishing function other
than the identity, a ``regexp_replace`` replacement that is not a literal, and anything else sqlglot
itself reports as unsupported for DuckDB.

:func:`partition_predicates` reproduces Athena's refusal of a query on a table whose partition
column is projected with type ``injected`` when the query does not pin that column to static values
(``CONSTRAINT_VIOLATION``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.dialects.dialect import unit_to_str
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError, TokenError, UnsupportedError
from sqlglot.generators.duckdb import DuckDBGenerator
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.schema import MappingSchema

READ_DIALECT = "athena"

#: Athena's own catalog name; ``awsdatacatalog.db.table`` is the same table as ``db.table``.
DEFAULT_CATALOG = "awsdatacatalog"

#: ``{database: {table: {column: hive_or_athena_type}}}`` as Glue describes the tables.
Schema = Mapping[str, Mapping[str, Mapping[str, str]]]

#: ``(database, table)``, both lower case, as Glue stores them.
TableName = tuple[str, str]


class AthenaSqlError(ValueError):
    """A query that Athena would refuse, or that the local engine cannot run faithfully."""


class AthenaSyntaxError(AthenaSqlError):
    """The query does not parse as Athena SQL."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class UnsupportedAthenaSql(AthenaSqlError):
    """Valid Athena SQL that DuckDB cannot run with Athena's meaning: fail loudly, never differ."""

    def __init__(self, construct: str, detail: str) -> None:
        super().__init__(f"{construct}: {detail}")
        self.construct = construct


class PartitionConstraintViolation(AthenaSqlError):
    """Athena's refusal of a query that does not pin an ``injected`` partition column.

    The text is Athena's, from the "Dynamic ID partitioning" page of the Athena user guide
    (docs.aws.amazon.com/athena/latest/ug/partition-projection-dynamic-id-partitioning.html), with
    the column name filled in. An older wording ("Injected projected partition column … must have
    only (and at least one) equality conditions in the WHERE clause!") is still quoted on the China
    regions' copy of that page.
    """

    def __init__(self, column: str, table: TableName) -> None:
        self.column = column
        self.table = table
        super().__init__(
            f"CONSTRAINT_VIOLATION: For the injected projected partition column {column}, "
            "the WHERE clause must contain only static equality conditions, "
            "and at least one such condition must be present."
        )


# -- parsing -------------------------------------------------------------------------------------


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


# -- DuckDB generation ---------------------------------------------------------------------------


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


# -- injected partition projection ---------------------------------------------------------------


def injected_projection_columns(parameters: Mapping[str, str], partition_keys: Iterable[str]) -> list[str]:
    """Partition columns projected with type ``injected`` (``projection.enabled`` must be true)."""
    params = {k.lower(): str(v).strip() for k, v in parameters.items()}
    if params.get("projection.enabled", "").lower() != "true":
        return []
    return [
        key.lower()
        for key in partition_keys
        if params.get(f"projection.{key.lower()}.type", "").lower() == "injected"
    ]


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


def _conjuncts(node: exp.Expr | None) -> Iterator[exp.Expr]:
    if node is None:
        return
    node = node.unnest()
    if isinstance(node, exp.And):
        yield from _conjuncts(node.left)
        yield from _conjuncts(node.right)
    else:
        yield node


def _is_static(node: exp.Expr) -> bool:
    """A value Athena can compute without reading data: no column, no subquery."""
    return not any(isinstance(n, exp.Column | exp.Query | exp.Placeholder) for n in node.walk())


def _refers_to(node: exp.Expr, column: str, alias: str) -> bool:
    return isinstance(node, exp.Column) and node.name.lower() == column and (
        not node.table or node.table.lower() == alias.lower()
    )


def _static_equalities(node: exp.Expr, column: str, alias: str) -> list[exp.Expr] | None:
    """The values of ``col = v``, ``col IN (v, …)`` or ORs of those; None for anything else."""
    node = node.unnest()
    if isinstance(node, exp.EQ):
        left, right = node.left.unnest(), node.right.unnest()
        if _refers_to(left, column, alias) and _is_static(right):
            return [right]
        if _refers_to(right, column, alias) and _is_static(left):
            return [left]
        return None
    if isinstance(node, exp.In):
        if node.args.get("query") is not None or node.args.get("unnest") is not None:
            return None
        if _refers_to(node.this.unnest(), column, alias) and all(_is_static(v) for v in node.expressions):
            return list(node.expressions)
        return None
    if isinstance(node, exp.Or):
        left = _static_equalities(node.left, column, alias)
        right = _static_equalities(node.right, column, alias)
        return left + right if left is not None and right is not None else None
    return None


def _is_join_key(node: exp.Expr) -> bool:
    """``a.col = b.col``: relates two tables and restricts neither scan, so it pins no value.

    Trino could infer ``b.col = 'x'`` from it and ``a.col = 'x'``; whether Athena's injected check
    sees that inferred value is not documented, so such a reference still needs its own literal.
    """
    node = node.unnest()
    return isinstance(node, exp.EQ) and all(isinstance(side.unnest(), exp.Column) for side in (node.left, node.right))


def _predicates(scope_expression: exp.Expr) -> list[exp.Expr]:
    conditions: list[exp.Expr] = []
    where = scope_expression.args.get("where")
    if where is not None:
        conditions.extend(_conjuncts(where.this))
    for join in scope_expression.args.get("joins") or []:
        conditions.extend(_conjuncts(join.args.get("on")))
    return conditions


def partition_predicates(
    expression: exp.Expr,
    injected: Mapping[TableName, Collection[str]],
    default_database: str,
) -> dict[TableName, dict[str, list[exp.Expr]]]:
    """The static values each ``injected`` partition column is pinned to, per table.

    ``injected`` maps ``(database, table)`` to its injected columns (see
    :func:`injected_projection_columns`). Every reference to such a table must carry, in the WHERE
    clause (or the ON condition) of the query block that reads it, equality conditions on each
    injected column against values computable without reading data (literals, IN lists of
    literals). Otherwise Athena refuses the query: :class:`PartitionConstraintViolation`.
    The values of all references to one table are merged.
    """
    found: dict[TableName, dict[str, list[exp.Expr]]] = {}
    for reference in table_references(expression, default_database):
        columns = injected.get(reference.table)
        if not columns:
            continue
        predicates = _predicates(reference.scope_expression)
        for column in columns:
            column = column.lower()
            values: list[exp.Expr] = []
            for predicate in predicates:
                mentions = any(_refers_to(c, column, reference.alias) for c in predicate.find_all(exp.Column))
                if not mentions or _is_join_key(predicate):
                    continue
                equalities = _static_equalities(predicate, column, reference.alias)
                if equalities is None:
                    raise PartitionConstraintViolation(column, reference.table)
                values.extend(equalities)
            if not values:
                raise PartitionConstraintViolation(column, reference.table)
            found.setdefault(reference.table, {}).setdefault(column, []).extend(values)
    return found


def static_value_sql(value: exp.Expr) -> str:
    """DuckDB SQL for a static partition value, to be evaluated by the engine."""
    return to_duckdb(exp.select(value.copy()))


def substitute_parameters(expression: exp.Expr, parameters: list[str] | None) -> exp.Expr:
    """Replace ``?`` placeholders, in order, by Athena ExecutionParameters (SQL literal text)."""
    placeholders = [p for p in expression.find_all(exp.Placeholder) if p.this is None]
    given = parameters or []
    if len(placeholders) != len(given):
        raise AthenaSqlError(
            f"Incorrect number of parameters: expected {len(placeholders)} but found {len(given)}"
        )
    for placeholder, text in zip(placeholders, given):
        try:
            value = sqlglot.parse_one(text, read=READ_DIALECT, into=exp.Expr)
        except (ParseError, TokenError) as exc:
            raise AthenaSyntaxError(f"invalid execution parameter {text!r}: {exc}") from exc
        placeholder.replace(value)
    return expression


def output_column_names(columns: Iterable[str]) -> list[str]:
    """Trino lower-cases identifiers, quoted or not, so result column names are lower case."""
    return [name.lower() for name in columns]

