"""The investigation's upload credentials (STS) and the control message that carries them (SQS)."""

from __future__ import annotations

import json
from typing import Any

from tapcase_contract.upload_access import SESSION_TAG, UploadCredentials, session_name
from tapcase_workflow.dal.clients import client


def assume_upload_role(role_arn: str, investigation_id: str, seconds: int) -> UploadCredentials:
    """AssumeRole on the upload role with the investigation's session tag: credentials whose
    policy variable ``${aws:PrincipalTag/tapcase:investigation-id}`` is this investigation."""
    answer = client("sts").assume_role(
        RoleArn=role_arn,
        RoleSessionName=session_name(investigation_id),
        DurationSeconds=seconds,
        Tags=[{"Key": SESSION_TAG, "Value": investigation_id}],
    )
    return UploadCredentials.from_dict(answer["Credentials"])


def send(queue_url: str, body: dict[str, Any]) -> str:
    """Send one control message; its MessageId."""
    return str(client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(body))["MessageId"])
