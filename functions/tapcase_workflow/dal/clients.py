"""boto3 clients, created on first use (never at import) and cached.

A function acting in a member account (the suspect's account is not the stack's) does so with the
credentials of the member role there: inside ``with acting_in(role_arn):`` the clients of the
services that touch the suspect's account (:data:`MEMBER_SERVICES`) are signed with that role's
session; everything else (S3 evidence, DynamoDB, Athena, SNS) stays the stack's own.
"""

from __future__ import annotations

import contextvars
import datetime
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"})
#: The services a workflow function calls in the suspect's account (EC2, the sensor's queue).
MEMBER_SERVICES = frozenset({"ec2", "sqs"})
#: Session name of the member role's sessions (CloudTrail in the member account shows it).
SESSION_NAME = "tapcase-workflow"
#: A role session is renewed this long before it expires.
_RENEW_BEFORE = datetime.timedelta(minutes=5)

_role: contextvars.ContextVar[str | None] = contextvars.ContextVar("tapcase_member_role", default=None)
_sessions: dict[tuple[str, str | None], tuple[dict[str, Any], Any]] = {}
_sessions_lock = threading.Lock()


def client(service: str, region: str | None = None) -> Any:
    """``region``: another region than the function's (default: the function's)."""
    # boto3 honours AWS_ENDPOINT_URL, which the local cloud sets (a new port per local cloud, so
    # it is part of the cache key); on AWS it is unset.
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    region = region or os.environ.get("AWS_REGION")
    role = _role.get()
    if role is not None and service in MEMBER_SERVICES:
        return _member_client(service, role, endpoint, region)
    return _client(service, endpoint, region)


@contextmanager
def acting_in(role_arn: str | None) -> Iterator[None]:
    """EC2 and SQS calls inside act in the role's account, with its credentials (None: the stack's
    own account, with the function's own credentials)."""
    token = _role.set(role_arn)
    try:
        yield
    finally:
        _role.reset(token)


@lru_cache(maxsize=64)
def _client(service: str, endpoint: str | None, region: str | None) -> Any:
    return boto3.client(service, config=_CONFIG, **({"region_name": region} if region else {}))


def _credentials(role_arn: str, endpoint: str | None) -> dict[str, Any]:
    """The role session's credentials (AssumeRole with the function's own credentials; cached)."""
    now = datetime.datetime.now(datetime.UTC)
    with _sessions_lock:
        cached = _sessions.get((role_arn, endpoint))
        if cached is not None and cached[0]["Expiration"] - _RENEW_BEFORE > now:
            return cached[0]
    answer = _client("sts", endpoint, os.environ.get("AWS_REGION")).assume_role(
        RoleArn=role_arn, RoleSessionName=SESSION_NAME)
    creds = answer["Credentials"]
    with _sessions_lock:
        _sessions[(role_arn, endpoint)] = (creds, {})
    return creds


def _member_client(service: str, role_arn: str, endpoint: str | None, region: str | None) -> Any:
    creds = _credentials(role_arn, endpoint)
    with _sessions_lock:
        per_service = _sessions[(role_arn, endpoint)][1]
        key = (service, region, creds["AccessKeyId"])
        if key not in per_service:
            for stale in [k for k in per_service if k[2] != creds["AccessKeyId"]]:
                del per_service[stale]  # a renewed session's clients replace the old ones
            per_service[key] = boto3.session.Session().client(
                service, config=_CONFIG, aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"],
                **({"region_name": region} if region else {}))
        return per_service[key]


def reset() -> None:
    _client.cache_clear()
    with _sessions_lock:
        _sessions.clear()
