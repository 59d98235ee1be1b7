"""boto3 clients, created on first use (never at import) and cached."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"})


def client(service: str) -> Any:
    # boto3 honours AWS_ENDPOINT_URL, which the local cloud sets (a new port per local cloud, so
    # it is part of the cache key); on AWS it is unset.
    return _client(service, os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_REGION"))


@lru_cache(maxsize=64)
def _client(service: str, endpoint: str | None, region: str | None) -> Any:
    return boto3.client(service, config=_CONFIG)


def reset() -> None:
    _client.cache_clear()
