"""How a sensor gets the right to write its investigation's evidence, and nothing else.

No sensor role can write to the evidence bucket. At ``CollectEvidence`` the workflow's function of
that name assumes the stack's ``EvidenceUploadRole`` with one session tag, the investigation id
under :data:`SESSION_TAG` (the key every tapcase resource carries), and hands the temporary
credentials to the sensor inside the control message (the investigation's own queue, which only
its sensor instance may read; a fleet's queue for a fleet). The role's policy names its resources
with the policy variable ``${aws:PrincipalTag/tapcase:investigation-id}``, so the credentials
create objects under ``investigations/<id>/raw/`` and the curated partitions
``investigations/curated/<table>/investigation_id=<id>/`` of that one investigation only (IAM user
guide, "IAM policy elements: Variables and tags"; "Pass session tags in AWS STS").

The credentials never pass through Step Functions' execution history: the function sends the
message itself (``lambda:invoke.waitForTaskToken``), and its answer carries no secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tapcase_contract.errors import ContractError
from tapcase_contract.ids import check_investigation_id
from tapcase_contract.tags import INVESTIGATION_ID

#: The session tag whose value is the investigation id (``aws:PrincipalTag/<key>`` in the policy).
SESSION_TAG = INVESTIGATION_ID
#: AssumeRole's DurationSeconds: at least 900 s; a role assumed with a role's credentials (role
#: chaining: the Lambda function's) at most one hour (STS AssumeRole API reference).
MIN_UPLOAD_SECONDS = 900
MAX_UPLOAD_SECONDS = 3600
#: AssumeRole's RoleSessionName: 2-64 characters of ``[\w+=,.@-]``.
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")


def session_name(investigation_id: str) -> str:
    """The role session name of an investigation's upload credentials (CloudTrail shows it)."""
    name = f"tapcase-upload-{check_investigation_id(investigation_id)}"[:64]
    if not _SESSION_NAME.fullmatch(name):
        raise ContractError(f"no valid role session name from {investigation_id!r}")
    return name


def upload_seconds(collect_timeout_seconds: int) -> int:
    """How long the credentials last: the collection's whole timeout, within AssumeRole's bounds."""
    return max(MIN_UPLOAD_SECONDS, min(MAX_UPLOAD_SECONDS, int(collect_timeout_seconds)))


@dataclass(frozen=True)
class UploadCredentials:
    """Temporary credentials for one investigation's evidence (STS ``Credentials``)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime

    def __post_init__(self) -> None:
        for name in ("access_key_id", "secret_access_key", "session_token"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ContractError(f"upload credentials without {name}")
        if not isinstance(self.expiration, datetime) or self.expiration.tzinfo is None:
            raise ContractError("upload credentials need an aware expiration time")

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.expiration

    def to_dict(self) -> dict[str, str]:
        """The form they travel in (STS's field names; the expiration in ISO 8601)."""
        return {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "SessionToken": self.session_token,
            "Expiration": self.expiration.isoformat(),
        }

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> UploadCredentials:
        """From STS's ``Credentials`` (expiration a datetime) or their travelling form (a string)."""
        if not isinstance(value, Mapping):
            raise ContractError("upload credentials are an object with AccessKeyId, SecretAccessKey, "
                                "SessionToken and Expiration")
        expiration = value.get("Expiration")
        if isinstance(expiration, str):
            try:
                expiration = datetime.fromisoformat(expiration.replace("Z", "+00:00"))
            except ValueError:
                raise ContractError(f"upload credentials: Expiration {expiration!r} is not ISO 8601") from None
        return cls(
            access_key_id=value.get("AccessKeyId"),  # type: ignore[arg-type]  # checked in __post_init__
            secret_access_key=value.get("SecretAccessKey"),  # type: ignore[arg-type]
            session_token=value.get("SessionToken"),  # type: ignore[arg-type]
            expiration=expiration,  # type: ignore[arg-type]
        )

    def boto3_kwargs(self) -> dict[str, str]:
        """Keyword arguments of ``boto3.session.Session`` / ``client`` for these credentials."""
        return {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key,
                "aws_session_token": self.session_token}
