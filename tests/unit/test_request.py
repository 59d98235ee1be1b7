"""Normalising triggers into one request (pure logic), on real GuardDuty samples."""

from __future__ import annotations

import json

import pytest

from tapcase_workflow.errors import InvalidRequest, NotAnEc2Finding
from tapcase_workflow.logic.request import investigation_id_for_finding, normalise
from tests.conftest import shared


def _load(*parts):
    return json.loads(shared("guardduty", *parts).read_text())


def test_eventbridge_envelope_port_probe():
    req = normalise(_load("hasanakgoz_security_monkey", "recon_ec2_portprobeunprotectedport_eventbridge.json"))
    assert req.trigger == "guardduty"
    assert req.instance_id == "i-036cb01d26bb09166"
    assert req.finding.type == "Recon:EC2/PortProbeUnprotectedPort"
    assert req.finding.resource_role == "TARGET"
    assert req.duration_seconds == 600


def test_bare_finding_with_epoch_launch_time_and_no_eni_id():
    req = normalise(_load("aws-samples_amazon-guardduty-automated-response-sample", "guardduty_ec2_event.json"))
    assert req.instance_id == "i-05746eb48123455e0"
    assert req.finding.finding_enis == []  # old findings carry no networkInterfaceId


def test_region_detail_without_envelope():
    req = normalise(_load("aws-samples_amazon-guardduty-waf-acl", "gd2acl_test_event.json"))
    assert req.finding.type == "UnauthorizedAccess:EC2/SSHBruteForce"


@pytest.mark.parametrize("name", ["guardduty_iam_event.json", "guardduty_s3_event.json"])
def test_non_ec2_findings_are_refused(name):
    with pytest.raises(NotAnEc2Finding, match="not an EC2 instance"):
        normalise(_load("aws-samples_amazon-guardduty-automated-response-sample", name))


def test_repeated_finding_maps_to_same_investigation():
    event = _load("hasanakgoz_security_monkey", "recon_ec2_portprobeunprotectedport_eventbridge.json")
    first = normalise(event)
    event["detail"]["service"]["count"] = 7
    assert normalise(event).investigation_id == first.investigation_id
    assert investigation_id_for_finding("ABC-def") == "gd-abcdef"


def test_manual_request():
    req = normalise({"instance_id": "i-0123456789abcdef0", "duration_seconds": 900, "reason": "triage"},
                    execution_name="Triage-42")
    assert (req.trigger, req.duration_seconds, req.investigation_id) == ("manual", 900, "triage-42")


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"instance_id": "i-xyz"}, "instance_id"),
        ({"instance_id": "i-0123456789abcdef0", "duration_seconds": 5}, "duration_seconds"),
        ({"instance_id": "i-0123456789abcdef0", "extra": 1}, "extra"),
        ({"instance_id": "i-0123456789abcdef0", "duration_seconds": 7200}, "exceeds"),
        ([], "JSON object"),
        ({"instance_id": "i-0123456789abcdef0", "filter_rules": [{"direction": "ingress", "destination_ports": [1, 2]}]},
         "port ranges need protocol"),
        ({"detail": {"id": "x"}, "source": "aws.guardduty"}, "not a valid GuardDuty finding"),
    ],
)
def test_bad_requests_are_refused_clearly(event, message):
    with pytest.raises(InvalidRequest, match=message):
        normalise(event, max_duration_seconds=3600)


def test_eventbridge_event_goes_through_powertools_model_and_tolerates_new_fields():
    from aws_lambda_powertools.utilities.parser import parse
    from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

    from tapcase_workflow.models.guardduty import GuardDutyFindingEvent

    event = _load("hasanakgoz_security_monkey", "recon_ec2_portprobeunprotectedport_eventbridge.json")
    # GuardDuty and EventBridge add fields over time: a new one anywhere is not a reason to refuse
    event["replay-name"] = "replay-1"
    event["somethingNew"] = {"a": 1}
    event["detail"]["newFindingField"] = [1, 2]
    event["detail"]["resource"]["instanceDetails"]["newInstanceField"] = "x"
    parsed = parse(event=event, model=GuardDutyFindingEvent)
    assert isinstance(parsed, EventBridgeModel) and parsed.detail_type == "GuardDuty Finding"
    assert parsed.replay_name == "replay-1" and parsed.detail.resource.instanceDetails.instanceId == "i-036cb01d26bb09166"
    assert normalise(event).instance_id == "i-036cb01d26bb09166"
    # the envelope EventBridge always sends is checked (powertools' model): a field missing is refused
    del event["account"]
    with pytest.raises(InvalidRequest, match="not a valid GuardDuty finding: account"):
        normalise(event)
