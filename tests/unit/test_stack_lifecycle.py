"""What the stack's lifecycle resources (``CoverageLifecycle``, ``JanitorLifecycle``) answer CloudFormation (CloudFormation user guide, "Custom resource
response objects": Status, Reason required when FAILED, PhysicalResourceId non-empty and the same
in every response, StackId/RequestId/LogicalResourceId copied, the body at most 4096 bytes)."""

from __future__ import annotations

import json

import pytest

from tapcase_workflow.errors import InvalidCoverageEvent
from tapcase_workflow.lifecycle import stack_request as parse
from tapcase_workflow.logic.stack_lifecycle import MAX_RESPONSE_BYTES, physical_id, response


def stack_request(event):
    return parse(event, InvalidCoverageEvent)


STACK = "arn:aws:cloudformation:us-east-1:123456789012:stack/tapcase/0f2c"


def request(kind: str, **extra: str) -> dict[str, object]:
    return {"RequestType": kind, "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:cov",
            "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?sig=1",
            "StackId": STACK, "RequestId": "r-1", "LogicalResourceId": "CoverageLifecycle",
            "ResourceType": "Custom::Coverage", "ResourceProperties": {"CoverageTagKey": "coverage"}, **extra}


def test_the_physical_id_is_made_once_and_echoed_after():
    created = stack_request(request("Create"))
    assert created is not None
    made = physical_id(created.root)
    assert made == "tapcase-CoverageLifecycle"
    for kind in ("Update", "Delete"):
        later = stack_request(request(kind, PhysicalResourceId=made))
        assert later is not None and physical_id(later.root) == made  # never a replacement


def test_a_success_copies_the_request_and_carries_the_data():
    req = stack_request(request("Create"))
    assert req is not None
    body = json.loads(response(req.root, "SUCCESS", data={"Enabled": "true", "Covered": "1"}))
    assert body["Status"] == "SUCCESS" and body["StackId"] == STACK and body["RequestId"] == "r-1"
    assert body["LogicalResourceId"] == "CoverageLifecycle"
    assert body["Data"] == {"Enabled": "true", "Covered": "1"} and body["NoEcho"] is False


def test_a_failure_keeps_a_reason_and_fits_in_4096_bytes():
    req = stack_request(request("Delete", PhysicalResourceId="tapcase-CoverageLifecycle"))
    assert req is not None
    encoded = response(req.root, "FAILED", reason="FleetTargetNotFound: " + "x" * 10_000, data={"a": "b" * 5000})
    body = json.loads(encoded)
    assert len(encoded) <= MAX_RESPONSE_BYTES
    assert body["Reason"].startswith("FleetTargetNotFound: ") and body["Reason"].endswith("...")
    assert body["Data"] == {} and body["PhysicalResourceId"] == "tapcase-CoverageLifecycle"
    assert json.loads(response(req.root, "FAILED"))["Reason"]  # never an empty reason


def test_other_events_are_not_stack_requests_and_a_broken_one_is_refused_typed():
    assert stack_request({"detail-type": "Scheduled Event", "source": "aws.events"}) is None
    with pytest.raises(InvalidCoverageEvent, match="CloudFormation request that cannot be read"):
        stack_request({**request("Delete"), "ResponseURL": "https://x/y"})  # Delete without PhysicalResourceId
    with pytest.raises(InvalidCoverageEvent):
        stack_request({**request("Create"), "RequestType": "Rename"})


def test_a_sweep_request_is_typed_and_an_account_outside_the_stack_is_refused():
    """``tapcase janitor`` asks the JanitorFunction with a SweepRequest: extra fields, a negative age or
    a malformed account id are refused, and an account that is neither the stack's nor a member's
    is refused naming the allowed ones (JanitorError: nothing swept)."""
    from tapcase_workflow.errors import JanitorError
    from tapcase_workflow.handlers.janitor import _chosen, parse_event
    from tapcase_workflow.models.events import SweepRequest

    parsed = parse_event({"sweep": "tapcase-janitor", "dry_run": True, "older_than_seconds": 60,
                          "accounts": ["222222222222"]})
    assert isinstance(parsed, SweepRequest) and parsed.dry_run and parsed.accounts == ["222222222222"]
    for bad in ({"sweep": "tapcase-janitor", "older_than_seconds": -1},
                {"sweep": "tapcase-janitor", "accounts": ["2222"]},
                {"sweep": "tapcase-janitor", "accounts": []},
                {"sweep": "tapcase-janitor", "surprise": 1}):
        with pytest.raises(JanitorError, match="sweep request"):
            parse_event(bad)
    roles = ["arn:aws:iam::123456789012:role/tapcase-member", "arn:aws:iam::222222222222:role/tapcase-member"]
    assert _chosen(roles, None) == roles
    assert _chosen(roles, ["222222222222", "222222222222"]) == roles[1:]
    with pytest.raises(JanitorError, match="333333333333: not one of the stack's accounts \\(123456789012, 222222222222"):
        _chosen(roles, ["333333333333"])
