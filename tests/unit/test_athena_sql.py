"""Athena SQL on DuckDB: each correction is executed, and the refusals are Athena's."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from tapcase import athena_sql
from tapcase.athena_sql import (
    AthenaSqlError,
    AthenaSyntaxError,
    PartitionConstraintViolation,
    UnsupportedAthenaSql,
    injected_projection_columns,
    java_replacement_to_re2,
    parse,
    partition_predicates,
    to_duckdb,
)

SCHEMA = {"forensics": {"conn": {"orig_bytes": "bigint", "resp_pkts": "int", "duration": "double"}}}


def run(sql: str, **kwargs: Any) -> tuple[Any, ...]:
    """The first row DuckDB returns for the transpiled Athena query."""
    rows = duckdb.sql(to_duckdb(sql, **kwargs)).fetchall()
    assert len(rows) == 1
    return rows[0]


# -- date_diff: Trino counts complete units, DuckDB's date_diff counts boundaries -----------------


def test_date_diff_counts_complete_hours() -> None:
    sql = "SELECT date_diff('hour', TIMESTAMP '2024-05-01 10:00:00', TIMESTAMP '2024-05-01 11:59:00')"
    assert run(sql) == (1,)


def test_date_diff_does_not_count_a_crossed_boundary() -> None:
    sql = "SELECT date_diff('hour', TIMESTAMP '2024-05-01 10:59:00', TIMESTAMP '2024-05-01 11:00:00')"
    assert run(sql) == (0,)
    # What DuckDB's own date_diff would have said:
    assert duckdb.sql(
        "SELECT date_diff('hour', TIMESTAMP '2024-05-01 10:59:00', TIMESTAMP '2024-05-01 11:00:00')"
    ).fetchall() == [(1,)]


def test_date_diff_days_and_negative_spans() -> None:
    sql = (
        "SELECT date_diff('day', TIMESTAMP '2024-05-01 23:00:00', TIMESTAMP '2024-05-02 22:00:00'), "
        "date_diff('minute', TIMESTAMP '2024-05-01 10:30:30', TIMESTAMP '2024-05-01 10:00:00')"
    )
    assert run(sql) == (0, -30)


# -- slice(array, start, length) --------------------------------------------------------------------


def test_slice_third_argument_is_a_length() -> None:
    assert run("SELECT slice(ARRAY[1, 2, 3, 4], 2, 2)") == ([2, 3],)


def test_slice_negative_start_counts_from_the_end() -> None:
    assert run("SELECT slice(ARRAY[1, 2, 3, 4], -2, 5), slice(ARRAY[1, 2, 3, 4], -9, 2)") == ([3, 4], [])


def test_slice_with_column_arguments() -> None:
    sql = "SELECT slice(a, s, n) FROM (VALUES (ARRAY[10, 20, 30, 40, 50], 3, 2)) AS t(a, s, n)"
    assert run(sql) == ([30, 40],)


# -- regexp_extract without a match is NULL ------------------------------------------------------


def test_regexp_extract_no_match_is_null() -> None:
    assert run("SELECT regexp_extract('evil.example.com', '(\\d+)\\.example', 1)") == (None,)
    assert duckdb.sql("SELECT regexp_extract('evil.example.com', '(\\d+)\\.example', 1)").fetchall() == [("",)]


def test_regexp_extract_match_and_whole_match() -> None:
    sql = "SELECT regexp_extract('host42.example.com', 'host(\\d+)', 1), regexp_extract('abc', 'b.')"
    assert run(sql) == ("42", "bc")


# -- regexp_replace with $n ----------------------------------------------------------------------


def test_regexp_replace_dollar_group_reference() -> None:
    assert run("SELECT regexp_replace('abc', '(b)', '[$1]')") == ("a[b]c",)


def test_regexp_replace_replaces_every_match_and_defaults_to_removal() -> None:
    assert run("SELECT regexp_replace('a1b22c', '(\\d+)', '<$1>'), regexp_replace('a1b2', '\\d')") == (
        "a<1>b<22>c",
        "ab",
    )


def test_regexp_replace_escaped_dollar_and_backslash() -> None:
    assert run("SELECT regexp_replace('x', 'x', '\\$1'), regexp_replace('x', 'x', 'a\\\\b')") == ("$1", "a\\b")


@pytest.mark.parametrize(
    ("trino", "re2"),
    [("[$1]", "[\\1]"), ("$0$2", "\\0\\2"), ("\\$", "$"), ("\\\\", "\\\\"), ("plain", "plain")],
)
def test_java_replacement_to_re2(trino: str, re2: str) -> None:
    assert java_replacement_to_re2(trino) == re2


def test_java_replacement_rejects_what_trino_rejects() -> None:
    with pytest.raises(AthenaSqlError):
        java_replacement_to_re2("$x")
    with pytest.raises(UnsupportedAthenaSql):
        java_replacement_to_re2("${name}")


# -- integer division ----------------------------------------------------------------------------


def test_integer_literals_divide_as_integers() -> None:
    assert run("SELECT 7 / 2, -7 / 2") == (3, -3)


def test_double_division_stays_fractional() -> None:
    assert run("SELECT CAST(7 AS double) / 2, 7e0 / 2") == (3.5, 3.5)


def test_integer_columns_divide_as_integers_with_a_schema() -> None:
    sql = "SELECT orig_bytes / resp_pkts, duration / resp_pkts FROM conn"
    transpiled = to_duckdb(sql, SCHEMA, default_database="forensics")
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA forensics")
    connection.execute(
        "CREATE TABLE forensics.conn AS SELECT 7::BIGINT AS orig_bytes, 2 AS resp_pkts, 7.0::DOUBLE AS duration"
    )
    assert connection.sql(transpiled).fetchall() == [(3, 3.5)]


def test_without_a_schema_column_types_are_unknown() -> None:
    # Documented limit: without the schema the division is left to DuckDB (fractional).
    assert "TRUNC" not in to_duckdb("SELECT a / b FROM t")
    schema = {"default": {"t": {"a": "int", "b": "int"}}}
    assert "TRUNC" in to_duckdb("SELECT a / b FROM t", schema, default_database="default")


# -- what DuckDB cannot do with Athena's meaning ---------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT CAST(ip AS IPADDRESS) FROM t",
        "SELECT contains('10.0.0.0/8', CAST(ip AS IPADDRESS)) FROM t",
        "SELECT url_extract_host(url) FROM t",
        "SELECT format_datetime(ts, 'yyyy-MM-dd') FROM t",
        "SELECT parse_datetime(s, 'yyyy-MM-dd HH:mm') FROM t",
        "SELECT reduce(a, 0, (s, x) -> s + x, s -> s * 2) FROM t",
        "SELECT regexp_replace(s, 'a', r) FROM t",
    ],
)
def test_unsupported_constructs_fail_loudly(sql: str) -> None:
    with pytest.raises(UnsupportedAthenaSql):
        to_duckdb(sql)


def test_reduce_with_identity_finish_runs() -> None:
    assert run("SELECT reduce(ARRAY[1, 2, 3], 0, (s, x) -> s + x, s -> s)") == (6,)


# -- the rest ------------------------------------------------------------------------------------


def test_unnamed_columns_are_named_like_trino() -> None:
    relation = duckdb.sql(to_duckdb("SELECT 1, x, x + 1 AS y, upper('a') FROM (VALUES (1)) AS t(x)"))
    assert relation.columns == ["_col0", "x", "y", "_col3"]


def test_awsdatacatalog_prefix_is_the_default_catalog() -> None:
    assert "awsdatacatalog" not in to_duckdb("SELECT * FROM awsdatacatalog.forensics.conn").lower()


def test_syntax_error_reports_position() -> None:
    with pytest.raises(AthenaSyntaxError) as raised:
        parse("SELECT a FROM\nWHERE x")
    assert raised.value.line == 2


def test_one_statement_only() -> None:
    with pytest.raises(AthenaSyntaxError):
        parse("SELECT 1; SELECT 2")


def test_execution_parameters_are_substituted_in_order() -> None:
    expression = athena_sql.substitute_parameters(parse("SELECT ?, ? + 1"), ["'inv-1'", "41"])
    assert duckdb.sql(to_duckdb(expression)).fetchall() == [("inv-1", 42)]
    with pytest.raises(AthenaSqlError):
        athena_sql.substitute_parameters(parse("SELECT ?"), [])


# -- injected partition projection ----------------------------------------------------------------

INJECTED = {("forensics", "conn"): ["investigation_id"], ("forensics", "dns"): ["investigation_id"]}


def pinned(sql: str) -> dict[tuple[str, str], dict[str, list[str]]]:
    found = partition_predicates(parse(sql), INJECTED, "forensics")
    return {table: {c: [v.sql() for v in vs] for c, vs in cols.items()} for table, cols in found.items()}


def test_injected_columns_from_glue_parameters() -> None:
    parameters = {"projection.enabled": "true", "projection.investigation_id.type": "injected"}
    assert injected_projection_columns(parameters, ["investigation_id", "event_type"]) == ["investigation_id"]
    assert injected_projection_columns({**parameters, "projection.enabled": "false"}, ["investigation_id"]) == []


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "SELECT * FROM conn WHERE investigation_id = 'inv-1'",
            {("forensics", "conn"): {"investigation_id": ["'inv-1'"]}},
        ),
        (
            "SELECT * FROM awsdatacatalog.forensics.conn c WHERE c.investigation_id IN ('a', 'b') AND c.x > 1",
            {("forensics", "conn"): {"investigation_id": ["'a'", "'b'"]}},
        ),
        (
            "SELECT * FROM conn c JOIN dns d ON d.investigation_id = 'a' AND d.uid = c.uid "
            "WHERE c.investigation_id = 'a'",
            {("forensics", "conn"): {"investigation_id": ["'a'"]}, ("forensics", "dns"): {"investigation_id": ["'a'"]}},
        ),
        (
            "WITH c AS (SELECT * FROM conn WHERE investigation_id = 'z') "
            "SELECT * FROM c WHERE uid IN (SELECT uid FROM dns WHERE investigation_id = 'z')",
            {("forensics", "conn"): {"investigation_id": ["'z'"]}, ("forensics", "dns"): {"investigation_id": ["'z'"]}},
        ),
        ("SELECT * FROM other_table", {}),
    ],
)
def test_partition_predicates_found(sql: str, expected: dict[Any, Any]) -> None:
    assert pinned(sql) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM conn",
        "SELECT * FROM conn WHERE investigation_id LIKE 'inv%'",
        "SELECT * FROM conn WHERE investigation_id IN (SELECT 'inv-1')",
        "SELECT * FROM conn WHERE investigation_id = (SELECT max(id) FROM ids)",
        "SELECT * FROM conn WHERE investigation_id = 'a' OR x = 1",
        # Every reference needs its own literal, even when the other side of a join has one.
        "SELECT * FROM conn c JOIN dns d ON d.investigation_id = c.investigation_id WHERE c.investigation_id = 'a'",
        # The filter belongs to the outer query, not to the block that reads the table.
        "SELECT * FROM (SELECT * FROM conn) AS s WHERE s.investigation_id = 'a'",
    ],
)
def test_partition_predicates_refused_like_athena(sql: str) -> None:
    with pytest.raises(PartitionConstraintViolation) as raised:
        partition_predicates(parse(sql), INJECTED, "forensics")
    assert str(raised.value) == (
        "CONSTRAINT_VIOLATION: For the injected projected partition column investigation_id, "
        "the WHERE clause must contain only static equality conditions, "
        "and at least one such condition must be present."
    )
