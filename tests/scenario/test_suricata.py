"""Real Suricata (stock config: VXLAN on 4789 decapsulated, ``-k none``) sees each story's events."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime

import pytest

from tapcase.scenario import names
from tapcase.scenario.model import BENIGN_SITES

ALL = names()


def events(eve, kind: str) -> list[dict]:
    return [e for e in eve if e["event_type"] == kind]


def stats(eve) -> dict:
    return events(eve, "stats")[-1]["stats"]


def ts(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


@pytest.mark.parametrize("name", ALL)
def test_decoded_cleanly(name, generated, eve):
    info, log = generated[name], eve[name]
    s = stats(log)
    assert s["decoder"]["pkts"] == info.packets
    assert s["decoder"]["vxlan"] == info.packets  # every packet went through the VXLAN decoder
    assert events(log, "anomaly") == []  # no decoder, stream or app-layer anomaly
    assert s["tcp"].get("reassembly_gap", 0) == 0
    for flow in events(log, "flow"):
        tcp = flow.get("tcp") or {}
        assert not tcp.get("ts_gap") and not tcp.get("tc_gap"), flow
    inner = [e for e in events(log, "dns")]
    assert inner and all(e["pkt_src"] == "vxlan encapsulation" for e in inner)
    assert all(info.suspect_ip in (e["src_ip"], e["dest_ip"]) for e in inner)


@pytest.mark.parametrize("name", ALL)
def test_background_is_visible(name, eve):
    log = eve[name]
    rrnames = {e["dns"]["rrname"] for e in events(log, "dns")}
    snis = {e["tls"].get("sni") for e in events(log, "tls")}
    benign = {site.name for site in BENIGN_SITES}
    assert len(rrnames & benign) >= 3
    assert len(snis & benign) >= 3
    # TLS 1.2 sessions show their certificate, TLS 1.3 ones only the SNI
    versions = Counter(e["tls"]["version"] for e in events(log, "tls"))
    assert versions["TLS 1.2"] > 0
    assert any("subject" in e["tls"] and "issuerdn" in e["tls"] for e in events(log, "tls"))


def test_c2_dns(generated, eve):
    e = generated["c2-dns"].expected
    log = eve["c2-dns"]
    dns = events(log, "dns")
    queries = [d for d in dns if d["dns"]["type"] == "query"]
    answers = [d for d in dns if d["dns"]["type"] == "answer"]
    c2_queries = [q for q in queries if q["dns"]["rrname"] == e.c2_domain]
    assert len(c2_queries) == e.c2_query_count > 0
    c2_rdata = {a["rdata"] for d in answers if d["dns"]["rrname"] == e.c2_domain for a in d["dns"].get("answers", [])}
    assert c2_rdata == {e.c2_ip}
    txt = [q for q in queries if q["dns"]["rrtype"] == "TXT" and q["dns"]["rrname"].endswith("." + e.c2_domain)]
    assert len(txt) == e.txt_query_count > 0
    nx = [d for d in answers if d["dns"]["rcode"] == "NXDOMAIN"]
    assert len(nx) == e.nxdomain_count > 0
    assert {d["dns"]["rrname"] for d in nx} < set(e.dga_domains)
    assert e.dga_resolved_domain in {t["tls"].get("sni") for t in events(log, "tls")}


def test_beaconing(generated, eve):
    e = generated["beaconing"].expected
    log = eve["beaconing"]
    beacons = [h for h in events(log, "http") if h["http"].get("hostname") == e.beacon_host]
    assert len(beacons) == e.beacon_count
    assert {h["dest_ip"] for h in beacons} == {e.beacon_peer_ip}
    assert {h["http"]["http_user_agent"] for h in beacons} == {e.beacon_user_agent}
    assert {h["http"]["url"] for h in beacons} == {e.beacon_uri}
    assert {h["http"]["status"] for h in beacons} == {200}
    flows = sorted(
        ts(f["flow"]["start"]) for f in events(log, "flow") if f.get("dest_ip") == e.beacon_peer_ip
    )
    assert len(flows) == e.beacon_count
    gaps = [b - a for a, b in zip(flows, flows[1:], strict=False)]
    assert abs(statistics.mean(gaps) - e.beacon_interval_seconds) < 1.0
    assert max(abs(g - e.beacon_interval_seconds) for g in gaps) <= 2 * e.beacon_jitter_seconds
    # benign HTTP to rank against
    assert any(h["http"].get("hostname") == "security.ubuntu.com" for h in events(log, "http"))


def test_ssh_bruteforce(generated, eve):
    e = generated["ssh-bruteforce"].expected
    log = eve["ssh-bruteforce"]
    ssh = events(log, "ssh")
    attacks = [s for s in ssh if s["src_ip"] == e.bruteforce_source_ip]
    assert len(attacks) == e.bruteforce_sessions
    assert {s["dest_port"] for s in attacks} == {22}
    client = e.bruteforce_client_banner.split("-", 2)[2]
    server = e.ssh_server_banner.split("-", 2)[2].split(" ")[0]
    assert {s["ssh"]["client"]["software_version"] for s in attacks} == {client}
    assert {s["ssh"]["server"]["software_version"] for s in ssh} == {server}
    others = [s for s in ssh if s["src_ip"] != e.bruteforce_source_ip]
    assert len(others) == 1  # the administrator from the bastion
    attack_flows = [f for f in events(log, "flow") if f.get("src_ip") == e.bruteforce_source_ip]
    assert len(attack_flows) == e.bruteforce_sessions
    assert all(f["app_proto"] == "ssh" for f in attack_flows)


def test_exfiltration(generated, eve):
    e = generated["exfiltration"].expected
    log = eve["exfiltration"]
    tls = [t for t in events(log, "tls") if t["tls"].get("sni") == e.exfil_sni]
    assert len(tls) == 1
    assert tls[0]["dest_ip"] == e.exfil_peer_ip and tls[0]["dest_port"] == e.exfil_port
    assert tls[0]["tls"]["subject"] == tls[0]["tls"]["issuerdn"]  # self-signed
    flows = [f for f in events(log, "flow") if f.get("proto") == "TCP"]
    biggest = max(flows, key=lambda f: f["flow"]["bytes_toserver"])
    assert biggest["dest_ip"] == e.exfil_peer_ip and biggest["app_proto"] == "tls"
    sent = biggest["flow"]["bytes_toserver"]
    assert e.exfil_bytes <= sent <= e.exfil_bytes * 1.1
    assert biggest["flow"]["bytes_toclient"] < sent / 20


@pytest.fixture(scope="module")
def plain_eve(plain, tmp_path_factory):
    from tests.scenario.conftest import run_suricata

    directory = tmp_path_factory.mktemp("suricata-plain")
    return {name: run_suricata(info.pcap, directory / name) for name, info in plain.items()}


@pytest.mark.parametrize("name", ALL)
def test_plain_form_decoded_cleanly(name, plain, plain_eve):
    """The plain capture (the suspect's subnet: no VXLAN) is as clean for Suricata as the VXLAN form."""
    info, log = plain[name], plain_eve[name]
    s = stats(log)
    assert s["decoder"]["pkts"] == info.packets and s["decoder"]["vxlan"] == 0
    assert s["decoder"]["arp"] > 0
    assert events(log, "anomaly") == []
    assert s["tcp"].get("reassembly_gap", 0) == 0
    talkers = {e["src_ip"] for e in events(log, "flow")}
    assert {info.suspect_ip, *info.neighbour_ips} <= talkers
