"""Acting in a member account: the member role's session (AssumeRole with the function's own
credentials), its EC2 and SQS clients, cached until shortly before the session expires (per caller:
the key id of the function's own credentials, as each function of the local cloud runs in this
process with its own role's)."""

from __future__ import annotations

import datetime
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import ClientError

from tapcase_workflow.dal.clients import CONFIG, client, member_clients
from tapcase_workflow.errors import MemberRoleUnavailable

#: Session name of the member role's sessions (CloudTrail in the member account shows it).
SESSION_NAME = "tapcase-workflow"
#: A role session is renewed this long before it expires.
_RENEW_BEFORE = datetime.timedelta(minutes=5)
_Key = tuple[str, str | None, str | None]
_sessions: dict[_Key, tuple[dict[str, Any], dict[tuple[str, str | None], Any]]] = {}
_lock = threading.Lock()


@contextmanager
def acting_in(role_arn: str | None) -> Iterator[None]:
    """EC2 and SQS calls inside act in the role's account, with its credentials (None: the stack's
    own account, with the function's own credentials)."""
    if role_arn is None:
        yield
        return
    with member_clients(lambda service, region: _member_client(role_arn, service, region)):
        yield


def _session(role_arn: str) -> tuple[dict[str, Any], dict[tuple[str, str | None], Any]]:
    key = (role_arn, os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_ACCESS_KEY_ID"))
    now = datetime.datetime.now(datetime.UTC)
    with _lock:
        cached = _sessions.get(key)
        if cached is not None and cached[0]["Expiration"] - _RENEW_BEFORE > now:
            return cached
    try:
        creds = client("sts").assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)["Credentials"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "AccessDenied":
            raise
        account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else role_arn
        raise MemberRoleUnavailable(
            f"account {account}: its member role {role_arn} cannot be assumed ({exc.response['Error'].get('Message')}); "
            "deploy sensor_image/member/member.yaml there with this stack's MemberRoleName") from exc
    with _lock:
        for stale in [k for k, (c, _) in _sessions.items() if c["Expiration"] <= now]:
            del _sessions[stale]  # expired (a caller's earlier credentials)
        _sessions[key] = (creds, {})
        return _sessions[key]


def _member_client(role_arn: str, service: str, region: str | None) -> Any:
    creds, clients = _session(role_arn)
    with _lock:
        if (service, region) not in clients:
            clients[(service, region)] = boto3.session.Session().client(
                service, config=CONFIG, aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"],
                **({"region_name": region} if region else {}))
        return clients[(service, region)]


def reset() -> None:
    with _lock:
        _sessions.clear()
