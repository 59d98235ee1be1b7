"""How a sensor answers its task tokens: as a principal of the state machine's account.

A task token is answered with ``SendTaskSuccess``/``SendTaskFailure``/``SendTaskHeartbeat``. The
Step Functions documentation does not say whether a token may be answered by a principal of
another account than the execution's, and a sensor in a member account would be one. So no sensor
answers with its own credentials: it assumes the stack's ``SensorAnswerRole`` (template.yaml,
``<MemberRoleName>-answer`` in the administrator account, trusting only the ``<MemberRoleName>-sensor``
roles of the stack's own and member accounts, allowed only those three actions) and answers with a
session of it, in the execution's account, what a same-account caller does.

The session is assumed with the sensor's own credentials (its instance profile's): role chaining,
so it lasts at most an hour (STS AssumeRole, DurationSeconds: "Role chaining limits your AWS CLI or
AWS API role session to a maximum of one hour"); :class:`AnswerSession` assumes it when first needed and again five minutes before it
expires. A refused AssumeRole (the member template not deployed or older than the stack, the
account not in the stack's MemberAccounts) is :class:`~tapcase_sensor.errors.SensorAnswerRoleRefused`.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from tapcase_sensor.errors import SensorAnswerRoleRefused

#: A session is assumed again this long before it expires.
RENEW_BEFORE = datetime.timedelta(minutes=5)
#: Role chaining's cap, and the role's default MaxSessionDuration (STS AssumeRole ``DurationSeconds``).
SESSION_SECONDS = 3600
#: STS ``RoleSessionName``: 2 to 64 characters.
MAX_SESSION_NAME = 64


def session_name(investigation_id: str) -> str:
    """The session's name: the investigation's (CloudTrail shows which sensor answered)."""
    return f"tapcase-sensor-{investigation_id}"[:MAX_SESSION_NAME]


class AnswerSession:
    """A Step Functions client signing with a session of ``role_arn``, renewed before it expires.

    ``sts``: the sensor's own STS client (its instance profile's credentials); ``options``: how the
    client is made (region, endpoint, botocore config); ``now``: the clock sessions expire on."""

    def __init__(self, sts: Any, role_arn: str, name: str, options: dict[str, Any],
                 now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC)) -> None:
        self.sts = sts
        self.role_arn = role_arn
        self.name = name
        self.options = options
        self.now = now
        self._lock = threading.Lock()
        self._client: Any = None
        self._expiration: datetime.datetime | None = None

    def client(self) -> Any:
        with self._lock:
            if self._client is None or self._expiration is None or self._expiration - RENEW_BEFORE <= self.now():
                self._client, self._expiration = self._assume()
            return self._client

    def _assume(self) -> tuple[Any, datetime.datetime]:
        import boto3

        try:
            found = self.sts.assume_role(RoleArn=self.role_arn, RoleSessionName=self.name,
                                         DurationSeconds=SESSION_SECONDS)["Credentials"]
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") in {"AccessDenied", "AccessDeniedException", "NoSuchEntity"}:
                raise SensorAnswerRoleRefused(
                    f"cannot assume {self.role_arn} to answer the state machine ({error.get('Code')}: "
                    f"{error.get('Message', '')}): is this account's member template as recent as the stack, and "
                    "the account in the stack's MemberAccounts?") from None
            raise
        expiration = found["Expiration"]
        if isinstance(expiration, str):
            expiration = datetime.datetime.fromisoformat(expiration.replace("Z", "+00:00"))
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=datetime.UTC)
        client = boto3.session.Session().client(
            "stepfunctions", aws_access_key_id=found["AccessKeyId"], aws_secret_access_key=found["SecretAccessKey"],
            aws_session_token=found["SessionToken"], **self.options)
        return client, expiration
