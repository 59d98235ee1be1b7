"""``tapcase janitor``: the janitor's sweep on demand, from the command line.

Finds every resource tagged by tapcase whose investigation run has no RUNNING execution (or is
past its deadline), removes it in the safe order, releases stale locks, and says what it removed;
``--dry-run`` lists the same by investigation id and removes nothing. It sweeps the stack's own
account and each of its ``MemberAccounts``, each through that account's member role
(``MemberRoleName``); ``--account`` limits it to some of them. The output says per account what
was found or removed.

The member role trusts only the stack's own roles that act through it (not an operator), so the
command asks the stack's JanitorFunction for the sweep (a ``SweepRequest``, one synchronous
Lambda invocation: the operator needs ``lambda:InvokeFunction`` on it and nothing else); the
function runs the same code as its schedule (``tapcase_workflow.sweep``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class StackInfo:
    """What the janitor needs of a deployed stack."""

    lock_table: str
    state_machine_arn: str
    #: Its parameters MemberAccounts (parsed) and MemberRoleName.
    members: frozenset[str] = field(default_factory=frozenset)
    member_role_name: str = "tapcase-member"
    #: The JanitorFunction (its output JanitorFunctionArn; the local deployer's name otherwise).
    janitor_function: str = ""

    @property
    def account(self) -> str:
        return self.state_machine_arn.split(":")[4]

    @property
    def partition(self) -> str:
        return self.state_machine_arn.split(":")[1]

    def accounts(self, only: list[str] | None) -> list[str]:
        """The accounts to sweep: the stack's own and its MemberAccounts, or ``only`` (each of
        which must be one of them)."""
        allowed = [self.account, *sorted(self.members - {self.account})]
        chosen = allowed if not only else list(dict.fromkeys(only))
        strangers = [a for a in chosen if a not in allowed]
        if strangers:
            raise JanitorCliError(f"--account {', '.join(strangers)}: not one of the stack's accounts "
                                  f"({', '.join(allowed)}: its own and its MemberAccounts)")
        return chosen


def resolve_stack(stack: str) -> StackInfo:
    """A deployed stack: its CloudFormation outputs and parameters, else the names the local
    deployer gives (``<stack>-LockTable``, ``<stack>-InvestigationStateMachine``) and no members."""
    from tapcase_workflow.dal.clients import client
    from tapcase_workflow.logic.accounts import DEFAULT_MEMBER_ROLE_NAME, parse_member_accounts

    try:
        described = client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
        found = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters") or []}
        if "LockTableName" in found and "InvestigationStateMachineArn" in found:
            return StackInfo(found["LockTableName"], found["InvestigationStateMachineArn"],
                             parse_member_accounts(parameters.get("MemberAccounts", "")),
                             parameters.get("MemberRoleName") or DEFAULT_MEMBER_ROLE_NAME,
                             found.get("JanitorFunctionArn") or f"{stack}-JanitorFunction")
    except (ClientError, BotoCoreError, IndexError):
        pass
    except ValueError as exc:  # MemberAccounts that is not a list of account ids
        raise JanitorCliError(f"stack {stack!r}: {exc}") from None
    name = f"{stack}-InvestigationStateMachine"
    for page in client("stepfunctions").get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == name:
                return StackInfo(f"{stack}-LockTable", str(machine["stateMachineArn"]),
                                 janitor_function=f"{stack}-JanitorFunction")
    raise JanitorCliError(f"no stack {stack!r} here (no CloudFormation outputs, no state machine {name})")


def ask_janitor(function: str, request: dict[str, Any]) -> dict[str, Any]:
    """One synchronous invocation of the JanitorFunction: its answer (a JanitorOutput document), or
    :class:`JanitorCliError` with the function's error. No retry: a sweep cut off by the client's
    read timeout still runs to its end in the function."""
    import boto3
    from botocore.config import Config

    lam = boto3.client("lambda", config=Config(read_timeout=960, retries={"max_attempts": 1}))
    answer = lam.invoke(FunctionName=function, Payload=json.dumps(request).encode())
    body = json.loads(answer["Payload"].read() or b"null")
    if "FunctionError" in answer:
        raise JanitorCliError(f"{function}: {body.get('errorType')}: {body.get('errorMessage')}"
                              if isinstance(body, dict) else f"{function} failed: {body}")
    if not isinstance(body, dict):
        raise JanitorCliError(f"{function} answered {body!r}")
    return body


def run(*, dry_run: bool, older_than: str, endpoint: str | None, stack: str, region: str | None,
        as_json: bool, accounts: list[str] | None = None) -> int:
    console = Console(stderr=True, soft_wrap=True)
    try:
        seconds = parse_duration(older_than)
        with _pointed_at(endpoint, region or ("us-east-1" if endpoint else None)):
            info = resolve_stack(stack)
            document = ask_janitor(info.janitor_function, {
                "sweep": "tapcase-janitor", "dry_run": dry_run, "older_than_seconds": seconds,
                "accounts": info.accounts(accounts)})
    except (JanitorCliError, ClientError, BotoCoreError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    if as_json:
        print(json.dumps(document, indent=2))
        return 0
    verb = "would remove" if dry_run else "removed"
    if not document["investigations"] and not document["stale_locks"]:
        console.print(f"nothing to remove (older than {seconds}s)")
    for account, keys in document["accounts"].items():
        console.print(f"account {account}: {len(keys)} investigation run(s) {'found' if dry_run else 'removed'}",
                      highlight=False)
        for key in keys:
            counts = document["investigations"].get(key) or {}
            what = ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "nothing left"
            console.print(f"  {verb} {key}: {what}", highlight=False)
    for lock in document["stale_locks"]:
        console.print(f"{verb} stale lock {lock}", highlight=False)
    for note in document["skipped"]:
        console.print(f"[yellow]left alone:[/yellow] {note}", highlight=False)
    return 0
