"""Scheduled captures: EventBridge Scheduler schedules in the stack's group, with its role, whose
input is a request of the one schema (``trigger: scheduled``)."""

from __future__ import annotations

import json
from typing import Any

from tapcase.remote.errors import CliError, translated
from tapcase.remote.requests import check_request
from tapcase.remote.target import Target

#: What EventBridge Scheduler writes into the input when the schedule fires.
REQUESTED_BY = "<aws.scheduler.schedule-arn>"
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


def schedule_input(request: dict[str, Any]) -> str:
    """The target input of a schedule: the request, said to be scheduled, by the schedule."""
    scheduled = {**request, "trigger": "scheduled", "requested_by": REQUESTED_BY}
    scheduled.setdefault("reason", f"scheduled capture ({SCHEDULED_TIME})")
    filled = json.loads(json.dumps(scheduled).replace(REQUESTED_BY, "arn:aws:scheduler:::schedule/check")
                        .replace(SCHEDULED_TIME, "2024-01-01T00:00:00Z"))
    check_request(filled)  # what it will be when it fires
    return json.dumps(scheduled)


def create(target: Target, name: str, expression: str, timezone: str, request: dict[str, Any]) -> str:
    from botocore.exceptions import ClientError

    with translated(target.endpoint):
        try:
            return str(target.client("scheduler").create_schedule(
                Name=name, GroupName=target.output("ScheduleGroupName"), ScheduleExpression=expression,
                ScheduleExpressionTimezone=timezone, FlexibleTimeWindow={"Mode": "OFF"},
                Description="tapcase scheduled capture (tapcase schedule create)",
                Target={"Arn": target.state_machine_arn, "RoleArn": target.output("SchedulerRoleArn"),
                        "Input": schedule_input(request)},
            )["ScheduleArn"])
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") == "ConflictException":
                raise CliError(f"a schedule {name} exists already", "pick another name, or delete it first") from None
            if error.get("Code") == "ValidationException":
                raise CliError(f"EventBridge Scheduler refused the schedule: {error.get('Message')}",
                               'expressions look like "rate(1 day)", "cron(0 3 * * ? *)" or "at(2025-01-01T03:00:00)"'
                               ) from None
            raise


def listing(target: Target) -> list[dict[str, Any]]:
    group = target.output("ScheduleGroupName")
    client = target.client("scheduler")
    rows = []
    with translated(target.endpoint):
        for item in client.list_schedules(GroupName=group).get("Schedules", []):
            detail = client.get_schedule(Name=item["Name"], GroupName=group)
            try:
                request = json.loads(detail.get("Target", {}).get("Input") or "{}")
            except json.JSONDecodeError:
                request = {}
            selector = request.get("instance_id") or request.get("eni_ids") or request.get("tags")
            rows.append({"name": item["Name"], "state": item.get("State"), "expression": detail.get("ScheduleExpression"),
                         "timezone": detail.get("ScheduleExpressionTimezone"), "selects": selector,
                         "duration_seconds": request.get("duration_seconds")})
    return rows


def delete(target: Target, name: str) -> None:
    from botocore.exceptions import ClientError

    with translated(target.endpoint):
        try:
            target.client("scheduler").delete_schedule(Name=name, GroupName=target.output("ScheduleGroupName"))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise CliError(f"no schedule {name}", "see `tapcase schedule list`") from None
            raise
