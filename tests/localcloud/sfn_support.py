"""Helpers of the Step Functions tests of the local cloud (state machines, runs, histories)."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from tapcase.localcloud.cloud import ACCOUNT_ID

ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/tapcase-sfn-test"
ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}|\.\d{6})?Z$")
DESCRIBE_VPCS = "arn:aws:states:::aws-sdk:ec2:describeVpcs"
DESCRIBE_INSTANCES = "arn:aws:states:::aws-sdk:ec2:describeInstances"
SEND_WITH_TOKEN = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
UNKNOWN_INSTANCE = "i-0123456789abcdef0"


def create_machine(sfn: Any, definition: dict[str, Any], name: str | None = None) -> str:
    name = name or f"sm-{uuid.uuid4().hex[:10]}"
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]


def start(sfn: Any, machine_arn: str, name: str, payload: Any = None) -> str:
    return sfn.start_execution(
        stateMachineArn=machine_arn, name=name, input=json.dumps({} if payload is None else payload)
    )["executionArn"]


def wait_done(sfn: Any, execution_arn: str, deadline: float = 20.0) -> dict[str, Any]:
    give_up = time.monotonic() + deadline
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > give_up:
            raise AssertionError(f"{execution_arn} still RUNNING after {deadline} s")
        time.sleep(0.02)


def run(sfn: Any, definition: dict[str, Any], payload: Any = None, deadline: float = 20.0) -> dict[str, Any]:
    machine_arn = create_machine(sfn, definition)
    return wait_done(sfn, start(sfn, machine_arn, f"run-{uuid.uuid4().hex[:10]}", payload), deadline)


def timed_run(sfn: Any, definition: dict[str, Any], payload: Any = None) -> tuple[dict[str, Any], float]:
    machine_arn = create_machine(sfn, definition)
    began = time.monotonic()
    described = wait_done(sfn, start(sfn, machine_arn, f"run-{uuid.uuid4().hex[:10]}", payload), 30.0)
    return described, time.monotonic() - began


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    return [event for page in pages for event in page["events"]]


def output(described: dict[str, Any]) -> Any:
    assert described["status"] == "SUCCEEDED", described
    return json.loads(described["output"])


def event_details(event: dict[str, Any]) -> dict[str, Any]:
    return next((value for key, value in event.items() if key.endswith("EventDetails")), {})


def pass_state(**fields: Any) -> dict[str, Any]:
    return {"Type": "Pass", **fields}
