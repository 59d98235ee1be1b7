"""The pack on real, externally produced logs, checked against their known answers
(../shared/data/PROVENANCE.md)."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from tests.conftest import shared
from tests.lake.helpers import build_lake


def test_brimdata_curated_row_counts(brim_json):
    # Given the real Zeek JSON logs, when curated, then every row is kept
    rows = brim_json.result.rows
    assert rows["zeek_dns"] == 53_615
    assert rows["zeek_ssl"] == 49_474
    assert rows["zeek_weird"] == 24_202
    assert rows["zeek_x509"] == 348
    assert rows["zeek_notice"] == 207
    assert rows["zeek_ssh"] == 22


def test_brimdata_first_dns_row_survives_curation(brim_json):
    con = brim_json.parquet_con()
    uid, query, answers, ts, orig_h = con.execute(
        "SELECT uid, query, answers, ts, id_orig_h FROM forensics.zeek_dns LIMIT 1"
    ).fetchone()
    assert (uid, query, answers) == ("CqKst53mF3det3eDV9", "ise.wrccdc.org", ["ise.wrccdc.cpp.edu", "134.71.3.16"])
    assert ts == pytest.approx(1521911720.865716, abs=1e-6)  # ISO 2018-03-24T17:15:20.865716Z as epoch
    assert orig_h == "10.47.1.100"


def test_top_dns_query(brim_json):
    top = brim_json.records("dns_top_queries")[0]
    assert (top["query"], top["lookups"]) == ("ise.wrccdc.org", 22_160)


def test_notices_are_all_invalid_server_cert(brim_json):
    notices = [r for r in brim_json.records("notice_weird_summary") if r["log"] == "notice"]
    assert [(r["name"], r["events"]) for r in notices] == [("SSL::Invalid_Server_Cert", 207)]


def test_top_weird_names(brim_json):
    weirds = [r for r in brim_json.records("notice_weird_summary") if r["log"] == "weird"]
    assert [(r["name"], r["events"]) for r in weirds[:2]] == [
        ("bad_HTTP_request", 11_821),
        ("line_terminated_with_single_CR", 11_738),
    ]


def test_tsv_shape_gives_the_same_answers_as_json(brim_json, tmp_path):
    # Given the same capture logged as Zeek TSV, when curated and queried, the answers are the same
    tsv = build_lake(
        shared("zeek", "brimdata-zed-sample-data", "zeek-default"), tmp_path, "brim-json",
        log_types={"dns", "notice", "weird"},
    )
    assert tsv.result.rows == {"zeek_dns": 53_615, "zeek_notice": 207, "zeek_weird": 24_202}
    for name in ("dns_top_queries", "notice_weird_summary", "nxdomain_bursts"):
        assert tsv.pack()[name] == brim_json.pack()[name], name


def test_suricata_bug28_alert_summary(suri_bug28):
    rows = suri_bug28.records("suricata_alert_summary")
    malware = [r for r in rows if r["signature"].startswith("ET MALWARE")]
    assert sum(r["alerts"] for r in malware) == 4
    assert sum(r["alerts"] for r in rows) == 4
    assert {r["category"] for r in malware} == {"A Network Trojan was detected"}
    assert {(r["example_sources"][0], r["example_destinations"][0]) for r in malware} == {
        ("192.168.2.7", "208.75.250.50")
    }


def test_suricata_event_types_match_the_summary(suri_all):
    # Given every EVE file of suri-out, the curated event_type partitions hold SUMMARY.tsv's counts
    expected: Counter[str] = Counter()
    with shared("suri-out", "SUMMARY.tsv").open() as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            for item in row["event_type_counts"].split():
                event_type, count = item.split("=")
                expected[event_type] += int(count)
    con = suri_all.parquet_con()
    got = dict(con.execute("SELECT event_type, count(*) FROM forensics.suricata_eve GROUP BY 1").fetchall())
    assert got == dict(expected)


def test_suricata_dns_v2_is_normalised(suri_all):
    con = suri_all.parquet_con()
    kinds = dict(con.execute(
        "SELECT dns.type, count(*) FROM forensics.suricata_eve WHERE event_type = 'dns' GROUP BY 1"
    ).fetchall())
    assert set(kinds) == {"request", "response"}
    rrname, queries = con.execute(
        "SELECT dns.rrname, dns.queries FROM forensics.suricata_eve "
        "WHERE event_type = 'dns' AND dns.rrname = 'client-cf.dropbox.com' AND dns.type = 'response'"
    ).fetchone()
    assert queries == [{"rrname": "client-cf.dropbox.com", "rrtype": "A"}]


def test_suricata_only_capture_uses_the_fallbacks(suri_all):
    # No Zeek logs: connection and DNS queries answer from Suricata flow/DNS events
    assert suri_all.records("top_talkers")
    top = suri_all.records("dns_top_queries")
    assert top and all(r["lookups"] >= 1 for r in top)
    talkers = {(r["src"], r["dst"]) for r in suri_all.records("top_talkers")}
    assert ("192.168.2.7", "208.75.250.50") in talkers
    # the mirroring tunnel (VXLAN, UDP 4789) is not a talker
    assert not any(4789 in (r["dst_ports"] or []) for r in suri_all.records("top_talkers"))
