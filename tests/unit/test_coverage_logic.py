"""Coverage mode's reconcile (pure): which ENIs are covered, which sessions to create and delete."""

from __future__ import annotations

from typing import Any

import pytest

from tapcase_contract import tags as tag_keys
from tapcase_contract.limits import COVERAGE_SESSION_NUMBER, COVERAGE_VNI
from tapcase_workflow.errors import CoverageNotConfigured, InvalidCoverageEvent
from tapcase_workflow.handlers.coverage import scope_of
from tapcase_workflow.logic import coverage as cov
from tapcase_workflow.logic.plan import vni_for

SELECTOR = cov.Selector("coverage", "on")
TARGET = "tmt-0123456789abcdef0"


def instance(iid: str, state: str = "running", enis: tuple[str, ...] = ("eni-1",), **tags: str) -> dict[str, Any]:
    return {"InstanceId": iid, "State": {"Name": state},
            "Tags": [{"Key": k.replace("_", ":"), "Value": v} for k, v in tags.items()],
            "NetworkInterfaces": [{"NetworkInterfaceId": e} for e in enis]}


def session(sid: str, eni: str, number: int, *, iid: str | None = None, target: str = TARGET,
            vni: int = COVERAGE_VNI) -> dict[str, Any]:
    tags = tag_keys.coverage_tags(iid) if iid else [{"Key": tag_keys.INVESTIGATION_ID, "Value": "inv"}]
    return {"TrafficMirrorSessionId": sid, "NetworkInterfaceId": eni, "SessionNumber": number,
            "TrafficMirrorTargetId": target, "VirtualNetworkId": vni, "Tags": tags}


def test_only_running_tagged_instances_that_are_not_tapcases_own_are_covered():
    found = cov.desired([
        instance("i-1", enis=("eni-1", "eni-2"), coverage="on"),
        instance("i-2", state="stopped", enis=("eni-3",), coverage="on"),
        instance("i-3", enis=("eni-4",), coverage="off"),
        instance("i-4", enis=("eni-5",), coverage="on", **{"tapcase_role": "fleet-member"}),
        instance("i-5", enis=("eni-6",), coverage="on"),
    ], SELECTOR, target_enis={"eni-6"})
    assert found == {"eni-1": "i-1", "eni-2": "i-1"}


def test_coverage_off_selects_nothing_and_removes_every_coverage_session():
    assert cov.desired([instance("i-1", coverage="on")], cov.Selector(), set()) == {}
    plan = cov.reconcile({}, {"eni-1": [session("tms-1", "eni-1", COVERAGE_SESSION_NUMBER, iid="i-1")]}, target_id=TARGET)
    assert plan.delete == ["tms-1"] and plan.create == [] and not plan.filter_needed


def test_a_new_eni_gets_the_highest_session_number_so_investigations_come_first():
    plan = cov.reconcile({"eni-1": "i-1"}, {}, target_id=TARGET)
    assert plan.create == [cov.NewSession("i-1", "eni-1", COVERAGE_SESSION_NUMBER)] and plan.filter_needed
    # an investigation's session (number 1) is evaluated before the coverage session
    plan = cov.reconcile({"eni-1": "i-1"}, {"eni-1": [session("tms-9", "eni-1", 32766)]}, target_id=TARGET)
    assert plan.create == [cov.NewSession("i-1", "eni-1", 32765)]


def test_an_eni_with_three_sessions_is_skipped_saying_why():
    full = [session(f"tms-{n}", "eni-1", n) for n in (1, 2, 3)]
    plan = cov.reconcile({"eni-1": "i-1"}, {"eni-1": full}, target_id=TARGET)
    assert plan.create == [] and "3 mirror sessions" in plan.skipped[0]


def test_a_covered_eni_is_left_alone_and_a_duplicate_or_stale_session_goes():
    ours = [session("tms-a", "eni-1", 32766, iid="i-1"), session("tms-b", "eni-1", 32765, iid="i-1")]
    plan = cov.reconcile({"eni-1": "i-1"}, {"eni-1": ours}, target_id=TARGET)
    assert plan.create == [] and plan.delete == ["tms-b"] and plan.covered == {"eni-1": "i-1"}
    # a session to another target (FleetTargetId changed) is replaced
    plan = cov.reconcile({"eni-1": "i-1"}, {"eni-1": [session("tms-a", "eni-1", 32766, iid="i-1", target="tmt-old")]},
                         target_id=TARGET)
    assert plan.delete == ["tms-a"] and plan.create == [cov.NewSession("i-1", "eni-1", COVERAGE_SESSION_NUMBER)]


