"""Planning (pure): refusals, ENIs, session numbers, warnings, placement."""

from __future__ import annotations

import pytest

from tapcase_workflow.errors import (
    InstanceNotFound,
    InstanceNotRunning,
    InvalidRequest,
    NoFreeMirrorSlot,
    UnsupportedInstanceType,
)
from tapcase_workflow.logic.mirror_filter import rule_requests
from tapcase_workflow.logic.plan import StackSettings, make_plan, run_token, vni_for
from tapcase_workflow.logic.request import normalise

STACK = StackSettings(bucket="evidence", region="us-east-1")
REQUEST = normalise({"instance_id": "i-0123456789abcdef0", "duration_seconds": 300}, execution_name="case-1")


def instance(*enis, state="running", itype="m5.large"):
    return {
        "InstanceId": "i-0123456789abcdef0", "InstanceType": itype, "State": {"Name": state},
        "Placement": {"AvailabilityZone": "us-east-1a"}, "VpcId": "vpc-1",
        "NetworkInterfaces": [
            {"NetworkInterfaceId": eni, "SubnetId": f"subnet-{i}", "Attachment": {"DeviceIndex": i},
             "PrivateIpAddresses": [{"PrivateIpAddress": f"10.0.0.{10 + i}"}]}
            for i, eni in enumerate(enis)
        ],
    }


def session(eni, number, sid="tms-1"):
    return {"NetworkInterfaceId": eni, "SessionNumber": number, "TrafficMirrorSessionId": sid}


def plan(inst, sessions=None, targets=frozenset(), run_name="case-1"):
    return make_plan(REQUEST, inst, sessions or {}, set(targets), stack=STACK, now_epoch=1_000, run_name=run_name)


def test_all_enis_are_sources_with_same_az_placement():
    p = plan(instance("eni-a", "eni-b"))
    assert [s.eni_id for s in p.sources] == ["eni-a", "eni-b"]
    assert [s.session_number for s in p.sources] == [1, 1]
    assert p.sensor.subnet_id == "subnet-0" and p.sensor.availability_zone == "us-east-1a"
    assert p.sensor.ingress_cidrs == ["10.0.0.10/32", "10.0.0.11/32"]
    assert p.sensor.ip_permissions == [{  # VXLAN from the sources, nothing else
        "IpProtocol": "udp", "FromPort": 4789, "ToPort": 4789,
        "IpRanges": [{"CidrIp": c, "Description": "VXLAN from mirrored i-0123456789abcdef0"} for c in p.sensor.ingress_cidrs]}]
    assert p.vni == vni_for("case-1") and 0 < p.vni < 2**24
    assert p.lock_expires_at > 1_000 + 300
    assert p.run_token == run_token("case-1") and len(p.run_token) == 8
    assert p.sensor_config.control_queue_name == p.control_queue_name == f"tapcase-case-1-{p.run_token}-control"
    assert len(p.control_queue_name) <= 80
    assert not p.warnings


@pytest.mark.parametrize(
    ("inst", "error", "message"),
    [
        (None, InstanceNotFound, "does not exist"),
        (instance("eni-a", state="terminated"), InstanceNotFound, "terminated"),
        (instance("eni-a", state="stopped"), InstanceNotRunning, "stopped"),
        (instance("eni-a", itype="t2.micro"), UnsupportedInstanceType, "t2"),
        (instance("eni-a", itype="m5.metal"), UnsupportedInstanceType, "bare metal"),
    ],
)
def test_refusals(inst, error, message):
    with pytest.raises(error, match=message):
        plan(inst)


def test_no_free_slot_on_any_eni_is_refused():
    full = {"eni-a": [session("eni-a", n, f"tms-{n}") for n in (1, 2, 3)]}
    with pytest.raises(NoFreeMirrorSlot, match="maximum"):
        plan(instance("eni-a"), full)


def test_full_eni_is_skipped_with_warning_when_another_is_free():
    full = {"eni-a": [session("eni-a", n, f"tms-{n}") for n in (1, 2, 3)]}
    p = plan(instance("eni-a", "eni-b"), full)
    assert [s.eni_id for s in p.sources] == ["eni-b"] and p.skipped_enis == ["eni-a"]
    assert "maximum" in p.warnings[0]


def test_lower_numbered_existing_session_is_warned():
    p = plan(instance("eni-a"), {"eni-a": [session("eni-a", 1, "tms-always-on")]})
    assert p.sources[0].session_number == 2
    assert "tms-always-on" in p.warnings[0] and "evaluated first" in p.warnings[0]


def test_target_eni_cannot_be_source():
    p = plan(instance("eni-a", "eni-b"), targets={"eni-a"})
    assert [s.eni_id for s in p.sources] == ["eni-b"]
    assert "target" in p.warnings[0]


