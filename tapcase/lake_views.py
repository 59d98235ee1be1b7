"""DuckDB views of the curated tables, generated from :mod:`tapcase_sensor.lake.schema` (the CLI's:
``tapcase analyze`` and the tests; DuckDB is not on the sensor).

Two sources, one set of columns (``schema.TABLES``) plus the partition columns:

* :func:`parquet_view_sql` reads the curated Parquet tree (``investigation_id=``/``event_type=``
  folders become columns, as Athena projects them);
* :func:`raw_json_view_sql` reads the raw JSON logs (stock Zeek JSON, ISO-time Zeek JSON, Suricata
  EVE 7/8) with DuckDB's own JSON reader and applies in SQL what curation does in Python: dotted
  names renamed, ISO times to epoch seconds, Suricata's epoch ``ts`` and normalised DNS object.

The query pack must return the same rows over both (tests/lake), which checks the curation.
These views are DuckDB SQL (the local engine); Athena gets the Glue tables of ``template.yaml``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from tapcase_contract.ids import check_investigation_id
from tapcase_contract.layout import CURATED_PREFIX
from tapcase_sensor.lake.schema import (
    EVENT_TYPE_OTHER,
    SURICATA_EVENT_TYPES,
    TABLES,
    Column,
    Table,
    TypeNode,
    parse_type,
)


def duckdb_type(node: TypeNode | str) -> str:
    """The DuckDB spelling of a Hive type."""
    if isinstance(node, str):
        node = parse_type(node)
    if node.kind == "string":
        return "VARCHAR"
    if node.kind == "bigint":
        return "BIGINT"
    if node.kind == "double":
        return "DOUBLE"
    if node.kind == "boolean":
        return "BOOLEAN"
    if node.kind == "array":
        return f"{duckdb_type(node.children[0])}[]"
    if node.kind == "map":
        return f"MAP({duckdb_type(node.children[0])}, {duckdb_type(node.children[1])})"
    inner = ", ".join(f'"{n}" {duckdb_type(c)}' for n, c in zip(node.fields, node.children, strict=True))
    return f"STRUCT({inner})"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _path_list(paths: Sequence[str | os.PathLike[str]]) -> str:
    return "[" + ", ".join(quote_literal(Path(p).as_posix()) for p in paths) + "]"


def _partition_select(table: Table) -> list[str]:
    return [f"CAST(NULL AS VARCHAR) AS {quote_ident(k)}" for k in table.partition_keys]


def empty_view_select(table: Table) -> str:
    """A SELECT with the table's columns and no rows (a table without data)."""
    cols = [f"CAST(NULL AS {duckdb_type(c.type)}) AS {quote_ident(c.name)}" for c in table.columns]
    cols += _partition_select(table)
    return f"SELECT {', '.join(cols)} WHERE false"


def _qualified(database: str, table: Table) -> str:
    return f"{quote_ident(database)}.{quote_ident(table.name)}"


# ---------------------------------------------------------------------------------------------
# Parquet
# ---------------------------------------------------------------------------------------------


def parquet_files(root: str | os.PathLike[str], table: Table) -> list[Path]:
    """Every Parquet file of ``table`` under an output root (``<root>/investigations/curated``)."""
    base = Path(root) / CURATED_PREFIX / table.name
    depth = "/".join("*" for _ in table.partition_keys)
    return sorted(base.glob(f"{depth}/*.parquet"))


def parquet_view_select(root: str | os.PathLike[str], table: Table) -> str:
    files = parquet_files(root, table)
    if not files:
        return empty_view_select(table)
    hive_types = ", ".join(f"{quote_literal(k)}: 'VARCHAR'" for k in table.partition_keys)
    cols = [quote_ident(c.name) for c in table.columns] + [quote_ident(k) for k in table.partition_keys]
    return (
        f"SELECT {', '.join(cols)} FROM read_parquet({_path_list(files)}, "
        f"hive_partitioning = true, hive_types = {{{hive_types}}}, union_by_name = true)"
    )


def parquet_view_sql(database: str, root: str | os.PathLike[str], table: Table) -> str:
    return f"CREATE OR REPLACE VIEW {_qualified(database, table)} AS {parquet_view_select(root, table)}"


