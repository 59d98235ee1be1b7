"""The ``CollectEvidence`` control message (pure): what the state's input says, plus the bucket and
the investigation's upload credentials (:mod:`tapcase_contract.upload_access`)."""

from __future__ import annotations

from typing import Any

from tapcase_contract.control import COLLECT_EVIDENCE, ControlMessage
from tapcase_contract.layout import evidence_prefix
from tapcase_contract.upload_access import UploadCredentials
from tapcase_workflow.errors import InvalidRequest
from tapcase_workflow.models.payloads import CollectEvidenceInput


def collect_message(inp: CollectEvidenceInput, bucket: str, credentials: UploadCredentials) -> dict[str, Any]:
    """The message body, checked against the control contract (the agent parses the same way)."""
    if inp.prefix != evidence_prefix(inp.investigation_id):
        # the credentials only reach this prefix: another one could only fail at upload
        raise InvalidRequest(f"prefix {inp.prefix!r} is not investigation {inp.investigation_id}'s "
                             f"({evidence_prefix(inp.investigation_id)!r})")
    message = ControlMessage(
        action=COLLECT_EVIDENCE, task_token=inp.task_token, investigation_id=inp.investigation_id,
        bucket=bucket, prefix=inp.prefix, vni=inp.vni, ready=inp.ready, credentials=credentials.to_dict(),
    )
    body = {"action": message.action, "task_token": message.task_token, "investigation_id": message.investigation_id,
            "bucket": message.bucket, "prefix": message.prefix, "vni": message.vni, "ready": message.ready,
            "credentials": message.credentials}
    return {k: v for k, v in body.items() if v is not None}
