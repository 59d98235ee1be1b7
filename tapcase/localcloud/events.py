"""EventBridge: rules that target a state machine start it, and TestEventPattern answers.

moto matches events against rule patterns but raises NotImplementedError for a Step Functions
target and leaves TestEventPattern empty. Here a matching event starts an execution of the
target state machine (input: the event, or the target's ``Input``/``InputPath``; a generated name,
as EventBridge gives), so a GuardDuty finding put on the bus locally starts an investigation as
on AWS; TestEventPattern uses moto's own matcher.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from typing import Any

log = logging.getLogger(__name__)
_applied = False
_lock = threading.Lock()


def _start_execution(state_machine_arn: str, region: str, payload: str) -> None:
    import boto3

    sfn = boto3.client(
        "stepfunctions", region_name=region, endpoint_url=f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '5000')}",
        aws_access_key_id="events", aws_secret_access_key="events",
    )
    sfn.start_execution(stateMachineArn=state_machine_arn, name=str(uuid.uuid4()), input=payload)


def _as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """moto keeps ``time`` as epoch seconds; EventBridge delivers ISO-8601 (``2024-06-03T14:00:00Z``)."""
    out = dict(event)
    if isinstance(out.get("time"), (int, float)):
        import datetime

        out["time"] = datetime.datetime.fromtimestamp(out["time"], tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> str:
    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        from jsonpath_ng import parse

        matches = [m.value for m in parse(target["InputPath"]).find(event)]
        return json.dumps(matches[0] if matches else None)
    return json.dumps(event)


def apply() -> None:
    global _applied
    with _lock:
        if _applied:
            return
        from moto.events.models import EventPattern, Rule
        from moto.events.responses import EventsHandler
        from moto.utilities.arns import parse_arn

        original_send = Rule.send_to_targets

        def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
            if not self.event_pattern.matches_event(original_event):
                return
            states = [t for t in self.targets if parse_arn(t["Arn"]).service == "states"]
            others = [t for t in self.targets if t not in states]
            for target in states:
                # EventBridge starts the execution asynchronously; so do we (PutEvents must not wait).
                threading.Thread(
                    target=_start_execution,
                    args=(target["Arn"], self.region_name, _target_input(target, _as_delivered(dict(original_event)))),
                    daemon=True,
                ).start()
            if others:
                saved = self.targets
                try:
                    self.targets = others
                    original_send(self, original_event, transform_input)
                finally:
                    self.targets = saved

        def test_event_pattern(self: Any) -> str:
            pattern = EventPattern.load(self._get_param("EventPattern"))
            event = json.loads(self._get_param("Event"))
            return json.dumps({"Result": bool(pattern.matches_event(event))})

        Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]
        EventsHandler.test_event_pattern = test_event_pattern  # type: ignore[method-assign,assignment]
        _applied = True