def test_an_event_reconciles_its_instance_only():
    sessions = {"eni-1": [session("tms-1", "eni-1", 32766, iid="i-1")], "eni-2": [session("tms-2", "eni-2", 32766, iid="i-2")]}
    plan = cov.reconcile({"eni-3": "i-3"}, sessions, target_id=TARGET, scope={"i-2"})
    assert plan.delete == ["tms-2"] and plan.create == []


def test_investigation_vnis_never_take_the_coverage_vni():
    """The next VNI after a taken one wraps past the coverage VNI (the highest) to 1."""
    first = vni_for("x")
    taken = set(range(first, first + 5000))
    assert vni_for("x", taken) == first + 5000 != COVERAGE_VNI
    assert COVERAGE_VNI == 16_777_215  # the highest 24-bit VNI: vni_for's wrap-around skips it


def test_a_selector_without_a_fleet_is_refused():
    with pytest.raises(CoverageNotConfigured, match="FleetTargetId"):
        cov.check_settings(SELECTOR, "")
    with pytest.raises(CoverageNotConfigured, match="CoverageTagKey is empty"):
        cov.check_settings(cov.Selector("", "on"), TARGET)
    cov.check_settings(cov.Selector(), "")  # off: fine


def test_events_are_parsed_as_aws_sends_them():
    """EC2 user guide, "State change events for Amazon EC2 instances" (its example); Tag Editor
    user guide, "Monitor tag changes with serverless workflows and Amazon EventBridge"."""
    state = {"id": "7bf73129-1428-4cd3-a780-95db273d1602", "version": "0",
             "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
             "account": "123456789012", "time": "2021-11-11T21:29:54Z", "region": "us-east-1",
             "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0"],
             "detail": {"instance-id": "i-1234567890abcdef0", "state": "pending"}}
    assert scope_of(state) == ["i-1234567890abcdef0"]
    tag = {"version": "0", "id": "bddcf1d6-0251-35a1-aab0-adc1fb47c11c", "detail-type": "Tag Change on Resource",
           "source": "aws.tag", "account": "123456789012", "time": "2018-09-18T20:41:38Z", "region": "us-east-1",
           "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-0000000aaaaaaaaaa"],
           "detail": {"changed-tag-keys": ["a-new-key"], "tags": {"a-new-key": "v"}, "service": "ec2",
                      "resource-type": "instance", "version": 3}}
    assert scope_of(tag) == ["i-0000000aaaaaaaaaa"]
    scheduled = {"version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": "123456789012", "time": "2024-01-01T00:00:00Z", "region": "us-east-1",
                 "resources": [], "detail": {}}
    assert scope_of(scheduled) is None
    for bad in ({}, {**state, "detail": {"instance-id": "not-an-id", "state": "running"}},
                {**tag, "detail": {**tag["detail"], "service": "s3"}}):
        with pytest.raises(InvalidCoverageEvent):
            scope_of(bad)


def test_the_fleet_target_must_exist_and_be_a_load_balancers():
    from tapcase_workflow.errors import FleetTargetNotFound, UnsupportedFleetTarget

    with pytest.raises(FleetTargetNotFound, match="created nothing"):
        cov.check_target(TARGET, None)
    with pytest.raises(UnsupportedFleetTarget, match="network-interface"):
        cov.check_target(TARGET, {"TrafficMirrorTargetId": TARGET, "Type": "network-interface"})
    cov.check_target(TARGET, {"TrafficMirrorTargetId": TARGET, "Type": "network-load-balancer"})
    cov.check_target(TARGET, {"TrafficMirrorTargetId": TARGET, "GatewayLoadBalancerEndpointId": "vpce-1"})


def test_plan_notes_a_covered_instance_and_keeps_the_lowest_session_number():
    """The investigation's session (lowest free number) is evaluated before the coverage session
    (32766): no 'lower-numbered session takes the packets' warning, a coverage note instead."""
    from tapcase_workflow.logic.plan import covered_enis

    sessions = {"eni-1": [session("tms-c", "eni-1", COVERAGE_SESSION_NUMBER, iid="i-1")],
                "eni-2": [session("tms-x", "eni-2", 1)]}
    assert covered_enis(sessions, {"eni-1", "eni-2"}) == ["eni-1"]
    assert covered_enis(sessions, {"eni-2"}) == []
