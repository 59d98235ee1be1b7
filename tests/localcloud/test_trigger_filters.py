"""The trigger rule with its type, account and sample filters, as EventBridge matches them.

A local cloud deployed with FindingTypePrefixes, ExcludedFindingTypePrefix and MinFindingSeverity
set; the deployed rule's pattern answers TestEventPattern (EventBridge's TestEventPattern API) and
decides which PutEvents start an execution. EventBridge refuses invalid patterns at PutRule with
InvalidEventPatternException (the reasons of its matcher, aws/event-ruler)."""

from __future__ import annotations

import copy
import json
import time

import pytest
from botocore.exceptions import ClientError

from tests.conftest import REPO, shared

PARAMETERS = {"FindingTypePrefixes": "Backdoor:EC2/,Trojan:EC2/", "ExcludedFindingTypePrefix": "Backdoor:EC2/Spambot",
              "MinFindingSeverity": "MEDIUM"}


@pytest.fixture(scope="module")
def cloud():
    from tapcase.localcloud import LocalCloud

    with LocalCloud(time_scale=0, parameters=PARAMETERS) as local:
        yield local


@pytest.fixture(scope="module")
def rule(cloud):
    events = cloud.client("events")
    return events, events.describe_rule(Name=cloud.resource("TriggerRule"))["EventPattern"]


def _event(story="c2-dns", **detail):
    event = json.loads((REPO / "samples" / "findings" / f"{story}.json").read_text())
    event["detail"].update(detail)
    return event


def _matches(rule, event):
    events, pattern = rule
    return events.test_event_pattern(EventPattern=pattern, Event=json.dumps(event))["Result"]


def test_the_deployed_pattern_has_a_numeric_threshold(rule):
    pattern = json.loads(rule[1])
    assert pattern["detail"]["severity"] == [{"numeric": [">=", 4]}]


@pytest.mark.parametrize(("finding_type", "severity", "matches"), [
    ("Backdoor:EC2/C&CActivity.B!DNS", 8, True),
    ("Trojan:EC2/DNSDataExfiltration", 4, True),       # MEDIUM is 4 and up
    ("Trojan:EC2/DNSDataExfiltration", 3.9, False),    # below the threshold
    ("Backdoor:EC2/Spambot", 8, False),                # excluded prefix
    ("Recon:EC2/PortProbeUnprotectedPort", 8, False),  # not an included prefix
])
def test_types_and_severity(rule, finding_type, severity, matches):
    assert _matches(rule, _event(type=finding_type, severity=severity)) is matches


def test_other_accounts_and_samples_do_not_match(rule):
    assert _matches(rule, _event())
    assert not _matches(rule, _event(accountId="111122223333"))
    sample = _event()
    sample["detail"]["service"]["additionalInfo"]["sample"] = True
    assert not _matches(rule, sample)
    real_not_sample = _event()
    real_not_sample["detail"]["service"]["additionalInfo"]["sample"] = False
    assert _matches(rule, real_not_sample)


def test_only_matching_findings_on_the_bus_start_executions(cloud):
    # PutEvents -> TriggerRule -> StartExecution, as on AWS: of these four, only the first matches
    sfn = cloud.client("stepfunctions")
    arn = cloud.stack.outputs["InvestigationStateMachineArn"]
    before = {e["executionArn"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]}
    below = _event(severity=2)
    excluded = _event(type="Backdoor:EC2/Spambot")
    foreign = _event(accountId="111122223333")
    entries = [{"Source": "aws.guardduty", "DetailType": "GuardDuty Finding", "Detail": json.dumps(e["detail"])}
               for e in (_event(), below, excluded, foreign)]
    assert cloud.client("events").put_events(Entries=entries)["FailedEntryCount"] == 0
    deadline = time.monotonic() + 20
    started = []
    while time.monotonic() < deadline:
        started = [e for e in sfn.list_executions(stateMachineArn=arn)["executions"] if e["executionArn"] not in before]
        if started:
            time.sleep(0.5)  # the others would have started by now too
            started = [e for e in sfn.list_executions(stateMachineArn=arn)["executions"]
                       if e["executionArn"] not in before]
            break
        time.sleep(0.05)
    assert len(started) == 1
    execution_input = json.loads(sfn.describe_execution(executionArn=started[0]["executionArn"])["input"])
    assert execution_input["detail"]["severity"] == 8 and execution_input["detail"]["type"].startswith("Backdoor:EC2/C")


@pytest.mark.parametrize(("pattern", "reason"), [
    ({"detail": {"severity": [{"numeric": [">=", "7"]}]}}, "Value of >= must be numeric"),
    ({"detail": {"type": [{"anything-but": {"prefix": ["a", "b"]}}]}}, "prefix/suffix match pattern must be a string"),
    ({"detail": {"type": [{"anything-but": {"regex": "x"}}]}}, "Unsupported anything-but pattern: regex"),
    ({"detail": {"type": [{"sounds-like": "x"}]}}, "Unrecognized match type sounds-like"),
    ({"detail": {"x": [{"exists": "yes"}]}}, "exists match pattern must be either true or false."),
    ({"detail": {"x": []}}, "Empty arrays are not allowed"),
])
def test_eventbridge_refuses_invalid_patterns(cloud, pattern, reason):
    """PutRule and TestEventPattern answer InvalidEventPatternException "Event pattern is not valid.
    Reason: ..." for a pattern EventBridge's matcher does not compile."""
    events = cloud.client("events")
    for call in (lambda: events.put_rule(Name="invalid", EventPattern=json.dumps(pattern)),
                 lambda: events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(_event()))):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == "InvalidEventPatternException"
        assert caught.value.response["Error"]["Message"] == f"Event pattern is not valid. Reason: {reason}"


def test_numeric_matching_takes_numbers_only_and_or_needs_two_alternatives(rule):
    """EventBridge's numeric matching applies to JSON numbers (true is not 1); "$or" is an operator
    with two or more alternatives, otherwise a field name whose objects are not match expressions."""
    events = rule[0]
    numeric = json.dumps({"detail": {"n": [{"numeric": [">=", 1]}]}})
    assert events.test_event_pattern(EventPattern=numeric, Event=json.dumps({**_event(), "detail": {"n": 1}}))["Result"]
    assert not events.test_event_pattern(EventPattern=numeric,
                                         Event=json.dumps({**_event(), "detail": {"n": True}}))["Result"]
    one = json.dumps({"detail": {"$or": [{"n": [1]}]}})
    with pytest.raises(ClientError, match="Unrecognized match type n"):
        events.test_event_pattern(EventPattern=one, Event=json.dumps({**_event(), "detail": {"n": 1}}))
    two = json.dumps({"detail": {"$or": [{"n": [1]}, {"m": [2]}]}})
    assert events.test_event_pattern(EventPattern=two, Event=json.dumps({**_event(), "detail": {"m": 2}}))["Result"]


def test_a_real_finding_shape_matches_once_in_the_account(rule):
    real = json.loads(shared("guardduty", "hasanakgoz_security_monkey",
                             "recon_ec2_portprobeunprotectedport_eventbridge.json").read_text())
    moved = copy.deepcopy(real)
    moved["detail"].update(accountId="123456789012", type="Trojan:EC2/BlackholeTraffic", severity=5)
    assert _matches(rule, moved) and not _matches(rule, real)