def create_parquet_views(con: object, database: str, root: str | os.PathLike[str]) -> None:
    """Create schema ``database`` with one view per curated table over ``root``'s Parquet."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(database)}")  # type: ignore[attr-defined]
    for table in TABLES.values():
        con.execute(parquet_view_sql(database, root, table))  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# Raw JSON
# ---------------------------------------------------------------------------------------------

# Epoch seconds from a JSON value read as text: a number stays a number, an ISO-8601 time is
# converted (microseconds / 1e6, the same arithmetic as the Python parser).
_TIME_EXPR = (
    "CASE WHEN {v} IS NULL THEN NULL "
    "WHEN regexp_matches({v}, '^-?[0-9.]+([eE][-+]?[0-9]+)?$') THEN CAST({v} AS DOUBLE) "
    "ELSE epoch_us(CAST({v} AS TIMESTAMPTZ)) / 1e6 END"
)


def _zeek_raw_column(column: Column) -> tuple[str | None, str]:
    """(read_json column type, select expression) of one Zeek column."""
    src = quote_ident(column.source)
    if column.source == "*":
        return None, f"CAST(NULL AS VARCHAR) AS {quote_ident(column.name)}"
    if column.is_time:
        if column.type == "double":
            return "VARCHAR", f"{_TIME_EXPR.format(v=src)} AS {quote_ident(column.name)}"
        inner = _TIME_EXPR.format(v="x")
        return "VARCHAR[]", f"list_transform({src}, lambda x: {inner}) AS {quote_ident(column.name)}"
    return duckdb_type(column.type), f"{src} AS {quote_ident(column.name)}"


# Suricata's DNS object as written by Suricata 7 (version 2) and 8 (version 3), and as nested in
# Suricata 7 alerts ({"query": [...]}): the raw superset read from JSON.
_RAW_DNS_RR = "STRUCT(rrname VARCHAR, rrtype VARCHAR, ttl BIGINT, rdata VARCHAR)"
_RAW_DNS_Q = "STRUCT(rrname VARCHAR, rrtype VARCHAR)"
_RAW_DNS_CORE = (
    "version BIGINT, type VARCHAR, id BIGINT, tx_id BIGINT, opcode BIGINT, rcode VARCHAR, flags VARCHAR, "
    "qr BOOLEAN, aa BOOLEAN, tc BOOLEAN, rd BOOLEAN, ra BOOLEAN, z BOOLEAN, rrname VARCHAR, "
    f"rrtype VARCHAR, ttl BIGINT, rdata VARCHAR, queries {_RAW_DNS_Q}[], answers {_RAW_DNS_RR}[], "
    f"authorities {_RAW_DNS_RR}[], additionals {_RAW_DNS_RR}[], grouped MAP(VARCHAR, VARCHAR[])"
)
_RAW_DNS = f"STRUCT({_RAW_DNS_CORE}, query STRUCT({_RAW_DNS_CORE})[])"


def _dns_normalised(d: str) -> str:
    """DuckDB expression: the parser's ``normalize_dns`` applied to the raw struct ``d``."""
    queries = (
        f"CASE WHEN {d}.queries IS NOT NULL THEN list_transform({d}.queries, lambda q: {{'rrname': q.rrname, 'rrtype': q.rrtype}}) "
        f"WHEN {d}.rrname IS NOT NULL OR {d}.rrtype IS NOT NULL THEN [{{'rrname': {d}.rrname, 'rrtype': {d}.rrtype}}] "
        f"ELSE CAST([] AS {_RAW_DNS_Q}[]) END"
    )
    answers = (
        f"CASE WHEN {d}.answers IS NOT NULL THEN {d}.answers "
        f"WHEN {d}.grouped IS NOT NULL THEN flatten(list_transform(map_entries({d}.grouped), "
        f"lambda e: list_transform(e.value, lambda v: {{'rrname': CAST(NULL AS VARCHAR), 'rrtype': e.key, "
        f"'ttl': CAST(NULL AS BIGINT), 'rdata': v}}))) "
        f"WHEN {d}.type = 'answer' AND {d}.rdata IS NOT NULL THEN "
        f"[{{'rrname': {d}.rrname, 'rrtype': {d}.rrtype, 'ttl': {d}.ttl, 'rdata': {d}.rdata}}] "
        f"ELSE CAST([] AS {_RAW_DNS_RR}[]) END"
    )
    dtype = (
        f"CASE {d}.type WHEN 'query' THEN 'request' WHEN 'answer' THEN 'response' ELSE {d}.type END"
    )
    fields = {
        "version": f"COALESCE({d}.version, 2)",
        "type": dtype,
        "id": f"{d}.id",
        "tx_id": f"{d}.tx_id",
        "opcode": f"{d}.opcode",
        "rcode": f"{d}.rcode",
        "flags": f"{d}.flags",
        "qr": f"{d}.qr",
        "aa": f"{d}.aa",
        "tc": f"{d}.tc",
        "rd": f"{d}.rd",
        "ra": f"{d}.ra",
        "z": f"{d}.z",
        "rrname": f"({queries})[1].rrname",
        "rrtype": f"({queries})[1].rrtype",
        "queries": queries,
        "answers": answers,
        "authorities": f"COALESCE({d}.authorities, CAST([] AS {_RAW_DNS_RR}[]))",
    }
    return "{" + ", ".join(f"{quote_literal(k)}: {v}" for k, v in fields.items()) + "}"