def test_filter_rules_exclude_sensor_first():
    p = plan(instance("eni-a"))
    calls = rule_requests("tmf-1", p.filter_rules, "10.0.1.5", "d")
    assert [(c["TrafficDirection"], c["RuleNumber"], c["RuleAction"]) for c in calls] == [
        ("ingress", 1, "reject"), ("egress", 1, "reject"), ("ingress", 100, "accept"), ("egress", 100, "accept")
    ]
    assert calls[0]["SourceCidrBlock"] == "10.0.1.5/32" and calls[1]["DestinationCidrBlock"] == "10.0.1.5/32"
    assert "Protocol" not in calls[2]


def test_requested_rules_are_numbered_and_bounded():
    rules = [{"direction": "ingress", "protocol": 6, "destination_ports": [443, 443]}]
    req = normalise({"instance_id": "i-0123456789abcdef0", "filter_rules": rules})
    p = make_plan(req, instance("eni-a"), {}, set(), stack=STACK, now_epoch=0)
    calls = rule_requests("tmf-1", p.filter_rules, "10.0.1.5", "d")
    assert calls[2]["Protocol"] == 6 and calls[2]["DestinationPortRange"] == {"FromPort": 443, "ToPort": 443}
    assert p.network_services == ["amazon-dns"] and p.packet_length == 8500


def test_rules_beyond_one_filter_are_refused_before_planning():
    # VPC Traffic Mirroring quotas: "Maximum number of filter rules per filter: 10" (both directions
    # together); tapcase uses 2 of them to keep the sensor's own traffic out, so 8 may be requested.
    eight = normalise({"instance_id": "i-0123456789abcdef0",
                       "filter_rules": [{"direction": "egress"}] * 4 + [{"direction": "ingress"}] * 4})
    p = make_plan(eight, instance("eni-a"), {}, set(), stack=STACK, now_epoch=0)
    assert len(rule_requests("tmf-1", p.filter_rules, "10.0.1.5", "d")) == 10
    with pytest.raises(InvalidRequest, match=r"filter_rules: .*9 rules requested, at most 8 fit"):
        normalise({"instance_id": "i-0123456789abcdef0",
                   "filter_rules": [{"direction": "egress"}] * 5 + [{"direction": "ingress"}] * 4})


def test_each_run_gets_its_own_names_and_tokens():
    # a later run for the same finding must not reuse a client token or a just-deleted queue name
    first, second = plan(instance("eni-a"), run_name="exec-1"), plan(instance("eni-a"), run_name="exec-2")
    assert first.investigation_id == second.investigation_id
    assert first.run_token != second.run_token
    assert first.control_queue_name != second.control_queue_name
    assert first.sensor.security_group_name != second.sensor.security_group_name


def test_longest_ids_fit_aws_limits():
    # a hand-chosen id gets the instance id appended: 28 characters of it fit the 48 of the rule
    longest = normalise({"instance_id": "i-0123456789abcdef0", "investigation_id": "a" * 28})
    assert len(longest.investigation_id) == 48
    p = make_plan(longest, instance("eni-a"), {}, set(), stack=STACK, now_epoch=0, run_name="x")
    assert len(p.control_queue_name) <= 80  # SQS queue name
    assert len(f"{p.investigation_id}-{p.run_token}-target") <= 64  # EC2 client token
    with pytest.raises(InvalidRequest, match="investigation_id: .* at most 28 fit, because the instance id is appended"):
        normalise({"instance_id": "i-0123456789abcdef0", "investigation_id": "a" * 29})


def test_a_foreign_vni_is_a_warning():
    from tapcase_workflow.logic.capture_context import foreign_vni_warnings

    assert foreign_vni_warnings(77, {"77": 10}) == [] and foreign_vni_warnings(77, None) == []
    (warning,) = foreign_vni_warnings(77, {"77": 10, "5": 3})
    assert "VNI 5 (3 packets)" in warning and "77" in warning


def test_a_request_naming_enis_mirrors_only_those():
    from tapcase_workflow.logic.plan import dry_run_view

    req = normalise({"instance_id": "i-0123456789abcdef0", "eni_ids": ["eni-0000000000000000b"]})
    p = make_plan(req, instance("eni-0000000000000000a", "eni-0000000000000000b"), {}, set(), stack=STACK,
                  now_epoch=0, run_name="x")
    assert [s.eni_id for s in p.sources] == ["eni-0000000000000000b"]
    view = dry_run_view(p)
    assert view["sources"][0]["session_number"] == 1 and view["vni"] == p.vni and view["sensor"]["subnet_id"]
    foreign = normalise({"instance_id": "i-0123456789abcdef0", "eni_ids": ["eni-0000000000000000c"]})
    with pytest.raises(InvalidRequest, match="eni_ids: eni-0000000000000000c is not attached to i-0123456789abcdef0"):
        make_plan(foreign, instance("eni-0000000000000000a"), {}, set(), stack=STACK, now_epoch=0, run_name="x")
