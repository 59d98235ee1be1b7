"""Planning for a sensor fleet (pure): the target checked, no sensor placed, a VNI free on the fleet."""

from __future__ import annotations

import pytest

from tapcase_workflow.errors import FleetNotConfigured, FleetTargetNotFound, UnsupportedFleetTarget
from tapcase_workflow.logic.mirror_filter import rule_requests
from tapcase_workflow.logic.plan import MAX_VNI, dry_run_view, fleet_target, make_plan, target_kind, vni_for
from tapcase_workflow.logic.request import normalise
from tests.unit.test_plan import REQUEST, STACK, instance

NLB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/fleet/0123456789abcdef"
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/tapcase-fleet-control"


def described(kind: str) -> dict:
    """DescribeTrafficMirrorTargets' TrafficMirrorTarget (EC2 API reference: Type is network-interface,
    network-load-balancer or gateway-load-balancer-endpoint)."""
    out = {"TrafficMirrorTargetId": "tmt-0123456789abcdef0", "Type": kind, "OwnerId": "123456789012"}
    out.update({"network-load-balancer": {"NetworkLoadBalancerArn": NLB},
                "gateway-load-balancer-endpoint": {"GatewayLoadBalancerEndpointId": "vpce-0123456789abcdef0"},
                "network-interface": {"NetworkInterfaceId": "eni-0123456789abcdef0"}}[kind])
    return out


def test_the_parameter_is_the_default_and_a_request_may_choose():
    assert target_kind(None, "") == "sensor"
    assert target_kind(None, "tmt-0123456789abcdef0") == "fleet"
    assert target_kind("sensor", "tmt-0123456789abcdef0") == "sensor"
    with pytest.raises(FleetNotConfigured, match="FleetTargetId is empty"):
        target_kind("fleet", "")
    assert normalise({"instance_id": "i-0123456789abcdef0", "target": "fleet"}).target == "fleet"


@pytest.mark.parametrize("kind", ["network-load-balancer", "gateway-load-balancer-endpoint"])
def test_nlb_and_gwlb_endpoint_targets_are_fleets(kind):
    target = fleet_target("tmt-0123456789abcdef0", described(kind), QUEUE)
    assert target.kind == "fleet" and target.target_type == kind and target.control_queue_url == QUEUE
    assert target.load_balancer in (NLB, "vpce-0123456789abcdef0")


def test_missing_and_eni_targets_are_refused():
    with pytest.raises(FleetTargetNotFound, match="does not exist"):
        fleet_target("tmt-0123456789abcdef0", None, QUEUE)
    with pytest.raises(UnsupportedFleetTarget, match="network-interface"):
        fleet_target("tmt-0123456789abcdef0", described("network-interface"), QUEUE)
    with pytest.raises(FleetNotConfigured, match="FleetControlQueueUrl"):
        fleet_target("tmt-0123456789abcdef0", described("network-load-balancer"), "")


def test_fleet_plan_places_no_sensor_and_takes_a_free_vni():
    fleet = fleet_target("tmt-0123456789abcdef0", described("network-load-balancer"), QUEUE)
    own = vni_for("case-1")
    p = make_plan(REQUEST, instance("eni-a"), {}, set(), stack=STACK, now_epoch=1_000, run_name="case-1",
                  fleet=fleet, fleet_vnis={own})
    assert p.sensor is None and p.target == fleet
    assert p.vni != own and p.vni == vni_for("case-1", {own})
    view = dry_run_view(p)
    assert view["target"]["kind"] == "fleet" and view["target"]["target_id"] == "tmt-0123456789abcdef0"
    assert view["sensor"] is None


def test_vni_skips_taken_ones_and_wraps_within_24_bits():
    start = vni_for("x")
    assert vni_for("x", {start, start % MAX_VNI + 1}) == (start + 1) % MAX_VNI + 1
    assert 1 <= vni_for("x", set(range(start, MAX_VNI + 1))) < start


def test_fleet_filter_has_no_sensor_exclusion():
    rules = [r for r in make_plan(REQUEST, instance("eni-a"), {}, set(), stack=STACK, now_epoch=1).filter_rules]
    calls = rule_requests("tmf-1", rules, None, "d")
    assert [c["RuleNumber"] for c in calls] == [100, 100]
    assert len(rule_requests("tmf-1", rules, "10.0.0.9", "d")) == 4


def test_cli_flag_asks_for_the_fleet_and_names_itself_when_wrong():
    from tapcase.remote.errors import CliError
    from tapcase.remote.requests import build_request

    common = dict(instance_id="i-0123456789abcdef0", eni_ids=[], tags=[], duration=None, reason=None,
                  requested_by="alice", rules=None, investigation_id=None, dry_run=False)
    assert build_request(**common, mirror_to="fleet")["target"] == "fleet"
    with pytest.raises(CliError, match="--mirror-to"):
        build_request(**common, mirror_to="nlb")