def _suricata_dns_expr(target: str) -> str:
    """Normalised DNS from the raw column; alerts' ``{"query": [...]}`` merged into one object
    (the parser's rule: the first query's fields, every query in ``queries``)."""
    first = "dns.query[1]"
    nested_fields = {
        "version": f"COALESCE({first}.version, 2)",
        "type": f"CASE {first}.type WHEN 'query' THEN 'request' WHEN 'answer' THEN 'response' ELSE {first}.type END",
        **{k: f"{first}.{k}" for k in ("id", "tx_id", "opcode", "rcode", "flags", "qr", "aa", "tc", "rd", "ra", "z")},
        "rrname": f"{first}.rrname",
        "rrtype": f"{first}.rrtype",
        "queries": "list_transform(dns.query, lambda q: {'rrname': q.rrname, 'rrtype': q.rrtype})",
        "answers": f"CAST([] AS {_RAW_DNS_RR}[])",
        "authorities": f"CAST([] AS {_RAW_DNS_RR}[])",
    }
    nested = "{" + ", ".join(f"{quote_literal(k)}: {v}" for k, v in nested_fields.items()) + "}"
    return (
        "CAST(CASE WHEN dns IS NULL THEN NULL "
        f"WHEN dns.query IS NOT NULL AND dns.type IS NULL THEN {nested} "
        f"ELSE {_dns_normalised('dns')} END AS {target}) AS dns"
    )


def _suricata_raw_columns(table: Table) -> tuple[dict[str, str], list[str]]:
    read: dict[str, str] = {"event_type": "VARCHAR"}
    select: list[str] = []
    for column in table.columns:
        name = quote_ident(column.name)
        if column.name == "ts":
            # flow records: their timestamp is when the flow was logged; ts is the flow's start
            select.append(
                "epoch_us(CAST(CASE WHEN event_type = 'flow' AND flow.start IS NOT NULL THEN flow.start "
                'ELSE "timestamp" END AS TIMESTAMPTZ)) / 1e6 AS ts'
            )
        elif column.name == "extra":
            select.append(f"CAST(NULL AS VARCHAR) AS {name}")
        elif column.name == "dns":
            read["dns"] = _RAW_DNS
            select.append(_suricata_dns_expr(duckdb_type(column.type)))
        else:
            read[column.source] = duckdb_type(column.type)
            select.append(f"{quote_ident(column.source)} AS {name}")
    read.setdefault("timestamp", "VARCHAR")
    return read, select


def _columns_param(read: dict[str, str]) -> str:
    return "{" + ", ".join(f"{quote_literal(k)}: {quote_literal(v)}" for k, v in read.items()) + "}"


def raw_json_view_select(table: Table, files: Sequence[str | os.PathLike[str]], investigation_id: str) -> str:
    """A SELECT over raw JSON log files with exactly the curated table's columns."""
    check_investigation_id(investigation_id)
    if not files:
        return empty_view_select(table)
    if table.kind == "suricata":
        read, select = _suricata_raw_columns(table)
        listed = ", ".join(quote_literal(t) for t in SURICATA_EVENT_TYPES if t != EVENT_TYPE_OTHER)
        partitions = [
            f"{quote_literal(investigation_id)} AS investigation_id",
            f"CASE WHEN event_type IN ({listed}) THEN event_type ELSE {quote_literal(EVENT_TYPE_OTHER)} END AS event_type",
        ]
    else:
        read, select = {}, []
        for column in table.columns:
            typ, expr = _zeek_raw_column(column)
            if typ is not None:
                read[column.source] = typ
            select.append(expr)
        partitions = [f"{quote_literal(investigation_id)} AS investigation_id"]
    source = (
        f"read_json({_path_list(files)}, format = 'newline_delimited', "
        f"columns = {_columns_param(read)}, maximum_object_size = 67108864)"
    )
    return f"SELECT {', '.join(select + partitions)} FROM {source}"


def create_raw_json_views(
    con: object,
    database: str,
    files_by_table: dict[str, Iterable[str | os.PathLike[str]]],
    investigation_id: str,
) -> None:
    """Views over raw JSON logs (``{table name: [files]}``); tables without files are empty."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(database)}")  # type: ignore[attr-defined]
    for table in TABLES.values():
        files = list(files_by_table.get(table.name, ()))
        select = raw_json_view_select(table, files, investigation_id)
        con.execute(f"CREATE OR REPLACE VIEW {_qualified(database, table)} AS {select}")  # type: ignore[attr-defined]


def view_columns(table: Table) -> list[tuple[str, str]]:
    """(name, DuckDB type) of a view: the table's columns then its partition keys."""
    cols = [(c.name, duckdb_type(parse_type(c.type))) for c in table.columns]
    return cols + [(k, "VARCHAR") for k in table.partition_keys]
