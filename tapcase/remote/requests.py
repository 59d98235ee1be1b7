"""A manual request from command-line flags, checked against the one request schema
(:class:`tapcase_workflow.models.request.ManualRequest`) before anything starts: an error names
the flag or field at fault."""

from __future__ import annotations

import getpass
import json
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tapcase.remote.errors import CliError
from tapcase_workflow.models.request import FilterRule, ManualRequest

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")
#: The request fields the flags set, by flag.
FLAGS = {"instance_id": "--instance-id", "eni_ids": "--eni", "tags": "--tag", "duration_seconds": "--duration",
         "reason": "--reason", "requested_by": "--requested-by", "investigation_id": "--investigation-id",
         "filter_rules": "--rules", "target": "--mirror-to"}


def parse_duration(text: str) -> int:
    """``10m``, ``1h30m``, ``90s``, ``600`` -> seconds."""
    match = _DURATION.match(text.strip().lower()) if text else None
    if not match or not any(match.groups()):
        raise CliError(f"--duration {text!r} is not a duration", "write it like 90s, 10m, 1h30m or 600 (seconds)")
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def parse_tags(values: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"--tag {item!r} is not KEY=VALUE", "e.g. --tag team=payments (repeat for more tags)")
        tags[key] = value
    return tags


def load_rules(path: Path) -> list[dict[str, Any]]:
    """Traffic mirror filter rules from a JSON file: a list of rules (or ``{"filter_rules": [...]}``)."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise CliError(f"--rules {path}: cannot read it: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise CliError(f"--rules {path}: not JSON: {exc}") from None
    if isinstance(data, dict) and "filter_rules" in data:
        data = data["filter_rules"]
    if not isinstance(data, list):
        raise CliError(f"--rules {path}: expected a JSON list of filter rules",
                       'e.g. [{"direction": "egress", "protocol": 17, "destination_ports": [53, 53]}]')
    for index, rule in enumerate(data):
        try:
            FilterRule.model_validate(rule)
        except ValidationError as exc:
            raise CliError(f"--rules {path}: rule {index + 1}: {_errors(exc)}") from None
    return data


def _errors(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        name = FLAGS.get(loc[0], loc[0]) if loc else "request"
        where = ".".join([name, *loc[1:]])
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def requester() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name: say nothing
        return "tapcase CLI"


def build_request(
    *,
    instance_id: str | None,
    eni_ids: list[str],
    tags: list[str],
    duration: str | None,
    reason: str | None,
    requested_by: str | None,
    rules: Path | None,
    investigation_id: str | None,
    dry_run: bool,
    trigger: str = "manual",
    mirror_to: str | None = None,
    account: str | None = None,
) -> dict[str, Any]:
    """The request the flags describe, checked against the schema (a :class:`CliError` names the flag)."""
    request: dict[str, Any] = {"trigger": trigger, "requested_by": requested_by or requester()}
    if instance_id:
        request["instance_id"] = instance_id
    if eni_ids:
        request["eni_ids"] = list(eni_ids)
    if tags:
        request["tags"] = parse_tags(tags)
    if duration:
        request["duration_seconds"] = parse_duration(duration)
    if reason:
        request["reason"] = reason
    if rules is not None:
        request["filter_rules"] = load_rules(rules)
    if investigation_id:
        request["investigation_id"] = investigation_id
    if dry_run:
        request["dry_run"] = True
    if mirror_to:
        request["target"] = mirror_to
    if account:
        request["account_id"] = account  # a member account's instance (the stack's MemberAccounts)
    if not (instance_id or eni_ids or tags):
        raise CliError("say which instance to investigate", "give --instance-id ID, --eni ENI or --tag KEY=VALUE")
    check_request(request)
    return request


def check_request(request: dict[str, Any]) -> ManualRequest:
    try:
        return ManualRequest.model_validate(request)
    except ValidationError as exc:
        raise CliError(f"invalid request: {_errors(exc)}") from None


def check_duration_against(request: dict[str, Any], parameters: dict[str, str]) -> None:
    """The stack's MaxCaptureSeconds, checked before starting (Plan would refuse it)."""
    cap = parameters.get("MaxCaptureSeconds")
    asked = request.get("duration_seconds")
    if cap and asked and cap.isdigit() and asked > int(cap):
        raise CliError(f"--duration {asked}s exceeds the stack's maximum capture window ({cap}s, MaxCaptureSeconds)",
                       "ask for less, or redeploy with a larger MaxCaptureSeconds")
