"""Security Hub as an entry (issue 14 item 1): a GuardDuty finding a Security Hub aggregation account
receives in ASFF ("Security Hub Findings - Imported") is the GuardDuty finding it is. The ASFF is
made from real GuardDuty findings (../shared/data/guardduty) by the GuardDuty user guide's mapping
(tapcase.localcloud.securityhub.from_guardduty)."""

from __future__ import annotations

import copy
import json

import pytest

from tapcase.localcloud.securityhub.from_guardduty import asff_from_guardduty, imported_event
from tapcase_workflow.errors import (
    FindingFromAnotherAccount,
    FindingNotActive,
    InvalidRequest,
    NotAGuardDutyFinding,
    NotAnEc2Finding,
    SampleFinding,
)
from tapcase_workflow.handlers.plan import _finding_fan_out
from tapcase_workflow.logic.request import EntryPolicy, FindingBatch, normalise, parse_entry
from tapcase_workflow.logic.securityhub import guardduty_type, service_fields
from tapcase_workflow.models.securityhub import AsffFinding
from tests.conftest import REPO, shared

ADMIN, MEMBER, STRANGER = "111111111111", "222222222222", "333333333333"


def _real(name: str) -> dict:
    """A real GuardDuty EventBridge event (the EC2 ones of ../shared/data)."""
    if name == "portprobe":
        return json.loads(shared("guardduty", "hasanakgoz_security_monkey",
                                 "recon_ec2_portprobeunprotectedport_eventbridge.json").read_text())
    event = json.loads((REPO / "samples" / "findings" / f"{name}.json").read_text())
    return event


def _both_ways(name: str, account: str = MEMBER) -> tuple[dict, dict]:
    """The same finding as GuardDuty's own event and as Security Hub's, both delivered in ADMIN."""
    guardduty = copy.deepcopy(_real(name))
    guardduty["account"] = ADMIN
    guardduty["detail"]["accountId"] = account
    guardduty["detail"]["arn"] = guardduty["detail"]["arn"].replace(
        guardduty["detail"]["arn"].split(":")[4], account, 1)
    return guardduty, imported_event([asff_from_guardduty(guardduty["detail"])], ADMIN, "us-east-1")


POLICY = EntryPolicy(account_id=ADMIN, member_accounts=frozenset({MEMBER}), ignore_sample_findings=True)


@pytest.mark.parametrize("name", ["portprobe", "c2-dns", "beaconing", "ssh-bruteforce"])
def test_the_same_finding_gives_the_same_request_both_ways(name):
    """Same investigation id (so the two deliveries dedupe to one investigation: one lock, one
    evidence prefix), same instance, account, type, severity, reason and finding context."""
    guardduty, securityhub = _both_ways(name)
    direct, via_hub = parse_entry(guardduty, policy=POLICY), parse_entry(securityhub, policy=POLICY)
    assert via_hub.investigation_id == direct.investigation_id and via_hub.investigation_id.startswith("gd-")
    assert via_hub.account_id == direct.account_id == MEMBER
    assert (via_hub.instance_id, via_hub.reason) == (direct.instance_id, direct.reason)
    assert via_hub.finding is not None and direct.finding is not None
    compared = ("id", "type", "severity", "arn", "title", "region", "account_id", "resource_role", "count",
                "remote_ips", "domains", "remote_ports", "local_ports", "instance_name", "last_seen")
    assert {k: getattr(via_hub.finding, k) for k in compared} == {k: getattr(direct.finding, k) for k in compared}


def test_the_real_port_probe_finding_in_asff():
    _, event = _both_ways("portprobe")
    request = parse_entry(event, policy=POLICY)
    assert request.instance_id == "i-036cb01d26bb09166"
    assert request.finding.type == "Recon:EC2/PortProbeUnprotectedPort" and request.finding.severity == 2
    assert request.finding.remote_ips == ["221.132.75.236", "71.6.167.142"]
    assert request.finding.local_ports == [22, 81]


@pytest.mark.parametrize(("asff", "guardduty"), [
    # rows of the GuardDuty user guide's table "Interpreting GuardDuty finding names in Security Hub"
    ("TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce", "UnauthorizedAccess:EC2/SSHBruteForce"),
    ("TTPs/Command and Control/Backdoor:EC2-C&CActivity.B!DNS", "Backdoor:EC2/C&CActivity.B!DNS"),
    ("TTPs/Discovery/Recon:EC2-PortProbeUnprotectedPort", "Recon:EC2/PortProbeUnprotectedPort"),
    ("Unusual Behaviors/VM/Behavior:EC2-TrafficVolumeUnusual", "Behavior:EC2/TrafficVolumeUnusual"),
    ("Effects/Resource Consumption/UnauthorizedAccess:EC2-TorRelay", "UnauthorizedAccess:EC2/TorRelay"),
])
def test_asff_types_name_the_guardduty_type(asff, guardduty):
    finding = AsffFinding.model_validate({"Id": "arn:aws:guardduty:us-east-1:1:detector/d/finding/f",
                                          "ProductArn": "x", "Types": [asff]})
    assert guardduty_type(finding) == guardduty


def _asff(**changes) -> dict:
    _, event = _both_ways("c2-dns")
    finding = event["detail"]["findings"][0]
    finding.update(changes)
    return event


