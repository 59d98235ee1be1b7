"""The mirror data plane through the real state machine: what the sessions deliver is what the report shows.

Each test runs an investigation on a story's plain capture (the suspect's subnet, neighbours and
host services included) and checks the engines' evidence (Suricata's eve.json in S3, what the
sensor's interface carried) and the report against what AWS Traffic Mirroring would deliver.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import IP
from scapy.layers.vxlan import VXLAN
from scapy.utils import rdpcap

from tapcase.localcloud import mirror_rules as mr
from tapcase.localcloud import sensors, wire
from tapcase.localcloud.seed import seed_instance
from tapcase.scenario import ScenarioInfo, generate
from tests.conftest import REPO
from tests.e2e.conftest import TIME_SCALE, delivery_of, load_report, run

RULES_DIR_RULE = ('alert http any any -> any any (msg:"TAPCASE beacon check-in"; http.uri; '
                  'content:"/api/v2/status"; startswith; sid:9100001; rev:1;)\n')


@pytest.fixture(scope="module")
def beaconing(tmp_path_factory: pytest.TempPathFactory) -> ScenarioInfo:
    return generate("beaconing", tmp_path_factory.mktemp("beaconing") / "beaconing.pcap", duration_seconds=240)


@pytest.fixture(scope="module")
def finding() -> dict[str, Any]:
    return json.loads((REPO / "samples" / "findings" / "beaconing.json").read_text())


@pytest.fixture(scope="module")
def seeded(cloud: Any, finding: dict[str, Any]) -> str:
    details = finding["detail"]["resource"]["instanceDetails"]
    return seed_instance(cloud.client("ec2"), details, cloud.region)["instance_id"]


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("interfaces")
    sensors.keep_interface_captures(directory)
    yield directory
    sensors.keep_interface_captures(None)


def manual(instance_id: str, **extra: Any) -> dict[str, Any]:
    return {"instance_id": instance_id, "duration_seconds": 240, "reason": "data plane test", **extra}


def eve_events(cloud: Any, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Suricata's eve.json as the sensor uploaded it (the evidence in S3)."""
    files = load_report(summary)["context"]["evidence"]["files"]
    keys = [f["key"] for f in files if f["key"].endswith("/eve.json")]
    assert len(keys) == 1, files
    (key,) = keys
    body = cloud.client("s3").get_object(Bucket=cloud.resource("EvidenceBucket"), Key=key)["Body"].read()
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def inner_flows(events: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    """Suricata's flows of the mirrored traffic (not the outer UDP/4789 ones), direction-free."""
    return {
        (e["proto"].lower(), *sorted([(e["src_ip"], e["src_port"]), (e["dest_ip"], e["dest_port"])]))
        for e in events
        if e["event_type"] == "flow" and e.get("dest_port") != 4789 and "src_port" in e
    }


def capture_flows(info: ScenarioInfo, keep: Any = lambda packet: True) -> set[tuple[Any, ...]]:
    """The suspect's mirrorable TCP/UDP flows in the plain capture, direction-free."""
    suspect = mr.packed(info.suspect_ip)
    flows = set()
    for _ts, lt, frame in wire.read_capture(info.pcap):
        packet = wire.decode(lt, frame)
        if (packet.ip and packet.sport >= 0 and suspect in (packet.src, packet.dst)
                and not mr.never_mirrored(packet) and keep(packet)):
            proto = {6: "tcp", 17: "udp"}[packet.proto]
            ends = sorted([(socket.inet_ntoa(packet.src), packet.sport), (socket.inet_ntoa(packet.dst), packet.dport)])
            flows.add((proto, *ends))
    return flows


def reject_https_rules() -> list[dict[str, Any]]:
    return [
        {"direction": "egress", "action": "reject", "protocol": 6, "destination_ports": [443, 443]},
        {"direction": "egress"},
        {"direction": "ingress", "action": "reject", "protocol": 6, "source_ports": [443, 443]},
        {"direction": "ingress"},
    ]


def test_a_filter_rejecting_a_port_removes_exactly_those_flows(
    cloud: Any, seeded: str, beaconing: ScenarioInfo, kept: Path, tmp_path: Path
) -> None:
    """Filter concepts: the first matching rule decides; rules that reject TCP 443 in both
    directions before accepting everything leave every flow of the capture but the HTTPS ones."""
    rules = tmp_path / "beacon.rules"
    rules.write_text(RULES_DIR_RULE)
    summary = run(cloud, manual(seeded, filter_rules=reject_https_rules()), tmp_path,
                  pcap=Path(beaconing.pcap), rules=rules)
    assert summary["status"] == "SUCCEEDED", summary
    events = eve_events(cloud, summary)
    everything = capture_flows(beaconing)
    https = capture_flows(beaconing, lambda p: p.proto == 6 and 443 in (p.sport, p.dport))
    assert https and inner_flows(events) == everything - https
    # ... and the report: the suspect's peers are exactly those of the flows left, no port 443.
    report = load_report(summary)
    sections = {s["name"]: s for s in report["sections"]}
    peers = [dict(zip(sections["suspect_host_peers"]["columns"], row, strict=True))
             for row in sections["suspect_host_peers"]["rows"]]
    ports = [json.loads(p["dst_ports"]) if isinstance(p["dst_ports"], str) else p["dst_ports"] for p in peers]
    assert ports and not any(443 in (listed or []) for listed in ports), ports
    left = {end[0] for flow in everything - https for end in flow[1:]} - {beaconing.suspect_ip}
    assert {p["peer"] for p in peers} == left
    assert beaconing.expected.beacon_peer_ip in left

    # The VNI of the session is the VNI of everything the engines read (Suricata 7 does not log
    # VNIs: its EVE "tunnel" object gives the outer addresses, source ENI -> sensor on UDP 4789).
    delivered = delivery_of(beaconing.pcap)
    vni = report["context"]["mirroring"]["vni"]
    (session,) = report["context"]["mirroring"]["sessions"]
    assert session["vni"] == vni and delivered.vnis == {vni: delivered.mirrored}
    interface = rdpcap(delivered.interface_pcap)
    vxlan = [p for p in interface if p.haslayer(VXLAN)]
    assert len(vxlan) == delivered.mirrored and {p[VXLAN].vni for p in vxlan} == {vni}
    sensor_ip = {p[IP].dst for p in vxlan}.pop()
    alerts = [e for e in events if e["event_type"] == "alert"]
    assert len(alerts) == beaconing.expected.beacon_count
    assert {(a["tunnel"]["src_ip"], a["tunnel"]["dest_ip"], a["tunnel"]["dest_port"]) for a in alerts} == {
        (beaconing.suspect_ip, sensor_ip, 4789)}


def test_packets_after_the_sessions_deletion_are_absent(
    cloud: Any, seeded: str, beaconing: ScenarioInfo, tmp_path: Path
) -> None:
    """A session mirrors only while it exists: a 60 s window on a 240 s capture. The capture's
    first packet happens when the session is created, a packet d seconds later d * scale seconds
    after; StopMirroring deletes the session after the window: what the engines saw ends there,
    and the later beacons are missing from the report."""
    summary = run(cloud, manual(seeded, duration_seconds=60), tmp_path, pcap=Path(beaconing.pcap))
    assert summary["status"] == "SUCCEEDED", summary
    delivered = delivery_of(beaconing.pcap)
    ((created, deleted),) = delivered.lifetimes.values()
    assert deleted is not None and delivered.anchor == created
    horizon_us = (deleted - created) / TIME_SCALE * 1_000_000  # the session's life in capture time
    assert 60e6 <= horizon_us < 240e6  # at least the window, less than the capture
    first = next(ts for ts, _lt, _f in wire.read_capture(beaconing.pcap))
    before = [ts for ts in mirrorable_times(beaconing) if ts - first < horizon_us]
    assert delivered.mirrored == len(before) < beaconing.mirrored_packets
    assert delivered.skipped["outside_lifetime"] == beaconing.mirrored_packets - len(before)
    # What the engines logged ends with the session.
    events = eve_events(cloud, summary)
    flow_starts = [e["flow"]["start"] for e in events if e["event_type"] == "flow"]
    assert flow_starts and max(_epoch_us(ts) for ts in flow_starts) - first < horizon_us
    report = load_report(summary)
    sections = {s["name"]: s for s in report["sections"]}
    peers = [dict(zip(sections["suspect_host_peers"]["columns"], row, strict=True))
             for row in sections["suspect_host_peers"]["rows"]]
    (beacon,) = [p for p in peers if p["peer"] == beaconing.expected.beacon_peer_ip]
    assert 0 < beacon["connections"] < beaconing.expected.beacon_count


def mirrorable_times(info: ScenarioInfo) -> list[int]:
    suspect = mr.packed(info.suspect_ip)
    out = []
    for ts, lt, frame in wire.read_capture(info.pcap):
        packet = wire.decode(lt, frame)
        if packet.ip and suspect in (packet.src, packet.dst) and not mr.never_mirrored(packet):
            out.append(ts)
    return out


def _epoch_us(timestamp: str) -> int:
    from datetime import datetime

    return int(round(datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1_000_000))


def test_a_lower_numbered_session_to_another_target_takes_its_packets(
    cloud: Any, seeded: str, finding: dict[str, Any], beaconing: ScenarioInfo, tmp_path: Path
) -> None:
    """CreateTrafficMirrorSession: "The first session with a matching filter is the one that mirrors
    the packets". An always-on session 1 of another appliance takes HTTP (TCP 80): our session 2
    gets everything else, the report carries Plan's warning and shows the beacons missing."""
    ec2 = cloud.client("ec2")
    eni = finding["detail"]["resource"]["instanceDetails"]["networkInterfaces"][0]["networkInterfaceId"]
    subnet = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]["SubnetId"]
    appliance = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    target = ec2.create_traffic_mirror_target(NetworkInterfaceId=appliance)["TrafficMirrorTarget"]
    http = ec2.create_traffic_mirror_filter(Description="appliance: HTTP")["TrafficMirrorFilter"]
    for direction, ports in (("egress", "DestinationPortRange"), ("ingress", "SourcePortRange")):
        ec2.create_traffic_mirror_filter_rule(
            TrafficMirrorFilterId=http["TrafficMirrorFilterId"], TrafficDirection=direction, RuleNumber=1,
            RuleAction="accept", Protocol=6, **{ports: {"FromPort": 80, "ToPort": 80}},
            SourceCidrBlock="0.0.0.0/0", DestinationCidrBlock="0.0.0.0/0")
    always_on = ec2.create_traffic_mirror_session(
        NetworkInterfaceId=eni, TrafficMirrorTargetId=target["TrafficMirrorTargetId"],
        TrafficMirrorFilterId=http["TrafficMirrorFilterId"], SessionNumber=1)["TrafficMirrorSession"]
    try:
        summary = run(cloud, finding, tmp_path, pcap=Path(beaconing.pcap))
    finally:
        ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=always_on["TrafficMirrorSessionId"])
    assert summary["status"] == "SUCCEEDED", summary
    report = load_report(summary)
    assert any(always_on["TrafficMirrorSessionId"] in w and "evaluated first" in w
               for w in report["context"]["warnings"])
    assert [s["session_number"] for s in report["context"]["mirroring"]["sessions"]] == [2]
    delivered = delivery_of(beaconing.pcap)
    http_flows = capture_flows(beaconing, lambda p: p.proto == 6 and 80 in (p.sport, p.dport))
    assert delivered.skipped["other_session"] > 0 and http_flows
    assert inner_flows(eve_events(cloud, summary)) == capture_flows(beaconing) - http_flows
    sections = {s["name"]: s for s in report["sections"]}
    peers = {row[0] for row in sections["suspect_host_peers"]["rows"]}
    assert beaconing.expected.beacon_peer_ip not in peers  # the beacons went to the other appliance
    remote = [dict(zip(sections["finding_remote_ip"]["columns"], row, strict=True))
              for row in sections["finding_remote_ip"]["rows"]]
    assert {r["source"] for r in remote} == {"dns"}  # only the lookups of the C2's name are left


