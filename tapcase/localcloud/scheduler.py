"""EventBridge Scheduler: schedules that start the state machine, as AWS's do.

moto 5.2.5 stores schedules and never runs them; it takes any expression and answers a schedule in
a group that does not exist with a Python ``KeyError`` (HTTP 500). Here:

- ``CreateSchedule``/``UpdateSchedule`` refuse a group that does not exist
  (``ResourceNotFoundException``), an expression that is not ``at(...)``, ``rate(...)`` or a
  six-field ``cron(...)``, and a Step Functions target whose ``Input`` is not JSON (templated
  targets need well-formed JSON) with ``ValidationException``, creating nothing;
- a schedule **fires** when told to (:func:`fire`; ``POST /_tapcase/scheduler/fire``), and a
  ``rate()`` schedule by itself every period of the local cloud's clock
  (:mod:`tapcase.localcloud.timescale`; first one period after its creation): its target's
  ``Input``, with the context attributes EventBridge Scheduler fills in
  (``<aws.scheduler.schedule-arn>``, ``<aws.scheduler.scheduled-time>``,
  ``<aws.scheduler.execution-id>``, ``<aws.scheduler.attempt-number>``), becomes the input of a
  ``StartExecution`` of the target state machine, as the templated Step Functions target does.

Not simulated: ``cron()`` and ``at()`` schedules fire only when told to (their wall-clock times are
not followed), flexible time windows, retry policies and dead-letter queues, ``StartDate``/``EndDate``,
``ActionAfterCompletion``; only Step Functions targets are started.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tapcase.localcloud import timescale

log = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$")
_CRON = re.compile(r"^cron\((\S+ ){5}\S+\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}

_lock = threading.Lock()
_applied = False
_ticker: threading.Thread | None = None
#: schedule ARN -> (the local clock's time of its creation or last update, firings so far)
_started: dict[str, tuple[float, int]] = {}


class ScheduleError(ValueError):
    """A schedule that cannot fire (no such schedule, a target the local cloud does not start)."""


def rate_seconds(expression: str) -> float | None:
    """The period of a ``rate()`` expression in seconds (None for ``at()``/``cron()``)."""
    match = _RATE.match(expression)
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def check_expression(expression: str | None) -> None:
    if not expression or not (_AT.match(expression) or _CRON.match(expression) or _RATE.match(expression)):
        raise ValueError(f"Invalid Schedule Expression {expression}.")
    match = _RATE.match(expression)
    if match and int(match.group(1)) < 1:
        raise ValueError(f"Invalid Schedule Expression {expression}.")


def _check_target(target: dict[str, Any]) -> None:
    arn = str(target.get("Arn", ""))
    if ":states:" in arn and ":stateMachine:" in arn and "Input" in target:
        try:
            json.loads(target["Input"])
        except (TypeError, ValueError):
            raise ValueError("Invalid Input: a templated AWS Step Functions target needs well-formed JSON") from None


def _input(schedule: Any, scheduled: datetime) -> str:
    text = str(schedule.target.get("Input") or "{}")
    values = {
        "schedule-arn": schedule.arn,
        "scheduled-time": scheduled.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "execution-id": secrets.token_hex(8),
        "attempt-number": "1",
    }
    for key, value in values.items():
        text = text.replace(f"<aws.scheduler.{key}>", value)
    return text


def _backend(region: str) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.scheduler.models import scheduler_backends

    return scheduler_backends[DEFAULT_ACCOUNT_ID][region]


def _start(schedule: Any, region: str, scheduled: datetime) -> str:
    import boto3

    arn = str(schedule.target.get("Arn", ""))
    if ":states:" not in arn or ":stateMachine:" not in arn:
        raise ScheduleError(f"schedule {schedule.name}: the local cloud starts Step Functions targets only, not {arn}")
    sfn = boto3.client(
        "stepfunctions", region_name=region, endpoint_url=f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '5000')}",
        aws_access_key_id="scheduler", aws_secret_access_key="scheduler",
    )
    started = sfn.start_execution(stateMachineArn=arn, name=str(uuid.uuid4()), input=_input(schedule, scheduled))
    return str(started["executionArn"])


def fire(region: str, name: str, group: str | None = None) -> str:
    """Fire a schedule now: start its target with its input; the execution's ARN."""
    from moto.scheduler.exceptions import ScheduleGroupNotFound, ScheduleNotFound

    try:
        schedule = _backend(region).get_schedule(group, name)
    except (ScheduleNotFound, ScheduleGroupNotFound) as exc:
        raise ScheduleError(f"no schedule {name} in group {group or 'default'}") from exc
    if schedule.state != "ENABLED":
        raise ScheduleError(f"schedule {name} is {schedule.state}")
    return _start(schedule, region, datetime.now(UTC))


