"""Which instances a request that selects by tags or ENIs names (pure: EC2's answers in, choices out).

A selection of one instance is investigated by the execution that received it; a selection of
several fans out into one child execution per instance (the state machine's ``FanOut`` map, at
most ``MaxConcurrentSensors`` at once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tapcase_workflow.errors import InvalidRequest, NothingSelected
from tapcase_workflow.models.request import SelectionRequest

#: Step Functions execution names: 1 to 80 characters (StartExecution ``name``).
MAX_EXECUTION_NAME = 80


@dataclass(frozen=True)
class Selected:
    """One instance a selection names, and the ENIs to mirror (None: all of them)."""

    instance_id: str
    eni_ids: list[str] | None = None


def describe_selector(selection: SelectionRequest) -> str:
    if selection.tags:
        return "tags " + ", ".join(f"{k}={v}" for k, v in sorted(selection.tags.items()))
    return "ENIs " + ", ".join(selection.eni_ids or [])


def select_by_tags(selection: SelectionRequest, instances: list[dict[str, Any]]) -> tuple[list[Selected], list[str]]:
    """The running instances among those carrying the tags (DescribeInstances answers), and a
    warning naming the others (there is no traffic to mirror on a stopped instance)."""
    running = sorted(i["InstanceId"] for i in instances if (i.get("State") or {}).get("Name") == "running")
    others = sorted(
        f"{i['InstanceId']} ({(i.get('State') or {}).get('Name', 'unknown')})"
        for i in instances
        if (i.get("State") or {}).get("Name") not in ("running", "terminated", "shutting-down")
    )
    warnings = [f"not running, not investigated: {', '.join(others)}"] if others else []
    if not running:
        raise NothingSelected(
            f"tags: no running instance carries {describe_selector(selection)}"
            + (f" ({warnings[0]})" if warnings else "")
        )
    return [Selected(i) for i in running], warnings


def select_by_enis(selection: SelectionRequest, interfaces: list[dict[str, Any]]) -> list[Selected]:
    """The instances the ENIs are attached to (DescribeNetworkInterfaces answers), each with its
    own ENIs of the selection."""
    requested = selection.eni_ids or []
    found = {n["NetworkInterfaceId"]: n for n in interfaces}
    missing = [e for e in requested if e not in found]
    if missing:
        raise InvalidRequest(f"eni_ids: {', '.join(missing)} does not exist in this account and region")
    by_instance: dict[str, list[str]] = {}
    for eni in requested:
        instance = (found[eni].get("Attachment") or {}).get("InstanceId")
        if not instance:
            kind = found[eni].get("InterfaceType") or "interface"
            raise InvalidRequest(
                f"eni_ids: {eni} ({kind}) is not attached to an EC2 instance: tapcase investigates instances"
            )
        by_instance.setdefault(instance, []).append(eni)
    return [Selected(instance, enis) for instance, enis in sorted(by_instance.items())]


def child_execution_name(parent_name: str, instance_id: str) -> str:
    """A child execution's name: the parent's, then the instance (unique as the parent's is)."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "-", parent_name)
    return f"{safe[: MAX_EXECUTION_NAME - len(instance_id) - 1]}-{instance_id}"
