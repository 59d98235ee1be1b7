"""Coverage mode's rolling logs on a fleet member: real Suricata EVE output (../shared/data)
flattened to the coverage table's columns, one object per day, created and never replaced."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tapcase.scenario import generate
from tapcase_contract import coverage_logs
from tapcase_contract.layout import coverage_key
from tapcase_contract.limits import COVERAGE_VNI
from tapcase_sensor.coverage import CoverageRoller, _eve, rows
from tests.conftest import shared


def test_eve_events_become_rows_with_the_tables_columns():
    dns = list(rows(_eve(shared("suri-out", "suricata-verify_dns_dns-eve_input", "eve.json")), "10.0.9.4"))
    alerts = list(rows(_eve(shared("suri-out", "rules_tls-random", "eve.json")), "10.0.9.4"))
    assert {r["event_type"] for r in dns} == {"dns", "flow"}  # stats left out
    assert all(tuple(r) == coverage_logs.COLUMN_NAMES and r["member"] == "10.0.9.4" for r in dns + alerts)
    assert "client-cf.dropbox.com" in {r["dns_rrname"] for r in dns}
    flow = next(r for r in dns if r["event_type"] == "flow")
    assert flow["pkts_toserver"] >= 1 and flow["bytes_toserver"] > 0
    assert coverage_logs.day_of(flow["event_time"]) == "2016-05-24"
    alert = next(r for r in alerts if r["event_type"] == "alert")
    assert alert["alert_signature"] and alert["alert_severity"] is not None


def test_a_coverage_key_names_its_day_and_refuses_another_format():
    assert coverage_key("coverage_events", "2016-05-24", "10.0.9.4", 1, 2) == \
        "coverage/coverage_events/day=2016-05-24/10.0.9.4-1-2.json"
    with pytest.raises(ValueError, match="yyyy-MM-dd"):
        coverage_key("coverage_events", "2016/05/24", "10.0.9.4", 1, 2)


class _Kept:
    """A member's kept traffic: a generated story as a mirror session with ``vni`` delivers it (VXLAN
    to the sensor's address), whatever window is asked for."""

    def __init__(self, pcap: Path, sensor_ip: str) -> None:
        self.pcap, self.sensor_ip, self.calls = pcap, sensor_ip, []

    def window(self, since: float | None, until: float, out: Path, *, vni: int | None = None) -> Path:
        self.calls.append((since, until, vni))
        out.write_bytes(self.pcap.read_bytes())
        return out


@pytest.mark.parametrize("vni, analysed", [(COVERAGE_VNI, True), (4242, False)])
@mock_aws
def test_a_roll_analyses_only_the_coverage_vni_and_uploads_each_day_once(tmp_path: Path, vni: int, analysed: bool):
    story = generate("beaconing", tmp_path / "story.pcap", vni=vni, form="vxlan", duration_seconds=120)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="evidence")
    kept = _Kept(Path(story.pcap), story.sensor_ip)
    roller = CoverageRoller(kept, s3, "evidence", tmp_path / "work", interval=0, clock=lambda: 2000.0)
    assert not roller.due()  # interval 0: only when asked
    written = roller.roll(until=1000.0)
    assert kept.calls == [(None, 1000.0, COVERAGE_VNI)]
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket="evidence").get("Contents", [])}
    assert listed == set(written)
    if not analysed:  # another investigation's VNI: the capture filter keeps none of it
        assert written == {}
        return
    (key,) = written
    day = story.start_time.strftime("%Y-%m-%d")
    assert key == f"coverage/coverage_events/day={day}/{story.sensor_ip}-0-1000.json"
    found = [json.loads(line) for line in s3.get_object(Bucket="evidence", Key=key)["Body"].read().splitlines()]
    assert len(found) == written[key] and tuple(found[0]) == coverage_logs.COLUMN_NAMES
    peers = {r["dest_ip"] for r in found if r["src_ip"] == story.suspect_ip}
    assert story.expected.beacon_peer_ip in peers
    # the next roll starts where this one ended; a key already there is never replaced
    roller.roll(until=1500.0)
    assert kept.calls[-1] == (1000.0, 1500.0, COVERAGE_VNI)
