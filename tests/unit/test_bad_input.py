"""Bad input everywhere (issue 11, item 9): every Lambda handler, given a malformed event, an
oversized one or ids that do not match their patterns, refuses with a typed error naming what is
wrong -- before any AWS client exists, so a crafted id never reaches SQL, an S3 key or a resource
name, and nothing is created."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from pydantic import ValidationError

from tapcase_workflow.errors import InvalidCoverageEvent, InvalidRequest, JanitorError
from tapcase_workflow.logic.request import normalise
from tests.test_template import FUNCTIONS

ENV = {
    "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "EVIDENCE_BUCKET": "evidence",
    "LOCK_TABLE": "locks", "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:tapcase-sm",
    "REPORT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:reports", "GLUE_DATABASE": "forensics",
    "DEFAULT_CAPTURE_SECONDS": "60", "MAX_CAPTURE_SECONDS": "3600", "SENSOR_READY_TIMEOUT_SECONDS": "900",
    "COLLECT_TIMEOUT_SECONDS": "1800", "MIRROR_PACKET_LENGTH": "8500", "EVIDENCE_PCAP_MAX_MB": "100",
    "JANITOR_MIN_AGE_SECONDS": "900",
}
CRAFTED = ["x'; DROP TABLE zeek_conn;--", "../../someone-else/raw", "A" * 49, "", "inv\nid", "inv id"]
OVERSIZED = "x" * 300_000  # more than a Step Functions payload (256 KiB)


class Context:
    function_name = "tapcase-test"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:tapcase-test"
    aws_request_id = "bad-input"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


@pytest.fixture(autouse=True)
def no_aws(monkeypatch):
    """Any AWS client the code would create fails the test: bad input must stop before."""
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)

    def refuse(service: str) -> Any:
        raise AssertionError(f"bad input reached AWS ({service})")

    # every client is made by clients._client (looked up at each call; the modules that imported
    # ``client`` by name keep the real one, which calls it)
    monkeypatch.setattr("tapcase_workflow.dal.clients._client", lambda *a: refuse(a[0]))


def _handler(logical_id: str):
    return importlib.import_module(FUNCTIONS[logical_id]["Properties"]["Handler"].rsplit(".", 1)[0]).handler


BAD_EVENTS = [{}, [], "not an object", None, 42, {"unexpected": OVERSIZED},
              *({"investigation_id": crafted} for crafted in CRAFTED)]


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
@pytest.mark.parametrize("event", BAD_EVENTS, ids=lambda e: repr(e)[:30])
def test_every_handler_refuses_bad_events_before_touching_aws(logical_id, event):
    with pytest.raises((InvalidRequest, JanitorError, InvalidCoverageEvent, ValidationError)) as refused:
        _handler(logical_id)(event, Context())
    assert str(refused.value)  # says what is wrong


@pytest.mark.parametrize("logical_id", ["VerifyEvidenceFunction", "TeardownFunction"])
@pytest.mark.parametrize("crafted", CRAFTED)
def test_a_crafted_investigation_id_is_named_in_the_refusal(logical_id, crafted):
    event = {"investigation_id": crafted, "instance_id": "i-0123456789abcdef0"}
    with pytest.raises(ValidationError, match="investigation_id"):
        _handler(logical_id)(event, Context())


@pytest.mark.parametrize("extra, field", [
    ({"investigation_id": "x'; DROP TABLE zeek_conn;--"}, "investigation_id"),
    ({"investigation_id": "../../someone-else"}, "investigation_id"),
    ({"reason": OVERSIZED}, "reason"),
    ({"requested_by": OVERSIZED}, "requested_by"),
    ({"instance_id": "i-0123456789abcdef0; rm -rf /"}, "instance_id"),
    ({"filter_rules": [{"direction": "ingress"}] * 500}, "filter_rules"),
])
def test_plan_refuses_crafted_and_oversized_requests(extra, field):
    event = {"instance_id": "i-0123456789abcdef0", "duration_seconds": 60, **extra}
    with pytest.raises(InvalidRequest, match=field):
        normalise(event, max_duration_seconds=3600)
    with pytest.raises(InvalidRequest, match=field):
        _handler("PlanFunction")({"request": event, "execution_name": "bad-input"}, Context())


def _status_change(execution_arn: str, machine: str = ENV["STATE_MACHINE_ARN"]) -> dict[str, Any]:
    return {"version": "0", "id": "7bcd2a0e-6c4a-4d0b-9d4e-4f6e0a1f1a11", "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states", "account": "123456789012", "time": "2026-11-30T00:00:00Z", "region": "us-east-1",
            "resources": [execution_arn],
            "detail": {"executionArn": execution_arn, "stateMachineArn": machine, "name": "x", "status": "ABORTED"}}


@pytest.mark.parametrize("execution_arn", [
    "arn:aws:states:us-east-1:123456789012:execution:another-machine:x",  # another state machine's
    "arn:aws:states:eu-west-1:123456789012:execution:tapcase-sm:x",  # another region's
    "arn:aws:states:us-east-1:210987654321:execution:tapcase-sm:x",  # another account's
    "arn:aws:states:us-east-1:123456789012:execution:tapcase-sm:x y",  # not an execution name
])
def test_janitor_refuses_a_status_change_that_is_not_its_state_machines(execution_arn):
    with pytest.raises(JanitorError):
        _handler("JanitorFunction")(_status_change(execution_arn), Context())


def test_janitor_refuses_another_state_machines_ended_execution():
    other = "arn:aws:states:us-east-1:123456789012:stateMachine:another"
    with pytest.raises(JanitorError, match="not an ended execution of"):
        _handler("JanitorFunction")(_status_change(f"{other.replace(':stateMachine:', ':execution:')}:x", other),
                                    Context())
