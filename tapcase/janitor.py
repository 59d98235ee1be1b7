"""``tapcase janitor``: the janitor's sweep from the command line, with the operator's credentials.

Finds every resource tagged by tapcase whose investigation run has no RUNNING execution (or is
past its deadline), removes it in the safe order, releases stale locks, and says what it removed;
``--dry-run`` lists the same by investigation id and removes nothing. The same code runs in the
scheduled JanitorFunction (``tapcase_workflow.sweep``).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class JanitorCliError(RuntimeError):
    """The janitor could not run as asked (bad option, no stack found)."""


def parse_duration(text: str) -> int:
    """``90``, ``90s``, ``15m``, ``2h``, ``1d`` -> seconds."""
    match = _DURATION.match(text or "")
    if not match:
        raise JanitorCliError(f"--older-than {text!r}: use a whole number with s, m, h or d (e.g. 15m, 2h)")
    return int(match.group(1)) * _UNITS[match.group(2)]


@contextmanager
def _pointed_at(endpoint: str | None, region: str | None) -> Iterator[None]:
    """The workflow's boto3 clients (``tapcase_workflow.dal``) at ``endpoint`` for the duration."""
    from tapcase_workflow.dal import clients

    values = {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    if endpoint:  # a local cloud takes any credentials
        values |= {"AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID") or "local",
                   "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY") or "local"}
    saved = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is not None:
            os.environ[key] = value
    clients.reset()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        clients.reset()


def resolve_stack(stack: str) -> tuple[str, str]:
    """(lock table, state machine ARN) of a deployed stack: its CloudFormation outputs, else the
    names the local deployer gives (``<stack>-LockTable``, ``<stack>-InvestigationStateMachine``)."""
    from tapcase_workflow.dal.clients import client

    try:
        outputs = client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
        found = {o["OutputKey"]: o["OutputValue"] for o in outputs}
        if "LockTableName" in found and "InvestigationStateMachineArn" in found:
            return found["LockTableName"], found["InvestigationStateMachineArn"]
    except (ClientError, BotoCoreError, IndexError):
        pass
    name = f"{stack}-InvestigationStateMachine"
    for page in client("stepfunctions").get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == name:
                return f"{stack}-LockTable", str(machine["stateMachineArn"])
    raise JanitorCliError(f"no stack {stack!r} here (no CloudFormation outputs, no state machine {name})")


def run(*, dry_run: bool, older_than: str, endpoint: str | None, stack: str, region: str | None,
        as_json: bool) -> int:
    console = Console(stderr=True, soft_wrap=True)
    try:
        seconds = parse_duration(older_than)
        with _pointed_at(endpoint, region or ("us-east-1" if endpoint else None)):
            lock_table, machine = resolve_stack(stack)
            from tapcase_workflow.sweep import sweep

            result = sweep(lock_table=lock_table, state_machine_arn=machine, now=int(time.time()),
                           older_than=seconds, dry_run=dry_run, wait_seconds=120.0)
    except (JanitorCliError, ClientError, BotoCoreError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    document: dict[str, Any] = result.model_dump(mode="json")
    if as_json:
        print(json.dumps(document, indent=2))
        return 0
    verb = "would remove" if dry_run else "removed"
    if not document["investigations"] and not document["stale_locks"]:
        console.print(f"nothing to remove (older than {seconds}s)")
    for key, counts in sorted(document["investigations"].items()):
        what = ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "nothing left"
        console.print(f"{verb} {key}: {what}", highlight=False)
    for lock in document["stale_locks"]:
        console.print(f"{verb} stale lock {lock}", highlight=False)
    for note in document["skipped"]:
        console.print(f"[yellow]left alone:[/yellow] {note}", highlight=False)
    return 0
