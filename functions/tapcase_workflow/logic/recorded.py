"""What an execution recorded it created, read from its history (pure: events in, ids out).

Teardown and the janitor find an investigation's resources by its tag, and also by the ids the
execution itself recorded, so that a resource whose tag is missing (removed by someone, or a
create that AWS answered before tagging) is still torn down. The history is the record: every
``TaskSucceeded`` event keeps the raw answer of the task (Step Functions API reference,
``TaskSucceededEventDetails.output``), whatever the state did with it afterwards, and it
survives a failure of the Parallel branch that dropped the state's own output.

Ids are checked against the shape AWS gives them before they are used anywhere (a history is
ours, but a crafted or corrupted id must never reach an API call unvalidated).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from tapcase_workflow.models.payloads import CreateMirrorFilterOutput
from tapcase_workflow.models.plan import InvestigationPlan

#: The shapes of the ids AWS gives (EC2 ids: prefix and 8 or 17 hex digits; SQS queue URLs).
ID_PATTERNS = {
    "sensor_instances": re.compile(r"^i-[0-9a-f]{8}(?:[0-9a-f]{9})?$"),
    "security_groups": re.compile(r"^sg-[0-9a-f]{8}(?:[0-9a-f]{9})?$"),
    "mirror_targets": re.compile(r"^tmt-[0-9a-f]{8}(?:[0-9a-f]{9})?$"),
    "mirror_filters": re.compile(r"^tmf-[0-9a-f]{8}(?:[0-9a-f]{9})?$"),
    "mirror_sessions": re.compile(r"^tms-[0-9a-f]{8}(?:[0-9a-f]{9})?$"),
    "control_queues": re.compile(r"^https?://[A-Za-z0-9.:-]+/\d{12}/tapcase-[a-z0-9-]{1,70}$"),
}

#: aws-sdk task resource -> (kind, how to take the ids out of its raw answer).
_SDK_ANSWERS: dict[str, tuple[str, Any]] = {
    "runInstances": ("sensor_instances", lambda o: [i.get("InstanceId") for i in o.get("Instances") or []]),
    "createSecurityGroup": ("security_groups", lambda o: [o.get("GroupId")]),
    "createQueue": ("control_queues", lambda o: [o.get("QueueUrl")]),
    "createTrafficMirrorTarget": ("mirror_targets",
                                  lambda o: [(o.get("TrafficMirrorTarget") or {}).get("TrafficMirrorTargetId")]),
    "createTrafficMirrorSession": ("mirror_sessions",
                                   lambda o: [(o.get("TrafficMirrorSession") or {}).get("TrafficMirrorSessionId")]),
}


@dataclass
class Recorded:
    """What one execution recorded: its plan (None before Plan answered) and the ids it created."""

    plan: InvestigationPlan | None = None
    ids: dict[str, list[str]] = field(default_factory=dict)
    #: Ids that did not have the shape AWS gives them: never used, reported.
    rejected: list[str] = field(default_factory=list)

    def add(self, kind: str, value: object) -> None:
        if not isinstance(value, str) or not ID_PATTERNS[kind].match(value):
            self.rejected.append(f"{kind}: {value!r}")
            return
        bucket = self.ids.setdefault(kind, [])
        if value not in bucket:
            bucket.append(value)


def _output(event: Mapping[str, Any]) -> Any:
    details = event.get("taskSucceededEventDetails") or {}
    try:
        return json.loads(details.get("output") or "null")
    except ValueError:
        return None


def recorded(events: Iterable[Mapping[str, Any]]) -> Recorded:
    """The plan and the created ids in an execution's history events (any order, any page)."""
    out = Recorded()
    for event in events:
        if event.get("type") != "TaskSucceeded":
            continue
        details = event.get("taskSucceededEventDetails") or {}
        resource_type, resource = details.get("resourceType"), str(details.get("resource") or "")
        answer = _output(event)
        if not isinstance(answer, dict):
            continue
        if resource_type == "lambda":
            _lambda_answer(out, answer.get("Payload"))
        elif resource in _SDK_ANSWERS:
            kind, take = _SDK_ANSWERS[resource]
            for value in take(answer):
                out.add(kind, value)
    return out


def _lambda_answer(out: Recorded, payload: Any) -> None:
    """Plan's answer is the plan; CreateMirrorFilter's names the filter (each by its output model)."""
    if not isinstance(payload, dict):
        return
    if "filter_id" in payload:
        try:
            out.add("mirror_filters", CreateMirrorFilterOutput.model_validate(payload).filter_id)
        except ValidationError:
            out.rejected.append(f"mirror_filters: {payload.get('filter_id')!r}")
    elif "run_token" in payload and "sensor_config" in payload:
        try:
            out.plan = InvestigationPlan.model_validate(payload)
        except ValidationError:
            out.rejected.append("plan: not an investigation plan")
