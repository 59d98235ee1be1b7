"""Every entry through one schema: GuardDuty findings of real shapes, manual and scheduled
requests, selections by tags or ENIs; each refusal names the field at fault (pure logic)."""

from __future__ import annotations

import copy
import json

import pytest

from tapcase_contract.errors import ContractError
from tapcase_contract.ids import investigation_id_for_manual
from tapcase_workflow.errors import FindingFromAnotherAccount, InvalidRequest, NotAnEc2Finding, SampleFinding
from tapcase_workflow.logic.request import EntryPolicy, parse_entry, resource_label
from tapcase_workflow.models.request import InvestigationRequest, ManualRequest, SelectionRequest
from tests.conftest import REPO, shared

ACCOUNT = "123456789012"
POLICY = EntryPolicy(account_id=ACCOUNT)


def _shared(*parts):
    return json.loads(shared("guardduty", *parts).read_text())


def _sample(story="c2-dns"):
    return json.loads((REPO / "samples" / "findings" / f"{story}.json").read_text())


# -- GuardDuty findings -------------------------------------------------------------------------


def test_camel_case_eventbridge_event_of_the_stacks_account_is_accepted():
    event = _shared("hasanakgoz_security_monkey", "recon_ec2_portprobeunprotectedport_eventbridge.json")
    event["detail"]["accountId"] = ACCOUNT
    req = parse_entry(event, policy=POLICY)
    assert isinstance(req, InvestigationRequest) and req.instance_id == "i-036cb01d26bb09166"
    assert req.finding.remote_ips == ["18.196.145.224"] or req.finding.remote_ips


def test_a_finding_of_another_account_is_refused_with_the_reason():
    event = _shared("hasanakgoz_security_monkey", "recon_ec2_portprobeunprotectedport_eventbridge.json")
    with pytest.raises(FindingFromAnotherAccount, match=r"about account 726064622671, this stack acts in 123456789012 "
                       r"only \(MemberAccounts is empty\)"):
        parse_entry(event, policy=POLICY)


def test_epoch_ms_launch_time_and_missing_eni_id_are_accepted():
    # a bare finding (no envelope), launchTime in epoch milliseconds, no networkInterfaceId
    req = parse_entry(_shared("aws-samples_amazon-guardduty-automated-response-sample", "guardduty_ec2_event.json"),
                      policy=POLICY)
    assert req.instance_id == "i-05746eb48123455e0" and req.finding.finding_enis == []


def test_sample_findings_are_skipped_unless_asked_for():
    event = _shared("aws-samples_amazon-guardduty-waf-acl", "gd2acl_test_event.json")
    assert event["detail"]["service"]["additionalInfo"]["sample"] is True
    with pytest.raises(SampleFinding, match=r"sample finding \(service.additionalInfo.sample\)"):
        parse_entry(event, policy=POLICY)
    keep = EntryPolicy(account_id=ACCOUNT, ignore_sample_findings=False)
    assert parse_entry(event, policy=keep).finding.type == "UnauthorizedAccess:EC2/SSHBruteForce"


@pytest.mark.parametrize(("name", "what"), [("guardduty_s3_event.json", "S3 bucket"),
                                            ("guardduty_iam_event.json", "access key")])
def test_non_ec2_findings_say_what_they_are_about(name, what):
    with pytest.raises(NotAnEc2Finding, match=f"^not an EC2 finding: {what} "):
        parse_entry(_shared("aws-samples_amazon-guardduty-automated-response-sample", name), policy=POLICY)


def test_an_instance_finding_without_instance_details_is_invalid():
    event = _sample()
    del event["detail"]["resource"]["instanceDetails"]
    with pytest.raises(InvalidRequest, match="resource.instanceDetails.instanceId: missing"):
        parse_entry(event, policy=POLICY)


def test_resource_labels():
    assert resource_label("EKSCluster") == "EKS cluster"
    assert resource_label("SomethingNew") == "Something New"
    assert resource_label(None) == "no resource type"


def test_a_repeated_finding_is_the_same_investigation():
    first = parse_entry(_sample(), policy=POLICY)
    again = _sample()
    again["detail"]["service"]["count"] = 9
    again["detail"]["updatedAt"] = "2024-06-03T15:00:00Z"
    assert parse_entry(again, policy=POLICY).investigation_id == first.investigation_id


