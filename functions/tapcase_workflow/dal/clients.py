"""boto3 clients, created on first use (never at import) and cached.

Inside :func:`tapcase_workflow.dal.member.acting_in` (a function acting in a member account), the
clients of the services that touch the suspect's account (:data:`MEMBER_SERVICES`) come from that
account's member-role session instead; everything else (S3 evidence, DynamoDB, Athena, SNS) stays
the stack's own.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"})
#: The services a workflow function calls in the suspect's account (EC2, the sensor's queue).
MEMBER_SERVICES = frozenset({"ec2", "sqs"})

#: (service, region) -> a client acting in the member account (None: the stack's own account).
MemberClients = Callable[[str, str | None], Any]
_member: contextvars.ContextVar[MemberClients | None] = contextvars.ContextVar("tapcase_member", default=None)


def client(service: str, region: str | None = None) -> Any:
    """``region``: another region than the function's (default: the function's)."""
    region = region or os.environ.get("AWS_REGION")
    member = _member.get()
    if member is not None and service in MEMBER_SERVICES:
        return member(service, region)
    # boto3 honours AWS_ENDPOINT_URL, which the local cloud sets (a new port per local cloud, so
    # it is part of the cache key); on AWS it is unset. The credentials' key id too: a client
    # keeps the credentials it was made with, and the local cloud runs every function in this
    # process, each with its own role's keys in its environment (on AWS: one per environment).
    return _client(service, os.environ.get("AWS_ENDPOINT_URL"), region, os.environ.get("AWS_ACCESS_KEY_ID"))


@contextmanager
def member_clients(factory: MemberClients | None) -> Iterator[None]:
    """EC2 and SQS clients inside come from ``factory`` (None: the function's own)."""
    token = _member.set(factory)
    try:
        yield
    finally:
        _member.reset(token)


@lru_cache(maxsize=256)
def _client(service: str, endpoint: str | None, region: str | None, key_id: str | None) -> Any:
    # A session of its own: boto3's default session keeps the first credentials it resolved, for
    # every client it makes later (and is not thread-safe).
    return boto3.session.Session().client(service, config=CONFIG, **({"region_name": region} if region else {}))


def reset() -> None:
    _client.cache_clear()
    from tapcase_workflow.dal import member

    member.reset()
