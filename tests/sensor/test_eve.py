"""Suricata EVE reader: the shared Suricata 7.0.10 outputs, and the Suricata 8 DNS (v3) shape."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tapcase_sensor.errors import LogParseError
from tapcase_sensor.logs import normalize_dns, normalize_eve, read_eve, sniff_format

from .conftest import SURI_OUT

RUNS = sorted(p.name for p in SURI_OUT.iterdir() if (p / "eve.json").is_file())


def _summary() -> dict[str, dict[str, int]]:
    out = {}
    for line in (SURI_OUT / "SUMMARY.tsv").read_text().splitlines()[1:]:
        name, counts = line.split("\t", 1)
        out[name] = {k: int(v) for k, v in (item.split("=") for item in counts.split())}
    return out


@pytest.mark.parametrize("run", RUNS)
def test_every_shared_eve_file_reads_with_summary_counts(run: str) -> None:
    events = list(read_eve(SURI_OUT / run / "eve.json"))
    assert Counter(e.event_type for e in events) == _summary()[run]
    for e in events:
        assert isinstance(e.ts, float) and e.data["ts"] == e.ts
        assert e.raw["event_type"] == e.event_type and "ts" not in e.raw  # raw kept as written
    assert sniff_format(SURI_OUT / run / "eve.json") == "eve"


def test_v7_dns_is_normalised() -> None:
    events = [e for e in read_eve(SURI_OUT / "suricata-verify_vxlan-decoder-03_vxlan" / "eve.json") if e.event_type == "dns"]
    requests = [e.data["dns"] for e in events if e.data["dns"]["type"] == "request"]
    responses = [e.data["dns"] for e in events if e.data["dns"]["type"] == "response"]
    assert len(requests) == len(responses) == 8
    names = Counter(d["queries"][0]["rrname"] for d in requests)
    assert names["ec2-18-196-145-224.eu-central-1.compute.amazonaws.com"] == 4
    ptr = next(d for d in responses if d["rrtype"] == "PTR")
    assert ptr["rrname"] == "224.145.196.18.in-addr.arpa"
    assert ptr["answers"] == [
        {
            "rrname": "224.145.196.18.in-addr.arpa",
            "rrtype": "PTR",
            "ttl": 280,
            "rdata": "ec2-18-196-145-224.eu-central-1.compute.amazonaws.com",
        }
    ]
    assert all(e.raw["dns"]["type"] in ("query", "answer") for e in events)  # the raw v2 record is untouched


def test_v7_multi_answer_response() -> None:
    eve = SURI_OUT / "suricata-verify_dns_dns-udp-eve-log-answer-only_dns-udp-google.com-a-aaaa-mx" / "eve.json"
    answers = [e for e in read_eve(eve) if e.event_type == "dns" and e.raw["dns"]["type"] == "answer"]
    mx = next(e.data["dns"] for e in answers if e.raw["dns"]["rrtype"] == "MX")
    assert mx["version"] == 2 and mx["rcode"] == "NOERROR"
    assert [a["rdata"] for a in mx["answers"]][:2] == ["aspmx.l.google.com", "alt1.aspmx.l.google.com"]
    assert mx["queries"] == [{"rrname": "google.com", "rrtype": "MX"}]


# Suricata 8 (DNS logging version 3), as documented in the Suricata user guide
# (doc/userguide/upgrade/8.0-dns-logging-changes.rst), next to the 7.0 records it replaces.
V8_REQUEST = {
    "timestamp": "2025-07-08T10:00:00.000000+0000", "event_type": "dns", "src_ip": "10.0.0.5", "src_port": 40000,
    "dest_ip": "10.0.0.2", "dest_port": 53, "proto": "UDP",
    "dns": {"version": 3, "type": "request", "tx_id": 0, "id": 0, "flags": "100", "rd": True, "opcode": 0,
            "rcode": "NOERROR", "queries": [{"rrname": "www.suricata.io", "rrtype": "A"}]},
}  # fmt: skip
V8_RESPONSE = {
    "timestamp": "2025-07-08T10:00:00.010000+0000", "event_type": "dns", "src_ip": "10.0.0.2", "src_port": 53,
    "dest_ip": "10.0.0.5", "dest_port": 40000, "proto": "UDP",
    "dns": {"version": 3, "type": "response", "tx_id": 1, "id": 0, "flags": "8180", "qr": True, "rd": True,
            "ra": True, "opcode": 0, "rcode": "NOERROR",
            "queries": [{"rrname": "www.suricata.io", "rrtype": "A"}],
            "answers": [{"rrname": "www.suricata.io", "rrtype": "CNAME", "ttl": 3597, "rdata": "suricata.io"},
                        {"rrname": "suricata.io", "rrtype": "A", "ttl": 597, "rdata": "35.212.0.44"}]},
}  # fmt: skip
V7_QUERY = {"type": "query", "id": 0, "rrname": "www.suricata.io", "rrtype": "A", "tx_id": 0, "opcode": 0}
V7_ANSWER = {
    "version": 2, "type": "answer", "id": 0, "flags": "8180", "qr": True, "rd": True, "ra": True, "opcode": 0,
    "rrname": "www.suricata.io", "rrtype": "A", "rcode": "NOERROR",
    "answers": [{"rrname": "www.suricata.io", "rrtype": "CNAME", "ttl": 3597, "rdata": "suricata.io"},
                {"rrname": "suricata.io", "rrtype": "A", "ttl": 597, "rdata": "35.212.0.44"}],
}  # fmt: skip

_SHAPE = ("type", "queries", "answers", "rrname", "rrtype")


def test_v8_and_v7_dns_normalise_to_the_same_shape() -> None:
    req8, resp8 = normalize_dns(V8_REQUEST["dns"]), normalize_dns(V8_RESPONSE["dns"])
    req7, resp7 = normalize_dns(V7_QUERY), normalize_dns(V7_ANSWER)
    assert {k: req8[k] for k in _SHAPE} == {k: req7[k] for k in _SHAPE} == {
        "type": "request", "queries": [{"rrname": "www.suricata.io", "rrtype": "A"}], "answers": [],
        "rrname": "www.suricata.io", "rrtype": "A",
    }  # fmt: skip
    assert {k: resp8[k] for k in _SHAPE} == {k: resp7[k] for k in _SHAPE}
    assert resp8["answers"][1]["rdata"] == "35.212.0.44" and resp8["rcode"] == "NOERROR"
    assert (req8["version"], req7["version"]) == (3, 2)


def test_alert_dns_v7_and_v8_normalise_alike() -> None:
    alert7_request = {"query": [dict(V7_QUERY)]}
    alert7_response = {"answer": {k: v for k, v in V7_ANSWER.items() if k != "answers"}}
    alert8_request = V8_REQUEST["dns"]
    assert normalize_dns(alert7_request)["queries"] == normalize_dns(alert8_request)["queries"]
    assert normalize_dns(alert7_request)["type"] == "request"
    assert normalize_dns(alert7_response)["type"] == "response"
    assert normalize_dns(alert7_response)["rrname"] == "www.suricata.io"


def test_v8_records_read_from_a_file(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    eve.write_text("\n".join(json.dumps(r) for r in (V8_REQUEST, V8_RESPONSE)) + "\n")
    events = list(read_eve(eve))
    assert [e.data["dns"]["type"] for e in events] == ["request", "response"]
    assert events[1].ts == pytest.approx(events[0].ts + 0.01)
    assert events[0].raw == V8_REQUEST


def test_grouped_only_and_v1_answers() -> None:
    grouped_only = {
        "version": 2, "type": "answer", "rrname": "a.example", "rrtype": "A", "grouped": {"A": ["192.0.2.1", "192.0.2.2"]},
    }  # fmt: skip
    grouped = normalize_dns(grouped_only)
    assert [a["rdata"] for a in grouped["answers"]] == ["192.0.2.1", "192.0.2.2"]
    v1 = normalize_dns({"type": "answer", "id": 1, "rrname": "a.example", "rrtype": "A", "ttl": 60, "rdata": "192.0.2.1"})
    assert v1["answers"] == [{"rrname": "a.example", "rrtype": "A", "ttl": 60, "rdata": "192.0.2.1"}]


def test_alerts_keep_tunnel_and_get_ts() -> None:
    alerts = [e for e in read_eve(SURI_OUT / "rules_vxlan-decoder-02" / "eve.json") if e.event_type == "alert"]
    assert len(alerts) == 4 and all(a.data["tunnel"]["dest_port"] == 4789 for a in alerts)
    assert normalize_eve(alerts[0].raw)["ts"] == pytest.approx(1368908504.837063)


def test_bad_eve_line(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    eve.write_text('{"timestamp": "2020-01-01T00:00:00+0000", "event_type": "flow"}\n{"no": "event"}\n')
    events = read_eve(eve)
    assert next(events).event_type == "flow"
    with pytest.raises(LogParseError, match=r"eve.json:2: not an EVE record"):
        next(events)