@pytest.mark.parametrize(("changes", "state"), [
    ({"RecordState": "ARCHIVED"}, "RecordState ARCHIVED"),
    ({"Workflow": {"Status": "RESOLVED"}}, "Workflow.Status RESOLVED"),
    ({"Workflow": {"Status": "SUPPRESSED"}}, "Workflow.Status SUPPRESSED"),
])
def test_archived_resolved_or_suppressed_findings_start_nothing(changes, state):
    with pytest.raises(FindingNotActive, match=f"is not active \\(.*{state}"):
        parse_entry(_asff(**changes), policy=POLICY)


def test_a_finding_archived_in_guardduty_starts_nothing():
    event = _asff()
    event["detail"]["findings"][0]["ProductFields"]["aws/guardduty/service/archived"] = "true"
    with pytest.raises(FindingNotActive, match="archived in GuardDuty"):
        parse_entry(event, policy=POLICY)


def test_a_notified_finding_is_still_investigated():
    assert parse_entry(_asff(Workflow={"Status": "NOTIFIED"}), policy=POLICY).account_id == MEMBER


def test_another_products_ec2_finding_is_not_investigated():
    """Inspector's findings about an instance report vulnerabilities or reachability, not activity:
    nothing to capture (skipped, not failed)."""
    event = _asff(ProductArn="arn:aws:securityhub:us-east-1::product/aws/inspector", ProductName="Inspector",
                  Types=["Software and Configuration Checks/Vulnerabilities/CVE"])
    with pytest.raises(NotAGuardDutyFinding, match="is Inspector's, not GuardDuty's"):
        parse_entry(event, policy=POLICY)


def test_a_guardduty_finding_about_something_else_is_not_an_ec2_finding():
    event = _asff(Resources=[{"Type": "AwsIamAccessKey", "Id": "AKIAEXAMPLE"}])
    with pytest.raises(NotAnEc2Finding, match="not an EC2 finding: Aws Iam Access Key"):
        parse_entry(event, policy=POLICY)


def test_the_account_is_the_findings_and_a_stranger_is_refused():
    guardduty, event = _both_ways("c2-dns", account=STRANGER)
    assert event["account"] == ADMIN and event["detail"]["findings"][0]["AwsAccountId"] == STRANGER
    with pytest.raises(FindingFromAnotherAccount, match=f"about account {STRANGER}"):
        parse_entry(event, policy=POLICY)


def test_sample_findings_follow_ignore_sample_findings():
    event = _asff()
    event["detail"]["findings"][0]["ProductFields"]["aws/guardduty/service/additionalInfo/sample"] = "true"
    with pytest.raises(SampleFinding):
        parse_entry(event, policy=POLICY)


def test_a_malformed_event_names_the_field():
    event = _asff()
    del event["detail"]["findings"][0]["ProductArn"]
    with pytest.raises(InvalidRequest, match="detail.findings.0.ProductArn"):
        parse_entry(event, policy=POLICY)
    event = _asff(Id="not-an-arn")
    with pytest.raises(InvalidRequest, match="Id: not a GuardDuty finding ARN"):
        parse_entry(event, policy=POLICY)
    empty = _asff()
    empty["detail"]["findings"] = []
    with pytest.raises(InvalidRequest, match="detail.findings"):
        parse_entry(empty, policy=POLICY)


def test_several_findings_fan_out_one_child_execution_per_eligible_finding():
    """As a selection of several instances: each eligible finding its own child execution (its own
    lock and evidence), the others named in the warnings; a child's input is the same event with
    its finding alone, so the child plans exactly that finding."""
    findings = [_both_ways(name)[1]["detail"]["findings"][0] for name in ("c2-dns", "beaconing", "portprobe")]
    archived = copy.deepcopy(findings[2]) | {"RecordState": "ARCHIVED"}
    event = imported_event([findings[0], findings[1], archived, findings[0]], ADMIN, "us-east-1")
    batch = parse_entry(event, policy=POLICY)
    assert isinstance(batch, FindingBatch) and len(batch.children) == 2
    assert any("FindingNotActive" in w for w in batch.warnings) and any("more than once" in w for w in batch.warnings)
    plan = _finding_fan_out(batch, "parent-run", 4)
    assert plan.mode == "fan_out" and len({c.name for c in plan.requests}) == 2
    for child, (request, _) in zip(plan.requests, batch.children, strict=True):
        assert len(child.input["detail"]["findings"]) == 1
        assert parse_entry(child.input, policy=POLICY).investigation_id == request.investigation_id
        assert child.name.endswith(request.investigation_id) and len(child.name) <= 80
    with pytest.raises(InvalidRequest, match="several findings"):
        normalise(event)


def test_several_findings_none_eligible_is_the_first_refusal():
    _, one = _both_ways("c2-dns")
    finding = one["detail"]["findings"][0] | {"RecordState": "ARCHIVED"}
    with pytest.raises(FindingNotActive):
        parse_entry(imported_event([finding, finding], ADMIN, "us-east-1"), policy=POLICY)


def test_product_fields_unflatten_into_the_service_object():
    fields = {"aws/guardduty/service/count": "74", "aws/guardduty/service/archived": "false",
              "aws/guardduty/service/additionalInfo": "",
              "aws/guardduty/service/action/networkConnectionAction/remotePortDetails/port": "46717",
              "aws/guardduty/service/action/portProbeAction/portProbeDetails.1_/localPortDetails/port": "81",
              "aws/securityhub/ProductName": "GuardDuty"}
    assert service_fields(fields) == {
        "count": "74", "archived": False,
        "action": {"networkConnectionAction": {"remotePortDetails": {"port": "46717"}},
                   "portProbeAction": {"portProbeDetails": [{}, {"localPortDetails": {"port": "81"}}]}}}
