"""Step Functions sends "Step Functions Execution Status Change" to EventBridge (source
``aws.states``; EventBridge events reference, "Step Functions events": delivery best effort), for
Standard executions starting and ending; the detail carries executionArn, stateMachineArn, name,
status, startDate/stopDate (epoch milliseconds), input/output as JSON text with
inputDetails/outputDetails, error and cause. A rule on the default bus matching ABORTED, TIMED_OUT
and FAILED -- the janitor's -- receives exactly those."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tapcase.localcloud.cloud import LocalCloud
from tests.localcloud.sfn_support import SEND_WITH_TOKEN, create_machine, start, wait_done


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=None, time_scale=0) as local_cloud:
        yield local_cloud


@pytest.fixture(scope="module")
def ended_events(cloud: LocalCloud) -> str:
    """A queue receiving the janitor's pattern (ended ABORTED, TIMED_OUT or FAILED)."""
    sqs, events = cloud.client("sqs"), cloud.client("events")
    url = sqs.create_queue(QueueName=f"ended-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="ended", EventPattern=json.dumps({
        "source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": ["ABORTED", "TIMED_OUT", "FAILED"]}}))
    events.put_targets(Rule="ended", Targets=[{"Id": "q", "Arn": arn}])
    return str(url)


def _received(cloud: LocalCloud, url: str, execution_arn: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    sqs, found = cloud.client("sqs"), []
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []):
            event = json.loads(message["Body"])
            if event["detail"]["executionArn"] == execution_arn:
                found.append(event)
        if found:
            time.sleep(0.3)  # anything else for this execution would have arrived by now
            return found + [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
                            .get("Messages", []) if json.loads(m["Body"])["detail"]["executionArn"] == execution_arn]
        time.sleep(0.05)
    return found


def test_a_failed_execution_sends_its_status_change(cloud, ended_events):
    sfn = cloud.client("stepfunctions")
    machine = create_machine(sfn, {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "why"}}})
    arn = start(sfn, machine, "fails", {"k": 1})
    assert wait_done(sfn, arn)["status"] == "FAILED"
    received = _received(cloud, ended_events, arn)
    # EventBridge delivers at least once: a copy may come twice, never another status
    assert received and all(e["detail"] == received[0]["detail"] for e in received), received
    event = received[0]
    assert (event["source"], event["detail-type"], event["resources"]) == (
        "aws.states", "Step Functions Execution Status Change", [arn])
    detail = event["detail"]
    assert {k: detail[k] for k in ("executionArn", "stateMachineArn", "name", "status", "error", "cause")} == {
        "executionArn": arn, "stateMachineArn": machine, "name": "fails", "status": "FAILED",
        "error": "Boom", "cause": "why"}
    assert json.loads(detail["input"]) == {"k": 1} and detail["inputDetails"] == {"included": True}
    assert detail["output"] is None
    assert isinstance(detail["startDate"], int) and detail["stopDate"] >= detail["startDate"]


def test_stop_execution_sends_aborted_at_once(cloud, ended_events):
    """StopExecution of an execution waiting on a task token: ABORTED, and the event says so."""
    sfn, sqs = cloud.client("stepfunctions"), cloud.client("sqs")
    queue = sqs.create_queue(QueueName=f"tok-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    machine = create_machine(sfn, {"StartAt": "W", "States": {"W": {
        "Type": "Task", "Resource": SEND_WITH_TOKEN, "End": True,
        "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}}}}})
    arn = start(sfn, machine, "stopped")
    give_up = time.monotonic() + 10
    while not sqs.receive_message(QueueUrl=queue).get("Messages"):
        assert time.monotonic() < give_up
    sfn.stop_execution(executionArn=arn, error="Analyst.Stopped", cause="enough")
    [event] = _received(cloud, ended_events, arn)
    assert (event["detail"]["status"], event["detail"]["error"], event["detail"]["cause"]) == (
        "ABORTED", "Analyst.Stopped", "enough")


def test_a_succeeded_execution_does_not_match_the_janitors_pattern(cloud, ended_events):
    sfn = cloud.client("stepfunctions")
    machine = create_machine(sfn, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    arn = start(sfn, machine, "succeeds")
    assert wait_done(sfn, arn)["status"] == "SUCCEEDED"
    assert _received(cloud, ended_events, arn, timeout=1.5) == []