def _tick(region: str) -> None:
    now = timescale.now()
    for group in list(_backend(region).schedule_groups.values()):
        for schedule in list(group.schedules.values()):
            period = rate_seconds(schedule.schedule_expression)
            if period is None or schedule.state != "ENABLED":
                continue
            with _lock:
                since, fired = _started.setdefault(schedule.arn, (now, 0))
            if now < since + (fired + 1) * period:
                continue
            with _lock:
                _started[schedule.arn] = (since, fired + 1)
            try:
                execution = _start(schedule, region, datetime.now(UTC))
                log.info("schedule %s fired: %s", schedule.name, execution)
            except Exception as exc:  # noqa: BLE001 - a schedule's failed invocation is its own, as on AWS
                log.warning("schedule %s could not start its target: %s", schedule.name, exc)


def _run_ticker(region: str, running: Callable[[], bool]) -> None:
    while running():
        try:
            _tick(region)
        except Exception:  # noqa: BLE001 - keep ticking while the cloud runs
            log.exception("scheduler tick failed")
        time.sleep(0.05)


def start_ticker(region: str, running: Callable[[], bool]) -> None:
    """Fire ``rate()`` schedules on the local clock while ``running()`` (the local cloud runs)."""
    global _ticker
    with _lock:
        if _ticker is not None and _ticker.is_alive():
            return
        _started.clear()
        _ticker = threading.Thread(target=_run_ticker, args=(region, running), name="tapcase-scheduler", daemon=True)
        _ticker.start()


def apply() -> None:
    """Patch moto's EventBridge Scheduler backend in this process (idempotent)."""
    global _applied
    with _lock:
        if _applied:
            return
        from moto.scheduler.exceptions import ScheduleGroupNotFound, ValidationException
        from moto.scheduler.models import EventBridgeSchedulerBackend

        original_create = EventBridgeSchedulerBackend.create_schedule
        original_update = EventBridgeSchedulerBackend.update_schedule

        def checked(self: Any, kwargs: dict[str, Any]) -> None:
            group = kwargs.get("group_name") or "default"
            if group not in self.schedule_groups:
                raise ScheduleGroupNotFound(group)
            try:
                check_expression(kwargs.get("schedule_expression"))
                _check_target(kwargs.get("target") or {})
            except ValueError as exc:
                raise ValidationException(str(exc)) from None

        def create_schedule(self: Any, **kwargs: Any) -> Any:
            checked(self, kwargs)
            schedule = original_create(self, **kwargs)
            with _lock:
                _started[schedule.arn] = (timescale.now(), 0)
            return schedule

        def update_schedule(self: Any, **kwargs: Any) -> Any:
            checked(self, kwargs)
            schedule = original_update(self, **kwargs)
            with _lock:
                _started[schedule.arn] = (timescale.now(), 0)
            return schedule

        EventBridgeSchedulerBackend.create_schedule = create_schedule  # type: ignore[method-assign,assignment]
        EventBridgeSchedulerBackend.update_schedule = update_schedule  # type: ignore[method-assign,assignment]
        _applied = True
