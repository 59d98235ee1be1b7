"""A note on the finding in Security Hub (GuardDuty has no notes: UpdateFindingsFeedback only marks
a finding useful or not useful).

``BatchUpdateFindings`` with ``Note`` (``Text`` 1-512 characters, ``UpdatedBy``) on the finding as
Security Hub knows it: ``Id`` = the GuardDuty finding's ARN, ``ProductArn`` =
``arn:<partition>:securityhub:<region>::product/aws/guardduty`` (the GuardDuty integration's
findings). Where the account does not allow it, the note is skipped, cleanly: Security Hub not
enabled (``InvalidAccessException``), no permission (``AccessDeniedException``), or the finding
not in Security Hub (``UnprocessedFindings`` ``FindingNotFound``, e.g. the integration is off).
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from tapcase_workflow.dal.clients import client

#: Note.Text: "Minimum of 1. Maximum of 512" (Security Hub API reference, Note).
MAX_NOTE = 512
UPDATED_BY = "tapcase"
#: Errors meaning "this account does not allow it": skipped, not failed.
NOT_ALLOWED = {"InvalidAccessException", "AccessDeniedException", "ResourceNotFoundException"}


def guardduty_product_arn(finding_arn: str) -> str:
    """``arn:aws:guardduty:us-east-1:123:detector/d/finding/f`` -> the GuardDuty product ARN of its
    partition and region."""
    parts = finding_arn.split(":")
    if len(parts) < 6 or parts[2] != "guardduty":
        raise ValueError(f"not a GuardDuty finding ARN: {finding_arn!r}")
    return f"arn:{parts[1]}:securityhub:{parts[3]}::product/aws/guardduty"


def note_finding(finding_arn: str, text: str) -> str:
    """Add ``text`` as the finding's note: ``added``, ``skipped: <why>`` or ``failed: <why>``."""
    identifier = {"Id": finding_arn, "ProductArn": guardduty_product_arn(finding_arn)}
    region = finding_arn.split(":")[3]
    try:
        answer = client("securityhub", region).batch_update_findings(
            FindingIdentifiers=[identifier], Note={"Text": text[:MAX_NOTE], "UpdatedBy": UPDATED_BY}
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code")), str(error.get("Message"))
        return f"{'skipped' if code in NOT_ALLOWED else 'failed'}: {code}: {message}"
    unprocessed = answer.get("UnprocessedFindings") or []
    if unprocessed:
        first = unprocessed[0]
        return f"skipped: {first.get('ErrorCode')}: {first.get('ErrorMessage')}"
    return "added"
