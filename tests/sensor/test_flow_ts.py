"""Suricata flow records: ts is the flow's start, not the time the flow was logged."""

from __future__ import annotations

from datetime import datetime

from tapcase_sensor.logs import read_eve
from tests.conftest import shared


def test_flow_ts_is_flow_start():
    events = [e for e in read_eve(shared("suri-out", "zeek_zeek-btest_wikipedia_wikipedia", "eve.json"))
              if e.event_type == "flow"]
    assert len(events) > 10
    # Suricata logs every flow of a pcap run with one timestamp; their starts differ
    assert len({e.raw["timestamp"] for e in events}) == 1
    assert len({e.ts for e in events}) > 10
    for event in events:
        start = datetime.strptime(event.raw["flow"]["start"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
        assert abs(event.ts - start) < 1e-6
