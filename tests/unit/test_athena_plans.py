"""The local Athena's transpiled-query templates (tapcase.localcloud.athena.plans): a pack query
seen again with another injected partition value is not transpiled again, and gives exactly the
SQL a transpilation would."""

from __future__ import annotations

from tapcase import athena_sql
from tapcase.localcloud.athena import plans

SQL = ("SELECT c.id_orig_h, count(*) AS n FROM db.zeek_conn c WHERE c.investigation_id = '{iid}' "
       "AND c.ts > 0 GROUP BY 1 ORDER BY n DESC")
SCHEMA = {"db": {"zeek_conn": {"id_orig_h": "string", "ts": "double", "investigation_id": "string"}}}


def _transpile(sql: str, calls: list[str]):
    def run() -> str:
        calls.append(sql)
        return athena_sql.to_duckdb(sql, SCHEMA, default_database="db")
    return run


def test_the_same_query_with_another_partition_value_reuses_the_transpilation() -> None:
    calls: list[str] = []
    first = SQL.format(iid="gd-0001")
    second = SQL.format(iid="gd-0002")
    assert plans.duckdb_sql(first, "ctx-a", ["gd-0001"], _transpile(first, calls)) == \
        athena_sql.to_duckdb(first, SCHEMA, default_database="db")
    reused = plans.duckdb_sql(second, "ctx-a", ["gd-0002"], _transpile(second, calls))
    assert calls == [first]  # the second was filled in from the template
    assert reused == athena_sql.to_duckdb(second, SCHEMA, default_database="db")
    assert "'gd-0002'" in reused and "gd-0001" not in reused


def test_another_context_or_an_unsafe_value_is_transpiled_again() -> None:
    calls: list[str] = []
    sql = SQL.format(iid="gd-0003")
    plans.duckdb_sql(sql, "ctx-b", ["gd-0003"], _transpile(sql, calls))
    plans.duckdb_sql(sql, "ctx-c", ["gd-0003"], _transpile(sql, calls))  # other tables' schema
    quoted = SQL.format(iid="it''s")
    plans.duckdb_sql(quoted, "ctx-b", ["it's"], _transpile(quoted, calls))  # escaped quote: never templated
    plans.duckdb_sql(quoted, "ctx-b", ["it's"], _transpile(quoted, calls))
    assert len(calls) == 4
