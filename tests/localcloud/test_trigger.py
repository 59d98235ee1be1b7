"""The TriggerRule: which GuardDuty events start an investigation (EventBridge pattern matching)."""

from __future__ import annotations

import copy
import json

import pytest

from tests.conftest import REPO, shared


@pytest.fixture(scope="module")
def rule(deployed_cloud):
    events = deployed_cloud.client("events")
    name = deployed_cloud.resource("TriggerRule")
    described = events.describe_rule(Name=name)
    targets = events.list_targets_by_rule(Rule=name)["Targets"]
    return events, described["EventPattern"], targets


def _envelope(detail):
    return {"id": "1", "source": "aws.guardduty", "detail-type": "GuardDuty Finding", "account": "123456789012",
            "time": "2024-06-03T14:00:00Z", "region": "us-east-1", "resources": [], "detail": detail}


def _matches(events, pattern, event):
    return events.test_event_pattern(EventPattern=pattern, Event=json.dumps(event))["Result"]


def test_rule_targets_the_state_machine(deployed_cloud, rule):
    _, _, targets = rule
    assert [t["Arn"] for t in targets] == [deployed_cloud.stack.outputs["InvestigationStateMachineArn"]]
    assert targets[0]["RoleArn"].endswith("TriggerRole")


@pytest.mark.parametrize(
    ("story", "matches"),
    # the default MinFindingSeverity is HIGH (>= 7): C&C findings are 8, a brute force against the
    # instance (TARGET) is 2 and unusual traffic volume 5; those are started by hand
    [("c2-dns", True), ("beaconing", True), ("ssh-bruteforce", False), ("exfiltration", False)],
)
def test_sample_findings_against_the_default_severity(rule, story, matches):
    events, pattern, _ = rule
    event = json.loads((REPO / "samples" / "findings" / f"{story}.json").read_text())
    assert _matches(events, pattern, event) is matches


def test_low_severity_and_non_ec2_findings_do_not_match(rule):
    events, pattern, _ = rule
    real = json.loads(shared("guardduty", "hasanakgoz_security_monkey",
                             "recon_ec2_portprobeunprotectedport_eventbridge.json").read_text())
    assert real["detail"]["severity"] == 2
    assert not _matches(events, pattern, real)  # severity 2 < HIGH (7)
    high = copy.deepcopy(real)
    high["detail"]["severity"] = 7.5
    assert not _matches(events, pattern, high)  # the finding's account (726064622671) is not the stack's
    high["detail"]["accountId"] = "123456789012"
    assert _matches(events, pattern, high)
    s3 = json.loads(shared("guardduty", "aws-samples_amazon-guardduty-automated-response-sample",
                           "guardduty_s3_event.json").read_text())
    s3["severity"] = 8
    del s3["service"]["additionalInfo"]["sample"]
    assert not _matches(events, pattern, _envelope(s3))


def test_a_finding_on_the_bus_starts_an_investigation(deployed_cloud):
    # PutEvents -> TriggerRule -> StartExecution, as on AWS. The instance does not exist here,
    # so the execution that starts ends in Plan's refusal, which shows the finding reached it.
    from tests.conftest import wait_for_execution

    event = json.loads((REPO / "samples" / "findings" / "c2-dns.json").read_text())
    resp = deployed_cloud.client("events").put_events(Entries=[{
        "Source": "aws.guardduty", "DetailType": "GuardDuty Finding", "Detail": json.dumps(event["detail"]),
    }])
    assert resp["FailedEntryCount"] == 0
    sfn = deployed_cloud.client("stepfunctions")
    arn = deployed_cloud.stack.outputs["InvestigationStateMachineArn"]
    import time

    deadline = time.monotonic() + 20
    executions = []
    while time.monotonic() < deadline and not executions:
        executions = [e for e in sfn.list_executions(stateMachineArn=arn)["executions"]]
        time.sleep(0.1)
    (execution,) = executions
    desc = wait_for_execution(sfn, execution["executionArn"])
    assert json.loads(desc["input"])["detail"]["id"] == event["detail"]["id"]
    assert (desc["status"], desc["error"]) == ("FAILED", "InstanceNotFound")