def test_the_sensors_own_traffic_never_appears_in_any_query_result(
    cloud: Any, seeded: str, beaconing: ScenarioInfo, tmp_path: Path
) -> None:
    """A sensor's ENI carries its own traffic too (SQS long polls, Step Functions calls, DNS for
    those endpoints through the VPC resolver, Time Sync NTP to 169.254.169.123 every 64 s, which
    looks like a perfect beacon). The engines' capture filter, UDP 4789 to the sensor's own
    address, keeps all of it out: no query result, highlight or engine event names it."""
    from tapcase.localcloud.sensor_traffic import endpoints

    summary = run(cloud, manual(seeded), tmp_path, pcap=Path(beaconing.pcap))
    assert summary["status"] == "SUCCEEDED", summary
    delivered = delivery_of(beaconing.pcap)
    assert delivered.own_packets > 0 and delivered.mirrored > 0  # the interface did carry it
    report = load_report(summary)
    sensor_ip = report["context"]["sensor"]["private_ip"]
    own = {sensor_ip, "169.254.169.123"} | {v for pair in endpoints(cloud.region).values() for v in pair}
    cells = [str(cell) for s in report["sections"] for row in s["rows"] for cell in row]
    cells += [h["text"] for h in report["highlights"]]
    assert cells and not [c for c in cells if any(o in c for o in own)]
    # Suricata analysed only the mirrored stream: every event is the suspect's traffic.
    inner = [e for e in eve_events(cloud, summary) if "src_ip" in e and e["event_type"] != "stats"]
    assert inner and all(beaconing.suspect_ip in (e["src_ip"], e["dest_ip"]) for e in inner), \
        {(e["src_ip"], e["dest_ip"]) for e in inner if beaconing.suspect_ip not in (e["src_ip"], e["dest_ip"])}
