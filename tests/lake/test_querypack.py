"""The query pack's files, their rendering, and Athena's rules for them."""

from __future__ import annotations

import pytest
from sqlglot import exp

from tapcase import athena_sql
from tapcase_contract import coverage_logs, flow_logs
from tapcase_sensor.lake.schema import TABLES, query_schema
from tapcase_workflow.querypack import (
    QueryPackError,
    finding_parameters,
    load_pack,
    render,
    render_pack,
    skipped_queries,
)

ALL = {
    "database": "tapcase_forensics",
    "investigation_id": "gd-abc123",
    "parameters": {
        "finding_remote_ips": ["198.51.100.7", "2001:db8::1"],
        "finding_domains": ["Evil.Example.COM.", "xn--80ak6aa92e.com"],
        "finding_ports": [22, "443"],
        "suspect_ips": ["10.0.0.5"],
        "suspect_enis": ["eni-0123456789abcdef0"],
        "flow_log_window": [1717419360, 1717422960],
        "coverage_window": [1717419360, 1717422960],
    },
}
PACK = load_pack()
#: Tables outside the curated lake: the VPC's flow logs (partitioned by account, region and day).
EXTERNAL = {flow_logs.TABLE: dict(flow_logs.COLUMNS) | dict.fromkeys(flow_logs.PARTITION_KEYS, "string"),
            # and coverage mode's rolling logs (partitioned by day)
            coverage_logs.TABLE: dict(coverage_logs.COLUMNS) | {"day": "string"}}
SCOPE = {  # issue 4, scope item 4
    "top_talkers", "long_connections", "beaconing", "rare_domains", "dns_tunneling", "dns_label_entropy",
    "nxdomain_bursts", "tls_certificate_issues", "rare_ja3_sni", "rare_user_agents", "http_raw_ip_and_uploads",
    "outbound_volume", "executables_in_files", "suricata_alert_summary", "alerts_with_conn",
    "notice_weird_summary", "finding_remote_ip", "finding_domain", "finding_port", "suspect_host_peers",
}


def test_pack_covers_the_scope():
    assert SCOPE <= {q.name for q in PACK}


@pytest.mark.parametrize("query", PACK, ids=lambda q: q.name)
def test_header(query):
    assert query.title and len(query.description) > 40
    assert query.template.startswith(f"-- name: {query.name}\n")
    assert set(query.tables) <= set(TABLES) | set(EXTERNAL)


def _rendered():
    return {q.name: q for q in render_pack(**ALL)}


@pytest.mark.parametrize("query", PACK, ids=lambda q: q.name)
def test_every_table_reference_names_the_investigation(query):
    # Athena's injected projection: each reference needs investigation_id = '<literal>'
    rendered = _rendered()[query.name]
    tree = athena_sql.parse(rendered.sql)
    if set(query.tables) <= set(EXTERNAL):
        # not evidence of an investigation: pinned to the days its window needs (day projection)
        assert "f.day IN ('2024/06/03')" in rendered.sql or "e.day IN ('2024-06-03')" in rendered.sql
        return
    injected = {("tapcase_forensics", t): ["investigation_id"] for t in TABLES}
    pinned = athena_sql.partition_predicates(tree, injected, "tapcase_forensics")
    assert {t for _, t in pinned} == set(query.tables), "header '-- tables:' differs from the tables read"
    for columns in pinned.values():
        values = {v.name for v in columns["investigation_id"]}
        assert values == {"gd-abc123"}
    refs = list(athena_sql.table_references(tree, "tapcase_forensics"))
    assert refs and all(r.table[0] == "tapcase_forensics" for r in refs)


@pytest.mark.parametrize("query", PACK, ids=lambda q: q.name)
def test_transpiles_for_duckdb(query):
    sql = _rendered()[query.name].sql
    duck = athena_sql.to_duckdb(sql, {"tapcase_forensics": query_schema() | EXTERNAL})
    assert "{{" not in sql and duck


def test_rendering_inlines_checked_values():
    rendered = _rendered()
    remote = rendered["finding_remote_ip"].sql
    assert "IN ('198.51.100.7', '2001:db8::1')" in remote
    domain = rendered["finding_domain"].sql
    assert r"'(^|\.)(evil\.example\.com|xn--80ak6aa92e\.com)$'" in domain
    assert "IN (22, 443)" in rendered["finding_port"].sql
    assert "'gd-abc123'" in rendered["top_talkers"].sql
    assert "FROM tapcase_forensics.zeek_conn c" in rendered["top_talkers"].sql


