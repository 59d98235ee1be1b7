"""Athena's ``injected`` partition projection: the query must pin each injected column.

A table whose partition column is projected with type ``injected`` can only be queried with
static equality conditions on that column (``CONSTRAINT_VIOLATION`` otherwise);
:func:`partition_predicates` reproduces that refusal and returns the values the query pins, which
are the only partitions the query reads.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping

from sqlglot import exp

from tapcase.athena_sql.errors import PartitionConstraintViolation, TableName
from tapcase.athena_sql.parsing import table_references


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
        left_values = _static_equalities(node.left, column, alias)
        right_values = _static_equalities(node.right, column, alias)
        if left_values is None or right_values is None:
            return None
        return left_values + right_values
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
