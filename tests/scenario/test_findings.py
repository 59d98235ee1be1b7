"""The sample GuardDuty events: documented schema, accepted by the workflow, matching the traffic."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from tapcase.scenario import SCENARIOS, names
from tapcase.scenario.findings import render
from tapcase.scenario.model import INSTANCE_TYPE
from tapcase_workflow.logic.request import normalise
from tests.conftest import REPO, shared
from tests.scenario.conftest import mirrored

ALL = names()
SAMPLES = REPO / "samples" / "findings"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


@pytest.mark.parametrize("name", ALL)
def test_sample_file_is_current(name):
    """The committed sample is what the generator's seed-0 plan produces."""
    assert (SAMPLES / f"{name}.json").read_text() == render(name)


@pytest.mark.parametrize("name", ALL)
def test_eventbridge_envelope(name):
    event = sample(name)
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert event["version"] == "0" and event["detail-type"] == "GuardDuty Finding"
    assert event["source"] == "aws.guardduty" and event["resources"] == []
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", event["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    detail = event["detail"]
    assert detail["schemaVersion"] == "2.0" and detail["type"] == SCENARIOS[name].finding_type
    assert event["account"] == detail["accountId"] and event["region"] == detail["region"]
    assert detail["arn"].endswith("/finding/" + detail["id"]) and re.fullmatch(r"[0-9a-f]{32}", detail["id"])
    details = detail["resource"]["instanceDetails"]
    assert detail["resource"]["resourceType"] == "Instance"
    assert details["instanceType"] == INSTANCE_TYPE == "m5.large"
    assert details["availabilityZone"].startswith(detail["region"])
    service = detail["service"]
    assert service["resourceRole"] == ("TARGET" if name == "ssh-bruteforce" else "ACTOR")
    assert service["eventFirstSeen"] <= service["eventLastSeen"] <= detail["updatedAt"]
    assert service["count"] >= 1
    action_type = service["action"]["actionType"]
    assert action_type == ("DNS_REQUEST" if name == "c2-dns" else "NETWORK_CONNECTION")


_MODEL_TYPES = {
    "string": str,
    "integer": int,
    "long": int,
    "double": (int, float),
    "float": (int, float),
    "boolean": bool,
}


def _check_shape(value, shape_name: str, shapes: dict, path: str, errors: list[str]) -> None:
    if value is None:
        return
    shape = shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        members = {m.get("locationName", k[0].lower() + k[1:]): m["shape"] for k, m in shape["members"].items()}
        if not isinstance(value, dict):
            errors.append(f"{path}: expected an object")
            return
        for key, item in value.items():
            if key not in members:
                errors.append(f"{path}.{key}: not in the GuardDuty model")
            else:
                _check_shape(item, members[key], shapes, f"{path}.{key}", errors)
    elif kind == "list":
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list")
            return
        for i, item in enumerate(value):
            _check_shape(item, shape["member"]["shape"], shapes, f"{path}[{i}]", errors)
    elif kind in _MODEL_TYPES:
        if isinstance(value, bool) and kind != "boolean" or not isinstance(value, _MODEL_TYPES[kind]):
            errors.append(f"{path}: expected {kind}, got {value!r}")
        elif "enum" in shape and value not in shape["enum"]:
            errors.append(f"{path}: {value!r} not one of {shape['enum']}")


@pytest.mark.parametrize("name", ALL)
def test_finding_follows_the_guardduty_api_model(name):
    model = json.loads(gzip.open(shared("guardduty", "botocore-1.44.5_guardduty-model", "service-2.json.gz")).read())
    errors: list[str] = []
    _check_shape(sample(name)["detail"], "Finding", model["shapes"], "detail", errors)
    assert errors == []


@pytest.mark.parametrize("name", ALL)
def test_request_model_accepts_the_sample(name, generated):
    info = generated[name]
    request = normalise(sample(name))
    assert request.trigger == "guardduty"
    assert request.instance_id == info.instance_id
    finding = request.finding
    assert finding.type == info.finding_type
    assert finding.finding_enis == [info.eni_id]
    e = info.expected
    if name == "c2-dns":
        assert finding.domains == [e.c2_domain] and finding.remote_ips == []
    elif name == "beaconing":
        assert finding.remote_ips == [e.beacon_peer_ip]
        assert (finding.remote_ports, finding.local_ports) == ([e.beacon_port], [e.finding_local_port])
    elif name == "ssh-bruteforce":
        assert finding.remote_ips == [e.bruteforce_source_ip]
        assert (finding.remote_ports, finding.local_ports) == ([e.finding_remote_port], [22])
    elif name == "exfiltration":
        assert finding.remote_ips == [e.exfil_peer_ip]
        assert (finding.remote_ports, finding.local_ports) == ([e.exfil_port], [e.finding_local_port])


@pytest.mark.parametrize("name", ALL)
def test_sample_matches_the_generated_traffic(name, generated):
    info = generated[name]
    detail = sample(name)["detail"]
    nic = detail["resource"]["instanceDetails"]["networkInterfaces"][0]
    assert detail["resource"]["instanceDetails"]["instanceId"] == info.instance_id
    assert nic["networkInterfaceId"] == info.eni_id
    assert nic["privateIpAddress"] == info.suspect_ip
    assert nic["privateIpAddresses"] == [{"privateDnsName": nic["privateDnsName"], "privateIpAddress": info.suspect_ip}]
    assert (nic["subnetId"], nic["vpcId"]) == (info.subnet_id, info.vpc_id)
    assert detail["resource"]["instanceDetails"]["availabilityZone"] == info.availability_zone
    assert (detail["accountId"], detail["region"]) == (info.account_id, info.region)

    # The finding's connection (or DNS query) is in the seed-0 capture.
    action = detail["service"]["action"]
    tuples = set()
    qnames = set()
    for m in mirrored(info.pcap):
        if m.proto == 6:
            tuples.add((m.src, m.src_port, m.dst, m.dst_port))
        elif m.dst_port == 53 and m.udp_payload:
            qnames.add(_qname(m.udp_payload))
    if action["actionType"] == "DNS_REQUEST":
        assert action["dnsRequestAction"]["domain"] in qnames
        return
    conn = action["networkConnectionAction"]
    remote = conn["remoteIpDetails"]["ipAddressV4"]
    local_port = conn["localPortDetails"]["port"]
    remote_port = conn["remotePortDetails"]["port"]
    assert conn["localIpDetails"]["ipAddressV4"] == info.suspect_ip
    if conn["connectionDirection"] == "OUTBOUND":
        assert (info.suspect_ip, local_port, remote, remote_port) in tuples
    else:
        assert (remote, remote_port, info.suspect_ip, local_port) in tuples
    assert remote in info.expected.suspicious_ips


def _qname(payload: bytes) -> str:
    labels, i = [], 12
    while payload[i]:
        labels.append(payload[i + 1 : i + 1 + payload[i]].decode())
        i += 1 + payload[i]
    return ".".join(labels)


def test_samples_directory_holds_exactly_the_stories():
    assert sorted(p.stem for p in Path(SAMPLES).glob("*.json")) == sorted(ALL)
