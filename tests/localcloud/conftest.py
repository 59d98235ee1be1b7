"""Fixtures of the local-cloud test modules: each module brings its own ``cloud``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tapcase.localcloud import timescale


@pytest.fixture
def sfn(cloud: Any) -> Any:
    """Step Functions, with the test state machines' role (sfn_support.ROLE) in IAM: trusting Step
    Functions and allowed to assume roles (a task's ``Credentials``: its own policies must allow
    sts:AssumeRole, as on AWS)."""
    import json

    from tests.localcloud.sfn_support import ROLE

    iam = cloud.client("iam")
    name = ROLE.rsplit("/", 1)[1]
    try:
        iam.get_role(RoleName=name)
    except iam.exceptions.NoSuchEntityException:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
        iam.put_role_policy(RoleName=name, PolicyName="task-credentials", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
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
