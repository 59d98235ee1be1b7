"""Fixtures of the local-cloud test modules: each module brings its own ``cloud``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tapcase.localcloud import timescale


@pytest.fixture
def sfn(cloud: Any) -> Any:
    return cloud.client("stepfunctions")


@pytest.fixture
def time_scale() -> Iterator[Callable[[float], None]]:
    """Sets the time scale for one test (the module's cloud runs at scale 0)."""
    saved = timescale.get_scale()
    yield timescale.set_scale
    timescale.set_scale(saved)


@pytest.fixture
def queue_url(cloud: Any) -> str:
    return str(cloud.client("sqs").create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"])
