"""The janitor's decisions (pure): which investigation runs are orphans, which locks are stale.

An investigation run's resources (grouped by the tags ``tapcase:investigation-id`` and
``tapcase:run``) are orphans when no RUNNING execution of the state machine recorded a plan for
that run, or when the execution that did is past the plan's sensor deadline. A lock is stale when
it expired (DynamoDB's TTL deletes only eventually) or its execution is not RUNNING.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tapcase_contract import tags
from tapcase_contract.ids import is_investigation_id
from tapcase_workflow.logic.recorded import ID_PATTERNS
from tapcase_workflow.logic.teardown import KINDS


@dataclass(frozen=True)
class Tagged:
    """One resource carrying the tapcase tag, as listed."""

    kind: str
    resource_id: str
    tags: Mapping[str, str]


@dataclass
class Group:
    """The resources of one run of one investigation."""

    investigation_id: str
    run: str | None
    instance_id: str | None = None
    started_at: int | None = None
    ids: dict[str, list[str]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.investigation_id if self.run is None else f"{self.investigation_id}/{self.run}"


@dataclass(frozen=True)
class Live:
    """A RUNNING execution and what its recorded plan says."""

    execution_arn: str
    investigation_id: str
    run: str
    deadline: int


@dataclass(frozen=True)
class Lock:
    """One lock item: ``key`` is its key as stored (``<account>/<instance>``, or an instance id alone
    for an item written before locks named their account: see logic.accounts.lock_key)."""

    key: str
    investigation_id: str | None
    execution_arn: str | None
    expires_at: int | None




def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def group(resources: Iterable[Tagged]) -> tuple[list[Group], list[str]]:
    """Resources grouped by (investigation, run); resources whose tag or id breaks the rules are
    returned apart (never touched: tapcase never creates them)."""
    groups: dict[tuple[str, str | None], Group] = {}
    invalid: list[str] = []
    for item in resources:
        inv = item.tags.get(tags.INVESTIGATION_ID)
        run = item.tags.get(tags.RUN)
        if not is_investigation_id(inv) or (run is not None and not _valid_run(run)):
            invalid.append(f"{item.kind} {item.resource_id}: tag {tags.INVESTIGATION_ID}={inv!r} {tags.RUN}={run!r}")
            continue
        if item.kind not in ID_PATTERNS or not ID_PATTERNS[item.kind].match(item.resource_id):
            invalid.append(f"{item.kind} {item.resource_id!r}: not an id of that kind")
            continue
        assert inv is not None
        entry = groups.setdefault((inv, run), Group(inv, run))
        entry.ids.setdefault(item.kind, []).append(item.resource_id)
        entry.instance_id = entry.instance_id or item.tags.get(tags.INSTANCE_ID)
        started = _int(item.tags.get(tags.STARTED_AT))
        if started is not None:
            entry.started_at = started if entry.started_at is None else min(entry.started_at, started)
    ordered = sorted(groups.values(), key=lambda g: (g.investigation_id, g.run or ""))
    for entry in ordered:
        entry.ids = {k: sorted(entry.ids[k]) for k in KINDS if k in entry.ids}
    return ordered, invalid


def _valid_run(run: str) -> bool:
    return len(run) == 8 and all(c in "0123456789abcdef" for c in run)


def orphans(groups: Sequence[Group], live: Sequence[Live], now: int, older_than: int) -> list[tuple[Group, str]]:
    """The groups to remove, each with the reason."""
    out: list[tuple[Group, str]] = []
    for entry in groups:
        if entry.started_at is not None and now - entry.started_at < older_than:
            continue
        owners = [x for x in live if x.investigation_id == entry.investigation_id
                  and (entry.run is None or x.run == entry.run)]
        if not owners:
            out.append((entry, "no running execution"))
        elif all(now > x.deadline for x in owners):
            out.append((entry, f"past its deadline ({', '.join(x.execution_arn for x in owners)})"))
    return out


def stale_locks(locks: Iterable[Lock], live: Sequence[Live], now: int) -> list[Lock]:
    """Locks that expired or whose execution is not RUNNING (the condition of the Lock state
    already treats expired ones as free; releasing them keeps the table honest)."""
    running = {x.execution_arn for x in live if now <= x.deadline}
    return [lock for lock in locks
            if (lock.expires_at is not None and lock.expires_at < now) or lock.execution_arn not in running]
