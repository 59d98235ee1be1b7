"""Security Hub BatchUpdateFindings on the local cloud, as the Security Hub API reference describes
it (moto 5.2.5 has none): the note WriteReport adds to a GuardDuty finding."""

from __future__ import annotations

import botocore.exceptions
import pytest

from tapcase.localcloud import LocalCloud
from tapcase_workflow.dal.securityhub import guardduty_product_arn

FINDING_ARN = "arn:aws:guardduty:us-east-1:123456789012:detector/d0123/finding/f0123"
PRODUCT = guardduty_product_arn(FINDING_ARN)


def asff(finding_id: str = FINDING_ARN) -> dict:
    return {
        "SchemaVersion": "2018-10-08", "Id": finding_id, "ProductArn": PRODUCT, "GeneratorId": "guardduty",
        "AwsAccountId": "123456789012", "Types": ["TTPs/Command and Control/Backdoor:EC2-C&CActivity.B!DNS"],
        "CreatedAt": "2024-06-03T14:00:00Z", "UpdatedAt": "2024-06-03T14:00:00Z", "Severity": {"Label": "HIGH"},
        "Title": "C&C activity", "Description": "test", "Resources": [{"Type": "AwsEc2Instance", "Id": "i-0a1b"}],
    }


@pytest.fixture(scope="module")
def cloud():
    with LocalCloud(time_scale=0) as local:
        yield local


def test_guardduty_product_arn_follows_the_findings_partition_and_region():
    # Security Hub's GuardDuty findings: ProductArn arn:<partition>:securityhub:<region>::product/aws/guardduty
    assert PRODUCT == "arn:aws:securityhub:us-east-1::product/aws/guardduty"
    assert guardduty_product_arn("arn:aws-us-gov:guardduty:us-gov-west-1:1:detector/d/finding/f") == (
        "arn:aws-us-gov:securityhub:us-gov-west-1::product/aws/guardduty")
    with pytest.raises(ValueError):
        guardduty_product_arn("arn:aws:iam::1:role/x")


def test_batch_update_findings_before_security_hub_is_enabled_is_invalid_access(cloud):
    """An account that has not enabled Security Hub: InvalidAccessException (BatchUpdateFindings errors)."""
    hub = cloud.client("securityhub")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        hub.batch_update_findings(FindingIdentifiers=[{"Id": FINDING_ARN, "ProductArn": PRODUCT}],
                                  Note={"Text": "x", "UpdatedBy": "tapcase"})
    assert err.value.response["Error"]["Code"] == "InvalidAccessException"


def test_batch_update_findings_notes_a_finding_and_reports_the_ones_it_could_not(cloud):
    """ProcessedFindings for a finding that exists; UnprocessedFindings with FindingNotFound and
    DuplicatedFindingIdentifier (BatchUpdateFindingsUnprocessedFinding); the note is on the finding."""
    hub = cloud.client("securityhub")
    hub.enable_security_hub()
    hub.batch_import_findings(Findings=[asff()])
    missing = {"Id": FINDING_ARN + "x", "ProductArn": PRODUCT}
    answer = hub.batch_update_findings(
        FindingIdentifiers=[{"Id": FINDING_ARN, "ProductArn": PRODUCT}, missing, {"Id": FINDING_ARN, "ProductArn": PRODUCT}],
        Note={"Text": "tapcase investigation gd-1: succeeded", "UpdatedBy": "tapcase"},
    )
    assert answer["ProcessedFindings"] == [{"Id": FINDING_ARN, "ProductArn": PRODUCT}]
    codes = sorted((u["ErrorCode"], u["ErrorMessage"]) for u in answer["UnprocessedFindings"])
    assert codes == [("DuplicatedFindingIdentifier", "Finding Identifier is duplicated"),
                     ("FindingNotFound", "Finding Not Found")]
    (stored,) = [f for f in hub.get_findings()["Findings"] if f["Id"] == FINDING_ARN]
    assert stored["Note"]["Text"] == "tapcase investigation gd-1: succeeded"
    assert stored["Note"]["UpdatedBy"] == "tapcase" and stored["Note"]["UpdatedAt"].endswith("Z")


def test_batch_update_findings_refuses_a_note_over_512_characters_and_an_empty_list(cloud):
    """Note.Text is 1 to 512 characters (Security Hub API reference, Note); FindingIdentifiers 1 to 100:
    InvalidInputException, nothing updated."""
    hub = cloud.client("securityhub")
    hub.enable_security_hub()
    for kwargs in ({"FindingIdentifiers": [{"Id": FINDING_ARN, "ProductArn": PRODUCT}],
                    "Note": {"Text": "x" * 513, "UpdatedBy": "tapcase"}},
                   {"FindingIdentifiers": [], "Note": {"Text": "x", "UpdatedBy": "tapcase"}}):
        with pytest.raises(botocore.exceptions.ClientError) as err:
            hub.batch_update_findings(**kwargs)
        assert err.value.response["Error"]["Code"] == "InvalidInputException"


def test_the_dal_skips_cleanly_where_the_account_does_not_allow_a_note(cloud, monkeypatch):
    """WriteReport's adapter: 'skipped' (not an exception) when Security Hub is off or the finding is
    not in it; 'added' when it is."""
    from tapcase_workflow.dal import clients, securityhub

    monkeypatch.setenv("AWS_ENDPOINT_URL", cloud.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    clients.reset()
    hub = cloud.client("securityhub")
    hub.disable_security_hub()
    assert securityhub.note_finding(FINDING_ARN, "note").startswith("skipped: InvalidAccessException")
    hub.enable_security_hub()
    assert securityhub.note_finding(FINDING_ARN + "-absent", "note") == "skipped: FindingNotFound: Finding Not Found"
    hub.batch_import_findings(Findings=[asff()])
    assert securityhub.note_finding(FINDING_ARN, "n" * 600) == "added"
    (stored,) = [f for f in hub.get_findings()["Findings"] if f["Id"] == FINDING_ARN]
    assert len(stored["Note"]["Text"]) == 512
    clients.reset()
