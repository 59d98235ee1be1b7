"""Planted patterns (tests/lake/synth.py) come out where an analyst looks for them."""

from __future__ import annotations

import pytest

from tests.lake.synth import PLANTED as P

FINDING = {
    "finding_remote_ips": [P.c2],
    "finding_domains": [P.tunnel_domain],
    "finding_ports": [22],
    "suspect_ips": [P.suspect],
}


def test_every_query_returns_rows_on_the_planted_capture(planted):
    results = planted.pack(parameters=FINDING)
    empty = [name for name, result in results.items() if not result["rows"]]
    assert empty == []
    assert len(results) >= 21


def test_60s_beacon_ranks_first(planted):
    rows = planted.records("beaconing")
    assert len(rows) >= 5  # busy, irregular pairs are scored too
    top = rows[0]
    assert (top["src"], top["dst"]) == (P.suspect, P.c2)
    assert top["median_interval"] == pytest.approx(60, abs=1)
    assert top["score"] >= 0.85
    assert top["score"] - rows[1]["score"] >= 0.1


def test_dga_burst_is_flagged_by_entropy_and_nxdomain(planted):
    entropy = planted.records("dns_label_entropy")
    assert entropy[0]["client"] == P.dga_client
    assert entropy[0]["high_entropy_names"] >= 20
    assert entropy[0]["high_entropy_nxdomain"] >= 18
    assert entropy[0]["base_domains"] == entropy[0]["high_entropy_names"]  # one name per domain: DGA
    bursts = planted.records("nxdomain_bursts")
    assert (bursts[0]["client"], bursts[0]["nxdomain"]) == (P.dga_client, 36)


def test_dns_tunnel(planted):
    top = planted.records("dns_tunneling")[0]
    assert (top["client"], top["base_domain"], top["names"], top["txt"]) == (P.tunnel_client, P.tunnel_domain, 60, 60)
    assert top["longest_label"] == 50


def test_long_connection_and_exfiltration(planted):
    long = planted.records("long_connections")
    assert [(r["src"], r["dst"], r["dst_port"]) for r in long] == [(P.long_src, P.long_dst, 22)]
    out = planted.records("outbound_volume")[0]
    assert (out["src"], out["dst"]) == (P.exfil_src, P.exfil_dst)
    assert out["bytes_out"] == 505_000_300


def test_http_raw_ip_upload_user_agent_and_executable(planted):
    issues = {(r["server"], r["issues"]) for r in planted.records("http_raw_ip_and_uploads")}
    assert issues == {(P.c2, "raw_ip_host"), (P.exfil_dst, "large_upload")}
    agents = planted.records("rare_user_agents")
    assert [(r["user_agent"], r["clients"]) for r in agents] == [(P.rare_ua, 1)]
    files = planted.records("executables_in_files")
    assert [(f["filename"], f["sha256"], f["sender"], f["receiver"]) for f in files] == [
        ("update.exe", P.exe_sha256, P.c2, P.suspect)
    ]


def test_tls_issues_and_rare_ja3(planted):
    tls = planted.records("tls_certificate_issues")
    assert [(r["server"], r["issues"], r["sessions"]) for r in tls] == [
        (P.c2, "no_sni,self_signed,invalid_certificate", 60)
    ]
    ja3 = planted.records("rare_ja3_sni")
    assert [(r["ja3"], r["clients"]) for r in ja3] == [(P.rare_ja3, 1)]


def test_alerts_summary_and_join_on_community_id(planted):
    summary = planted.records("suricata_alert_summary")
    assert [(r["signature"], r["alerts"]) for r in summary] == [(P.alert_signature, 5)]
    joined = planted.records("alerts_with_conn")
    assert len(joined) == 5
    assert all(r["service"] == "ssl" and r["uid"].startswith("C") for r in joined)
    assert all(abs(r["alert_ts"] - r["conn_ts"]) < 1 for r in joined)


def test_finding_keyed_queries(planted):
    remote = planted.records("finding_remote_ip", parameters=FINDING)
    assert {r["source"] for r in remote} == {"conn", "http", "tls", "alert"}
    domain = planted.records("finding_domain", parameters=FINDING)
    assert len(domain) == 60 and {r["source"] for r in domain} == {"dns"}
    port = planted.records("finding_port", parameters=FINDING)
    assert [(r["src"], r["dst"], r["port"]) for r in port] == [(P.long_src, P.long_dst, 22)]
    peers = planted.records("suspect_host_peers", parameters=FINDING)
    assert (peers[0]["peer"], peers[0]["direction"], peers[0]["connections"]) == (P.c2, "outbound", 61)


def test_finding_queries_are_skipped_without_values(planted):
    assert not {"finding_remote_ip", "finding_domain", "finding_port", "suspect_host_peers"} & set(planted.pack())
