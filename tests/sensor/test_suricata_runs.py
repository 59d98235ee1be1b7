"""Real Suricata, run by OfflineEngines with sensor_image/suricata/suricata.yaml, on shared pcaps.

Oracles: the upstream suricata-verify checks (test.yaml) and the eve.json that unmodified
Suricata 7.0.10 wrote for the same pcaps (suri-out/). Each pcap is processed once per session.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tapcase_sensor.engines import OfflineEngines
from tapcase_sensor.errors import SensorEngineFailed
from tapcase_sensor.logs import read_eve
from tapcase_sensor.model import CaptureResult

from .conftest import SENSOR_IMAGE, SURI_OUT, SV
from .suricata_verify import failures, filter_checks

SURICATA_MAJOR = 7


def _run(tmp: Path, pcap: Path, rules: Path | None = None, *, plain: bool = False) -> CaptureResult:
    engines = OfflineEngines(pcap, tmp, rules=rules, zeek="skip", plain=plain)
    return engines.stop()


def _eve(result: CaptureResult) -> list[dict[str, Any]]:
    eve = next(f.path for f in result.log_files if f.engine == "suricata" and f.name == "eve.json")
    return [event.raw for event in read_eve(eve)]


def _summary_counts(run: str) -> dict[str, int]:
    for line in (SURI_OUT / "SUMMARY.tsv").read_text().splitlines()[1:]:
        name, counts = line.split("\t", 1)
        if name == run:
            return {k: int(v) for k, v in (item.split("=") for item in counts.split())}
    raise KeyError(run)


def _tuples(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    keys = ("event_type", "src_ip", "src_port", "dest_ip", "dest_port", "proto", "app_proto")
    return sorted((tuple(r.get(k) for k in keys) for r in records if r["event_type"] != "stats"), key=repr)


@pytest.fixture(scope="module")
def vxlan03(tmp_path_factory: pytest.TempPathFactory, suricata_bin: str) -> CaptureResult:
    return _run(tmp_path_factory.mktemp("vxlan03"), SV / "vxlan-decoder-03" / "vxlan.pcap")


@pytest.fixture(scope="module")
def vxlan02(tmp_path_factory: pytest.TempPathFactory, suricata_bin: str) -> CaptureResult:
    d = SV / "vxlan-decoder-02"
    return _run(tmp_path_factory.mktemp("vxlan02"), d / "vxlan.pcap", d / "test.rules")


@pytest.fixture(scope="module")
def bug28(tmp_path_factory: pytest.TempPathFactory, suricata_bin: str) -> CaptureResult:
    d = SV / "bug-28"
    return _run(tmp_path_factory.mktemp("bug28"), d / "input.pcap", d / "test.rules", plain=True)


# -- the real AWS Traffic Mirroring capture ---------------------------------------------------


def test_aws_mirror_capture_passes_upstream_checks(vxlan03: CaptureResult) -> None:
    # Given the suricata-verify checks that apply to Suricata 7
    checks = filter_checks(SV / "vxlan-decoder-03" / "test.yaml", SURICATA_MAJOR)
    assert len(checks) == 4
    # Then our configuration's output satisfies every one of them
    assert failures(_eve(vxlan03), checks) == []


def test_aws_mirror_capture_is_decapsulated(vxlan03: CaptureResult) -> None:
    records = _eve(vxlan03)
    ssh = [r for r in records if r["event_type"] == "ssh"]
    assert len(ssh) == 4
    assert {r["src_ip"] for r in ssh} == {"18.196.145.224"} and {r["dest_port"] for r in ssh} == {22}
    assert all(r["ssh"]["client"]["software_version"].startswith("OpenSSH") for r in ssh)
    names = {r["dns"]["rrname"] for r in records if r["event_type"] == "dns"}
    assert "ec2-18-196-145-224.eu-central-1.compute.amazonaws.com" in names
    assert "224.145.196.18.in-addr.arpa" in names
    assert {r["dest_ip"] for r in records if r["event_type"] == "dns"} == {"172.31.0.2"}
    inner = [r for r in records if r["event_type"] in ("dns", "ssh")]
    assert {r["pkt_src"] for r in inner if "pkt_src" in r} <= {"vxlan encapsulation", "stream (detect/log)"}
    assert any(r.get("pkt_src") == "vxlan encapsulation" for r in inner)
    # community-id is on (the join key to Zeek's conn.log)
    assert all(r.get("community_id", "").startswith("1:") for r in records if r["event_type"] in ("flow", "ssh", "dns"))
    stats = [r for r in records if r["event_type"] == "stats"][-1]["stats"]
    assert stats["decoder"]["vxlan"] == 100 and stats["decoder"]["pkts"] == 100


def test_aws_mirror_capture_matches_reference_suricata(vxlan03: CaptureResult) -> None:
    records = _eve(vxlan03)
    reference = [json.loads(line) for line in (SURI_OUT / "suricata-verify_vxlan-decoder-03_vxlan" / "eve.json").open()]
    assert Counter(r["event_type"] for r in records) == _summary_counts("suricata-verify_vxlan-decoder-03_vxlan")
    assert _tuples(records) == _tuples(reference)


def test_capture_result_counts(vxlan03: CaptureResult) -> None:
    assert vxlan03.packets_seen == 100 and vxlan03.vxlan_packets == 100 and vxlan03.packets_dropped == 0
    assert vxlan03.engines["suricata"].version == "7.0.10"
    assert vxlan03.engines["zeek"].status == "skipped"
    assert vxlan03.started_at == pytest.approx(1561644070.047299)
    assert vxlan03.ended_at == pytest.approx(1561644100.877673)
    assert sorted(f.name for f in vxlan03.log_files) == ["eve.json", "suricata.log"]
    assert vxlan03.packet_log is not None and vxlan03.packet_log.packets_kept == 100


# -- shared pcaps with their rules ------------------------------------------------------------


def test_vxlan_alerts_carry_the_tunnel(vxlan02: CaptureResult) -> None:
    records = _eve(vxlan02)
    assert failures(records, filter_checks(SV / "vxlan-decoder-02" / "test.yaml", SURICATA_MAJOR)) == []
    alerts = [r for r in records if r["event_type"] == "alert"]
    assert len(alerts) == 4
    assert all(a["tunnel"]["dest_port"] == 4789 and a["tunnel"]["proto"] == "UDP" for a in alerts)
    assert Counter(r["event_type"] for r in records) == _summary_counts("rules_vxlan-decoder-02")
    reference = [json.loads(line) for line in (SURI_OUT / "rules_vxlan-decoder-02" / "eve.json").open()]
    assert _tuples(records) == _tuples(reference)


def test_bug28_malware_checkin_alerts(bug28: CaptureResult) -> None:
    records = _eve(bug28)
    assert failures(records, filter_checks(SV / "bug-28" / "test.yaml", SURICATA_MAJOR)) == []
    alerts = [r for r in records if r["event_type"] == "alert"]
    assert len(alerts) == 4
    assert all(a["alert"]["signature"].startswith("ET MALWARE") for a in alerts)
    assert {a["alert"]["signature_id"] for a in alerts} == {2001340, 2001341, 2001342, 2001343}
    assert all(a["http"]["hostname"] == "btg.btgrab.com" for a in alerts)
    assert Counter(r["event_type"] for r in records) == _summary_counts("rules_bug-28")


def test_rule_suricata7_cannot_load_is_a_clear_failure(tmp_path: Path, suricata_bin: str) -> None:
    # tls-glupteba's rule uses a Suricata 8 keyword: the run must fail, not silently drop it
    d = SV / "tls_tls-glupteba"
    with pytest.raises(SensorEngineFailed, match="tls.subjectaltname"):
        _run(tmp_path, d / "input.pcap", d / "test.rules", plain=True)


def test_default_rules_dir_is_the_sensor_image_one(tmp_path: Path) -> None:
    engines = OfflineEngines(SV / "bug-28" / "input.pcap", tmp_path, zeek="skip")
    assert engines.suricata_rules_dir == SENSOR_IMAGE / "suricata" / "rules"
    assert engines.suricata_config == SENSOR_IMAGE / "suricata" / "suricata.yaml"


def test_empty_capture_completes_without_logs(tmp_path: Path, suricata_bin: str) -> None:
    # The local cloud hands a sensor a header-only pcap when there is no traffic to replay.
    empty = tmp_path / "no-traffic.pcap"
    empty.write_bytes((SV / "bug-28" / "input.pcap").read_bytes()[:24])
    engines = OfflineEngines(empty, tmp_path / "work", zeek="skip")
    engines.start()
    status = engines.status()
    assert status.ready and not status.vxlan_seen and status.packets_seen == 0
    result = engines.stop()
    assert result.log_files == [] and result.packets_seen == 0
    assert result.engines["suricata"].status == "idle" and result.engines["suricata"].version == "7.0.10"
    assert result.engines["zeek"].status == "skipped"


def test_rerun_after_a_failure_starts_from_empty_output(tmp_path: Path, suricata_bin: str) -> None:
    pcap = SV / "bug-28" / "input.pcap"
    stale = tmp_path / "raw" / "suricata"
    stale.mkdir(parents=True)
    (stale / "eve.json").write_text('{"timestamp":"2000-01-01T00:00:00+0000","event_type":"alert"}\n')
    result = OfflineEngines(pcap, tmp_path, zeek="skip", plain=True).stop()
    assert Counter(r["event_type"] for r in _eve(result)) == {"flow": 1, "http": 1, "stats": 1}
