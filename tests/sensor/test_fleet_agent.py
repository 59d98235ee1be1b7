"""Fleet mode of the agent: a member keeps every investigation's VXLAN and hands over one VNI's.

Two stories mirrored to the same member address with their own VNIs stand for two investigations
on one fleet member; real Suricata with the VNI's capture filter (``udp[12:4] >> 8``: the VNI is
the upper 24 bits of the second VXLAN word, RFC 7348) analyses only that investigation's packets.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tapcase.scenario import generate
from tapcase_sensor.capture_filter import CaptureFilter, mirror_bpf
from tapcase_sensor.errors import SensorConfigError
from tapcase_sensor.fleet import FleetAgent, FleetConfig, RingCapture, VniEngines
from tapcase_sensor.pcap import inspect_capture

VNI_A, VNI_B = 4242, 777


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, Any]:
    """A member's ring directory holding two investigations' mirrored traffic (two minutes' files)."""
    work = tmp_path_factory.mktemp("fleet")
    a = generate("beaconing", work / "a.pcap", vni=VNI_A, duration_seconds=120, form="vxlan")
    b = generate("c2-dns", work / "b.pcap", vni=VNI_B, duration_seconds=120, form="vxlan")
    directory = work / "ring"
    directory.mkdir()
    shutil.copy(a.pcap, directory / "ring-0001.pcap")
    shutil.copy(b.pcap, directory / "ring-0002.pcap")
    return directory, a, b


def test_vni_filter_is_the_vxlan_vni_field() -> None:
    """RFC 7348: flags (1 byte), reserved (3), VNI (3), reserved (1) after the 8-byte UDP header."""
    assert mirror_bpf("10.0.0.5", 4242) == "udp dst port 4789 and dst host 10.0.0.5 and (udp[12:4] >> 8) = 4242"
    assert CaptureFilter.of(sensor_ip="10.0.0.5", vni=7).to_dict()["vni"] == 7
    with pytest.raises(SensorConfigError):
        CaptureFilter.of(plain=True, vni=7)
    with pytest.raises(SensorConfigError):
        CaptureFilter.of(sensor_ip="10.0.0.5", vni=1 << 24)


def test_python_filter_counts_one_vni(ring: tuple[Path, Any, Any]) -> None:
    directory, a, b = ring
    for info, vni in ((a, VNI_A), (b, VNI_B)):
        mine = inspect_capture(Path(info.pcap), capture_filter=CaptureFilter.of(sensor_ip=info.sensor_ip, vni=vni))
        other = inspect_capture(Path(info.pcap), capture_filter=CaptureFilter.of(
            sensor_ip=info.sensor_ip, vni=VNI_A + VNI_B - vni))
        assert mine.matched_packets == mine.vxlan_packets > 0
        assert other.matched_packets == 0


def test_window_and_vni_give_one_investigation_to_real_suricata(ring: tuple[Path, Any, Any], tmp_path: Path) -> None:
    directory, a, b = ring
    kept = RingCapture(directory, a.sensor_ip)
    engines = VniEngines(kept, VNI_A, None, tmp_path / "a", clock=lambda: 4e9)
    result = engines.stop()
    assert result.capture_filter is not None and result.capture_filter["vni"] == VNI_A
    whole = inspect_capture(Path(a.pcap), capture_filter=CaptureFilter.of(sensor_ip=a.sensor_ip))
    assert result.packets_seen == whole.matched_packets  # every packet of VNI A, none of B
    assert result.packet_log is not None and set(result.packet_log.vnis_kept) == {VNI_A}
    eve = [json.loads(line) for f in result.log_files if f.name == "eve.json"
           for line in Path(f.path).read_text().splitlines()]
    addresses = {e.get(k) for e in eve if e.get("event_type") == "flow" for k in ("src_ip", "dest_ip")}
    assert a.suspect_ip in addresses and b.suspect_ip not in addresses
    assert not [e for e in eve if "guarddutyc2activityb" in json.dumps(e.get("dns", {}))]
    assert any("fleet" in w for w in result.warnings)  # no WaitForSensor: everything kept was analysed


def test_window_keeps_only_packets_since_wait(ring: tuple[Path, Any, Any], tmp_path: Path) -> None:
    directory, a, _ = ring
    first = inspect_capture(Path(a.pcap))
    middle = (first.first_ts + first.last_ts) / 2
    out = RingCapture(directory, a.sensor_ip).window(middle, first.last_ts, tmp_path / "w.pcap")
    later = inspect_capture(out, capture_filter=CaptureFilter.of(sensor_ip=a.sensor_ip, vni=VNI_A))
    assert later.first_ts >= middle
    assert 0 < (later.matched_packets or 0) < first.packets


class _SFN:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def send_task_failure(self, **kwargs: Any) -> None:
        self.calls.append(("failure", kwargs))

    def send_task_success(self, **kwargs: Any) -> None:
        self.calls.append(("success", kwargs))


def _agent(tmp_path: Path, directory: Path, ip: str) -> tuple[FleetAgent, _SFN]:
    from tapcase_sensor.agent import AwsClients

    sfn = _SFN()
    config = FleetConfig(control_queue_url="http://localhost/q/fleet", bucket="evidence-bucket", sensor_ip=ip,
                         log_dir=str(tmp_path))
    return FleetAgent(config, RingCapture(directory, ip), AwsClients(sqs=None, s3=None, stepfunctions=sfn)), sfn


def test_fleet_messages_name_a_vni(ring: tuple[Path, Any, Any], tmp_path: Path) -> None:
    directory, a, _ = ring
    agent, sfn = _agent(tmp_path, directory, a.sensor_ip)
    no_vni = agent.handle({"action": "WaitForSensor", "task_token": "t0", "investigation_id": "inv-one-i-0abc"})
    assert no_vni is not None and no_vni.answer == "failure" and "vni" in (no_vni.cause or "")
    ready = agent.handle({"action": "WaitForSensor", "task_token": "t1", "investigation_id": "inv-one-i-0abc",
                          "vni": VNI_A})
    assert ready is not None and ready.answer == "success" and ready.output is not None
    assert ready.output["mode"] == "fleet" and f"VNI {VNI_A}" in ready.output["detail"]
    assert isinstance(ready.output["window_start"], float)
    assert [c[0] for c in sfn.calls] == ["failure", "success"]


def test_a_member_without_the_vni_hands_the_collect_over(ring: tuple[Path, Any, Any], tmp_path: Path) -> None:
    """The NLB sent VNI 999's flows to another member: this one puts the message back, unanswered,
    until it was received ``handover_receives`` times."""
    directory, a, _ = ring
    agent, sfn = _agent(tmp_path, directory, a.sensor_ip)
    collect = {"action": "CollectEvidence", "task_token": "t3", "investigation_id": "inv-three-i-0abc", "vni": 999,
               "bucket": "evidence-bucket", "prefix": "investigations/inv-three-i-0abc"}
    assert agent.handle(collect, receives=1) is None
    assert sfn.calls == []


def test_fleet_config_is_checked() -> None:
    with pytest.raises(SensorConfigError, match="lacks"):
        FleetConfig.from_dict({"bucket": "b", "sensor_ip": "10.0.0.5"})
    with pytest.raises(SensorConfigError, match="unknown"):
        FleetConfig.from_dict({"control_queue_url": "http://q", "bucket": "b", "sensor_ip": "10.0.0.5", "x": 1})
