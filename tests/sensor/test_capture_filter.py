"""The engines analyse only the mirrored stream: VXLAN (UDP 4789) to the sensor's own address.

On AWS the sensor's ENI receives the mirrored copies as VXLAN to its private IPv4 and, on the
same interface, its own traffic (SQS/S3/Step Functions calls, DNS for AWS endpoints, NTP). Real
Suricata runs on the real AWS mirror capture with such own traffic mixed in; the oracle for what
must remain is the eve.json unmodified Suricata 7.0.10 wrote for the mirror capture alone.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether
from scapy.layers.vxlan import VXLAN
from scapy.utils import rdpcap, wrpcap

from tapcase_sensor.capture_filter import CaptureFilter, mirror_bpf
from tapcase_sensor.engines import OfflineEngines
from tapcase_sensor.errors import SensorBadCapture, SensorConfigError
from tapcase_sensor.logs import read_eve
from tapcase_sensor.model import CaptureResult

from .captures import OWN_DNS_NAME, RESOLVER, SENSOR_IP, SQS_IP, VXLAN03, mixed_capture
from .conftest import SURI_OUT
from .test_cli import run_cli

OTHER_SENSOR = "172.31.17.200"
OTHER_NAME = "mirrored-to-another-sensor.example"


def _eve(result: CaptureResult) -> list[dict[str, Any]]:
    eve = next(f.path for f in result.log_files if f.name == "eve.json")
    return [event.raw for event in read_eve(eve)]


def _tuples(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    keys = ("event_type", "src_ip", "src_port", "dest_ip", "dest_port", "proto", "app_proto")
    return sorted((tuple(r.get(k) for k in keys) for r in records if r["event_type"] != "stats"), key=repr)


def _other_sensor_vxlan(start: float) -> list[Ether]:
    """VXLAN to another address on UDP 4789 (another target's stream): not this sensor's."""
    inner = Ether() / IP(src="172.31.0.99", dst=RESOLVER) / UDP(sport=5353, dport=53) / DNS(rd=1, qd=DNSQR(qname=OTHER_NAME))
    frame = Ether(bytes(Ether() / IP(src="172.31.0.99", dst=OTHER_SENSOR) / UDP(sport=61000, dport=4789) / VXLAN(vni=7) / inner))
    frame.time = start
    return [frame]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real mirror capture + the sensor's own traffic + VXLAN to another sensor address."""
    path = tmp_path_factory.mktemp("mixed") / "interface.pcap"
    mixed_capture(path)
    packets = list(rdpcap(str(path)))
    packets += _other_sensor_vxlan(float(packets[40].time) + 0.0001)
    wrpcap(str(path), sorted(packets, key=lambda p: float(p.time)))
    return path


@pytest.fixture(scope="module")
def with_sensor_ip(mixed: Path, tmp_path_factory: pytest.TempPathFactory, suricata_bin: str) -> CaptureResult:
    return OfflineEngines(mixed, tmp_path_factory.mktemp("ip"), zeek="skip", sensor_ip=SENSOR_IP).stop()


# -- the filter's one definition ----------------------------------------------------------------


def test_one_filter_definition() -> None:
    assert mirror_bpf("172.31.17.188") == "udp dst port 4789 and dst host 172.31.17.188"
    assert mirror_bpf(None) == "udp dst port 4789"
    assert CaptureFilter.of(sensor_ip=" 10.0.0.5 ").bpf == mirror_bpf("10.0.0.5")
    assert CaptureFilter.of(plain=True).bpf is None
    with pytest.raises(SensorConfigError, match="not an IP address"):
        mirror_bpf("10.0.0.5 or tcp")  # nothing but an address reaches the BPF expression
    with pytest.raises(SensorConfigError, match="plain"):
        CaptureFilter.of(sensor_ip="10.0.0.5", plain=True)


def test_filter_counts_like_libpcap_on_edge_cases(tmp_path: Path, suricata_bin: str) -> None:
    # Given frames where a naive parser and libpcap disagree: VXLAN behind a VLAN tag (libpcap's
    # `udp` does not look past it), a non-first IPv4 fragment whose bytes read as port 4789
    # (libpcap never matches a port there), IPv6 VXLAN, and plain VXLAN to the sensor
    vxlan = UDP(sport=50000, dport=4789) / VXLAN(vni=1) / Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(dport=9)
    frames = [
        Ether() / IP(src="10.0.0.9", dst=SENSOR_IP) / vxlan,
        Ether() / Dot1Q(vlan=5) / IP(src="10.0.0.9", dst=SENSOR_IP) / vxlan,
        Ether() / IP(src="10.0.0.9", dst=SENSOR_IP, proto=17, frag=100) / bytes(vxlan)[:40],
        Ether() / IPv6(src="fd00::9", dst="fd00::1") / vxlan,
    ]
    pcap = tmp_path / "edge.pcap"
    wrpcap(str(pcap), [Ether(bytes(f)) for f in frames])
    # Then the Python filter passes what libpcap passes: the engines check Suricata's
    # decoder.pkts (counted after libpcap's filter) against it, and raise on a difference
    for sensor_ip, expected in ((SENSOR_IP, 1), (None, 2)):
        engines = OfflineEngines(pcap, tmp_path / f"out-{expected}", zeek="skip", sensor_ip=sensor_ip)
        result = engines.stop()
        assert engines.packets_to_analyze == result.packets_seen == expected


# -- own traffic out, mirrored traffic in ---------------------------------------------------------


def test_own_traffic_never_reaches_eve(with_sensor_ip: CaptureResult) -> None:
    records = _eve(with_sensor_ip)
    # the sensor's DNS lookup of an AWS endpoint, its HTTPS to SQS and its NTP are not analysed
    assert OWN_DNS_NAME not in {r.get("dns", {}).get("rrname") for r in records}
    addresses = {r.get(k) for r in records for k in ("src_ip", "dest_ip")}
    assert not addresses & {SQS_IP, "169.254.169.123"}
    assert not [r for r in records if r.get("src_ip") == SENSOR_IP]
    # nor is another sensor's VXLAN
    assert OTHER_NAME not in {r.get("dns", {}).get("rrname") for r in records}


def test_mirrored_traffic_is_analysed_as_if_alone(with_sensor_ip: CaptureResult) -> None:
    # Then every event unmodified Suricata wrote for the mirror capture alone is there, nothing else
    records = _eve(with_sensor_ip)
    reference = [json.loads(line) for line in (SURI_OUT / "suricata-verify_vxlan-decoder-03_vxlan" / "eve.json").open()]
    assert _tuples(records) == _tuples(reference)
    assert Counter(r["event_type"] for r in records) == {"dns": 16, "flow": 26, "ssh": 4, "stats": 1}
    assert with_sensor_ip.packets_seen == 100 and with_sensor_ip.vxlan_packets == 101
    assert with_sensor_ip.source["pcap"]["packets"] == 100 + 8 + 1


def test_capture_filter_is_recorded(with_sensor_ip: CaptureResult) -> None:
    assert with_sensor_ip.capture_filter == {
        "mode": "interface",
        "bpf": "udp dst port 4789 and dst host 172.31.17.188",
        "sensor_ip": "172.31.17.188",
        "note": "only VXLAN (UDP 4789) to the sensor's address 172.31.17.188: the sensor's own traffic is not analysed",
    }


def test_without_sensor_ip_every_vxlan_is_analysed(mixed: Path, tmp_path: Path, suricata_bin: str) -> None:
    result = OfflineEngines(mixed, tmp_path, zeek="skip").stop()
    records = _eve(result)
    assert result.capture_filter is not None and result.capture_filter["bpf"] == "udp dst port 4789"
    assert "no sensor IP given" in result.capture_filter["note"]
    # own traffic is still out (it is not VXLAN), but another sensor's VXLAN is in
    assert OWN_DNS_NAME not in {r.get("dns", {}).get("rrname") for r in records}
    assert OTHER_NAME in {r.get("dns", {}).get("rrname") for r in records}
    assert result.packets_seen == 101


def test_wrong_sensor_ip_is_a_clear_error(mixed: Path, tmp_path: Path, suricata_bin: str) -> None:
    engines = OfflineEngines(mixed, tmp_path, zeek="skip", sensor_ip="10.9.9.9", allow_empty=False)
    with pytest.raises(SensorBadCapture, match=r"none of the 109 packets .* pass the capture filter .*sensor IP"):
        engines.stop()
    assert not (tmp_path / "raw" / "suricata" / "eve.json").exists()
    # the local cloud's sensors accept it: nothing was mirrored to them
    idle = OfflineEngines(mixed, tmp_path / "idle", zeek="skip", sensor_ip="10.9.9.9").stop()
    assert idle.engines["suricata"].status == "idle" and idle.log_files == []
    assert "nothing was mirrored to this sensor" in (idle.engines["suricata"].reason or "")


# -- the command line -----------------------------------------------------------------------------


def test_process_sensor_ip_on_a_mixed_capture(mixed: Path, tmp_path: Path, suricata_bin: str) -> None:
    out = tmp_path / "out"
    proc = run_cli("process", "--pcap", str(mixed), "--sensor-ip", SENSOR_IP, "--out", str(out), "--zeek", "skip")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "raw" / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert manifest["capture_filter"]["mode"] == "interface"
    assert manifest["capture_filter"]["bpf"] == f"udp dst port 4789 and dst host {SENSOR_IP}"
    assert manifest["packets"]["seen"] == 100 and manifest["source"]["pcap"]["packets"] == 109
    assert manifest["record_counts"]["suricata"] == {"dns": 16, "flow": 26, "ssh": 4, "stats": 1}
    assert f"capture filter: udp dst port 4789 and dst host {SENSOR_IP}" in proc.stderr


def test_process_without_sensor_ip_says_so(tmp_path: Path, suricata_bin: str) -> None:
    proc = run_cli("process", "--pcap", str(VXLAN03), "--out", str(tmp_path / "out"), "--zeek", "skip")
    assert proc.returncode == 0, proc.stderr
    assert "capture filter: udp dst port 4789: no sensor IP given" in proc.stderr


def test_plain_capture_needs_plain(tmp_path: Path, suricata_bin: str) -> None:
    # A plain capture of an instance (the Zeek quickstart trace: HTTP and DNS, no VXLAN)
    from .conftest import ZEEK

    plain = ZEEK / "zeek-doc-quickstart" / "quickstart.pcap"
    proc = run_cli("process", "--pcap", str(plain), "--out", str(tmp_path / "a"), "--zeek", "skip")
    assert proc.returncode == 1 and "SensorBadCapture" in proc.stderr and "--plain" in proc.stderr
    proc = run_cli("process", "--pcap", str(plain), "--plain", "--out", str(tmp_path / "b"), "--zeek", "skip")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "b" / "raw" / "manifest.json").read_text())
    assert manifest["capture_filter"] == {
        "mode": "plain", "bpf": None, "sensor_ip": None,
        "note": "plain capture of an instance: no capture filter, the engines see its packets as on the wire",
    }  # fmt: skip
    assert manifest["packets"]["seen"] == 20 and manifest["record_counts"]["suricata"]["flow"] > 0


def test_sensor_ip_and_plain_exclude_each_other(tmp_path: Path) -> None:
    proc = run_cli("process", "--pcap", str(VXLAN03), "--out", str(tmp_path), "--plain", "--sensor-ip", SENSOR_IP)
    assert proc.returncode == 2 and "not allowed with argument" in proc.stderr
    proc = run_cli("process", "--pcap", str(VXLAN03), "--out", str(tmp_path / "x"), "--sensor-ip", "sensor")
    assert proc.returncode == 1 and "SensorConfigError" in proc.stderr and "not an IP address" in proc.stderr