@pytest.mark.parametrize(
    "kwargs",
    [
        {"investigation_id": "x' OR '1'='1"},
        {"investigation_id": "UPPER-case"},
        {"investigation_id": "ab"},
        {"database": "db; DROP TABLE x"},
        {"database": "Forensics"},
        {"parameters": {"finding_remote_ips": ["1.2.3.4' OR '1'='1"]}},
        {"parameters": {"finding_remote_ips": ["999.1.1.1"]}},
        {"parameters": {"finding_domains": ["evil.com'); --"]}},
        {"parameters": {"finding_domains": ["a..b"]}},
        {"parameters": {"finding_ports": [70000]}},
        {"parameters": {"finding_ports": ["22 OR 1=1"]}},
        {"parameters": {"unknown": ["x"]}},
        {"parameters": {"suspect_enis": ["eni-1' OR '1'='1"]}},
        {"parameters": {"flow_log_window": [1717419360]}},
        {"parameters": {"flow_log_window": ["1717419360 OR 1=1", 1717422960]}},
    ],
)
def test_rendering_refuses_bad_values(kwargs):
    args = {**ALL, **kwargs}
    with pytest.raises(QueryPackError):
        render_pack(**args)


def test_finding_queries_are_skipped_without_their_values():
    names = {q.name for q in render_pack(database="db", investigation_id="inv-1")}
    assert {"finding_remote_ip", "finding_domain", "finding_port", "suspect_host_peers"}.isdisjoint(names)
    assert skipped_queries() == {
        "finding_domain": ["finding_domains"],
        "finding_port": ["finding_ports"],
        "finding_remote_ip": ["finding_remote_ips"],
        "suspect_host_peers": ["suspect_ips"],
        "flow_log_peers": ["suspect_ips", "suspect_enis", "flow_log_window"],
        "coverage_before": ["suspect_ips", "coverage_window"],
    }
    only_ip = render_pack(database="db", investigation_id="inv-1", parameters={"finding_remote_ips": "1.2.3.4"})
    assert "finding_remote_ip" in {q.name for q in only_ip}
    assert render(PACK[0], database="db", investigation_id="inv-1") is not None


def test_finding_parameters_from_a_finding_context():
    finding = {"remote_ips": ["198.51.100.7"], "domains": ["c2.guarddutyc2activityb.com"],
               "remote_ports": [443], "local_ports": [22, 443]}
    params = finding_parameters(finding, suspect_ips=["10.0.0.5", "10.0.0.5"])
    assert params == {
        "suspect_ips": ["10.0.0.5"],
        "finding_remote_ips": ["198.51.100.7"],
        "finding_domains": ["c2.guarddutyc2activityb.com"],
        "finding_ports": [22, 443],
    }
    assert finding_parameters(None) == {}


def test_authoring_rules():
    # Rules that keep Athena and the local engine in step (../shared/notes/athena-and-logs.md)
    schema = {"tapcase_forensics": query_schema()}
    for rendered in render_pack(**ALL):
        tree = athena_sql.parse(rendered.sql)
        names = {f.name.lower() for f in tree.find_all(exp.Anonymous)}
        assert not names & {"format_datetime", "parse_datetime", "url_extract_host", "approx_percentile",
                            "approx_distinct", "arbitrary"}, rendered.name
        assert not list(tree.find_all(exp.DateDiff)), rendered.name
        assert tree.args.get("order") is not None, f"{rendered.name}: no ORDER BY"
        typed = athena_sql.to_duckdb_expression(rendered.sql, schema)
        for div in typed.find_all(exp.Div):
            # an integer divided by an integer truncates on Athena: cast one side to double
            both_int = all(side.type is not None and side.type.is_type(*exp.DataType.INTEGER_TYPES)
                           for side in (div.left, div.right))
            assert not both_int, f"{rendered.name}: integer division {div.sql()}"


def test_flow_log_query_runs_only_with_a_flow_log_window():
    """Flow logs off (no FlowLogsBucket): no window, the query is skipped saying what it lacks."""
    params = finding_parameters(None, ["10.0.0.5"], suspect_enis=["eni-0123456789abcdef0"])
    names = {q.name for q in render_pack(database="db", investigation_id="inv-1", parameters=params)}
    assert "flow_log_peers" not in names
    assert skipped_queries(params)["flow_log_peers"] == ["flow_log_window"]
    on = finding_parameters(None, ["10.0.0.5"], suspect_enis=["eni-0123456789abcdef0"],
                            flow_log_window=(1717542000, 1717545600))  # 23:00 to midnight UTC
    sql = next(q.sql for q in render_pack(database="db", investigation_id="inv-1", parameters=on)
               if q.name == "flow_log_peers")
    assert "f.day IN ('2024/06/04', '2024/06/05')" in sql
    assert 'f."end" >= 1717542000' in sql and "f.start < 1717545600" in sql
