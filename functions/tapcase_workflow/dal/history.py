"""Step Functions reads: an execution's history and status (what Teardown and the janitor need)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tapcase_workflow.dal.clients import client
from tapcase_workflow.dal.ec2 import error_code

#: GetExecutionHistory ``maxResults``: "the maximum number of results ... 1000" per page.
PAGE = 1000


def execution_events(execution_arn: str) -> list[dict[str, Any]]:
    """Every history event of an execution, oldest first ([] when it does not exist)."""
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": PAGE}
    while True:
        try:
            page = client("stepfunctions").get_execution_history(**kwargs)
        except ClientError as exc:
            if error_code(exc) in {"ExecutionDoesNotExist", "InvalidArn"}:
                return []
            raise
        events.extend(page.get("events", []))
        token = page.get("nextToken")
        if not token:
            return events
        kwargs["nextToken"] = token


def execution_status(execution_arn: str) -> str | None:
    """``RUNNING``, ``SUCCEEDED``, ... or None when there is no such execution."""
    try:
        return str(client("stepfunctions").describe_execution(executionArn=execution_arn)["status"])
    except ClientError as exc:
        if error_code(exc) in {"ExecutionDoesNotExist", "InvalidArn"}:
            return None
        raise


def running_executions(state_machine_arn: str) -> list[str]:
    """ARNs of the state machine's RUNNING executions."""
    arns: list[str] = []
    pages = client("stepfunctions").get_paginator("list_executions").paginate(
        stateMachineArn=state_machine_arn, statusFilter="RUNNING"
    )
    for page in pages:
        arns.extend(str(e["executionArn"]) for e in page.get("executions", []))
    return arns


def stop_execution(execution_arn: str, *, error: str, cause: str) -> bool:
    """StopExecution (it runs no Catch: the caller tears down); False when the execution is gone."""
    try:
        client("stepfunctions").stop_execution(executionArn=execution_arn, error=error, cause=cause)
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
            return False
        raise
