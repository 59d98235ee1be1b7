"""Acting in a member account: the member role's session (AssumeRole with the function's own
credentials), its EC2 and SQS clients, cached until shortly before the session expires."""

from __future__ import annotations

import datetime
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from tapcase_workflow.dal.clients import CONFIG, client, member_clients

#: Session name of the member role's sessions (CloudTrail in the member account shows it).
SESSION_NAME = "tapcase-workflow"
#: A role session is renewed this long before it expires.
_RENEW_BEFORE = datetime.timedelta(minutes=5)
_sessions: dict[tuple[str, str | None], tuple[dict[str, Any], dict[tuple[str, str | None], Any]]] = {}
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
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    now = datetime.datetime.now(datetime.UTC)
    with _lock:
        cached = _sessions.get((role_arn, endpoint))
        if cached is not None and cached[0]["Expiration"] - _RENEW_BEFORE > now:
            return cached
    creds = client("sts").assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)["Credentials"]
    with _lock:
        _sessions[(role_arn, endpoint)] = (creds, {})
        return _sessions[(role_arn, endpoint)]


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