# -- manual and scheduled requests --------------------------------------------------------------


def test_a_console_request_with_its_optional_fields():
    req = parse_entry({"instance_id": "i-0123456789abcdef0", "duration_seconds": 600, "reason": "triage",
                       "requested_by": "alice", "eni_ids": ["eni-0123456789abcdef0"],
                       "filter_rules": [{"direction": "egress", "protocol": 17, "destination_ports": [53, 53]}]},
                      execution_name="Triage-1", policy=POLICY)
    assert (req.investigation_id, req.requested_by, req.eni_ids) == ("triage-1", "alice", ["eni-0123456789abcdef0"])


def test_the_default_window_is_the_stacks():
    req = parse_entry({"instance_id": "i-0123456789abcdef0"}, policy=EntryPolicy(default_duration_seconds=300))
    assert req.duration_seconds == 300


@pytest.mark.parametrize(("request_", "field"), [
    ({"instance_id": "i-xyz"}, "instance_id"),
    ({"tags": {}}, "tags"),
    ({"eni_ids": ["eth0"]}, "eni_ids.0"),
    ({"instance_id": "i-0123456789abcdef0", "tags": {"a": "b"}}, "not instance_id and tags"),
    ({}, "give one of instance_id, eni_ids or tags"),
    ({"instance_id": "i-0123456789abcdef0", "duration_seconds": 30}, "duration_seconds"),
    ({"instance_id": "i-0123456789abcdef0", "duration_seconds": 7200}, "duration_seconds: 7200 exceeds"),
    ({"instance_id": "i-0123456789abcdef0", "dry_run": "maybe"}, "dry_run"),
    ({"instance_id": "i-0123456789abcdef0", "trigger": "guardduty"}, "trigger"),
    ({"instance_id": "i-0123456789abcdef0", "investigation_id": "Bad_Id"}, "investigation_id"),
    ({"instance_id": "i-0123456789abcdef0", "filter_rules": [{"direction": "up"}]}, "filter_rules.0.direction"),
    ({"instance_id": "i-0123456789abcdef0", "colour": "red"}, "colour"),
    ({"tags": {"k" * 129: "v"}}, "tags"),
])
def test_a_malformed_request_names_the_bad_field(request_, field):
    with pytest.raises(InvalidRequest) as caught:
        parse_entry(request_, policy=POLICY)
    assert field in str(caught.value)


def test_a_scheduled_request_selects_by_tags():
    entry = parse_entry({"tags": {"team": "payments"}, "trigger": "scheduled", "duration_seconds": 900,
                         "requested_by": "arn:aws:scheduler:us-east-1:123456789012:schedule/tapcase/nightly"},
                        policy=POLICY)
    assert isinstance(entry, SelectionRequest) and entry.tags == {"team": "payments"}
    child = entry.for_instance("i-0123456789abcdef0", None, "arn:aws:states:::execution:sm:parent")
    manual = ManualRequest.model_validate(child)  # a child's input is a request of the same schema
    assert manual.trigger == "scheduled" and manual.started_by.endswith(":parent") and manual.duration_seconds == 900


# -- hand-chosen ids ----------------------------------------------------------------------------


def test_a_hand_chosen_id_is_the_instances_own():
    one = parse_entry({"instance_id": "i-0123456789abcdef0", "investigation_id": "incident-42"}, policy=POLICY)
    other = parse_entry({"instance_id": "i-0fedcba9876543210", "investigation_id": "incident-42"}, policy=POLICY)
    assert one.investigation_id == "incident-42-i-0123456789abcdef0"
    assert other.investigation_id != one.investigation_id  # never another instance's investigation
    assert investigation_id_for_manual(one.investigation_id, "i-0123456789abcdef0") == one.investigation_id
    with pytest.raises(ContractError, match="at most 28 fit"):
        investigation_id_for_manual("a" * 29, "i-0123456789abcdef0")


def test_the_schema_is_published():
    schema = ManualRequest.model_json_schema(by_alias=True)
    assert {"instance_id", "eni_ids", "tags", "duration_seconds", "reason", "requested_by", "dry_run",
            "filter_rules", "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"} <= set(schema["properties"])


def test_the_finding_is_not_changed():
    event = _sample()
    before = copy.deepcopy(event)
    parse_entry(event, policy=POLICY)
    assert event == before
