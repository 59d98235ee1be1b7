"""boto3 clients, created on first use (never at import) and cached per service."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"})


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    # boto3 honours AWS_ENDPOINT_URL, which the local cloud sets; on AWS it is unset.
    return boto3.client(service, config=_CONFIG)


def reset() -> None:
    client.cache_clear()
