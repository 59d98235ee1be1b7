"""The janitor's runs, shared by its Lambda handler and ``tapcase janitor`` (adapters + logic).

* :func:`after_execution`: an execution ended ABORTED, TIMED_OUT or FAILED; tear down what it
  recorded and what carries its run's tags (the same teardown the state machine runs last).
* :func:`sweep`: every investigation run whose resources are still there without a RUNNING
  execution (or past its deadline) is torn down in the safe order; stale locks are released.
* :func:`on_stack_deletion`: the stack is being deleted (``JanitorLifecycle``): every running
  investigation is stopped, then everything any investigation made is torn down, in every account.

A dry run lists what would be removed, by investigation id, and removes nothing.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapcase_workflow.dal import janitor as inventory
from tapcase_workflow.dal.history import execution_events, running_executions, stop_execution
from tapcase_workflow.dal.member import acting_in
from tapcase_workflow.dal.teardown import AwsTeardown
from tapcase_workflow.errors import MemberRoleUnavailable, TeardownIncomplete
from tapcase_workflow.logic import janitor
from tapcase_workflow.logic.recorded import recorded
from tapcase_workflow.logic.teardown import KINDS, teardown
from tapcase_workflow.models.payloads import JanitorOutput
from tapcase_workflow.observability import logger


def _counts(ids: dict[str, list[str]]) -> dict[str, int]:
    return {kind: len(ids.get(kind, [])) for kind in KINDS if ids.get(kind)}


def after_execution(*, lock_table: str, execution_arn: str, dry_run: bool = False,
                    wait_seconds: float = 600.0) -> JanitorOutput:
    """Teardown for one ended execution, from the plan and ids it recorded."""
    record = recorded(execution_events(execution_arn))
    if record.plan is None:  # it ended before Plan answered: it created nothing
        return JanitorOutput(dry_run=dry_run, investigations={}, stale_locks=[], skipped=record.rejected)
    plan = record.plan
    cloud = AwsTeardown(lock_table=lock_table, lock_key=plan.lock_key or plan.instance_id, execution_arn=execution_arn,
                        run=plan.run_token, wait_seconds=wait_seconds)
    key = f"{plan.investigation_id}/{plan.run_token}"
    if dry_run:
        with acting_in(plan.account.role_arn if plan.account else None):
            found = {kind: cloud.find(kind, plan.investigation_id) for kind in KINDS}
            found = {k: sorted(set(v) | set(cloud.alive(k, record.ids.get(k, [])))) for k, v in found.items()}
        return JanitorOutput(dry_run=True, investigations={key: _counts(found)} if any(found.values()) else {},
                             stale_locks=[], skipped=record.rejected)
    with acting_in(plan.account.role_arn if plan.account else None):  # the suspect's account
        result = teardown(cloud, plan.investigation_id, record.ids)
    deleted = {k: v for k, v in result["deleted"].items() if v}
    logger.info("teardown after the execution ended", extra={"execution_arn": execution_arn, "deleted": deleted})
    return JanitorOutput(dry_run=False, investigations={key: deleted} if deleted else {}, stale_locks=[],
                         skipped=record.rejected)


def sweep(*, lock_table: str, state_machine_arn: str, now: int, older_than: int, dry_run: bool,
          wait_seconds: float = 600.0, roles: list[str | None] | None = None) -> JanitorOutput:
    """Every orphan run torn down (or listed), every stale lock released (or listed).

    ``roles``: the accounts to sweep, each through its member role (default: the caller's own
    account with its own credentials)."""
    removed: dict[str, dict[str, int]] = {}
    skipped: list[str] = []
    found = []
    accounts: dict[str, list[str]] = {}
    for role in roles or [None]:  # resources first, then who is running
        try:
            with acting_in(role):
                found.append((role, janitor.group(inventory.tagged_resources())))
        except (ClientError, BotoCoreError, MemberRoleUnavailable) as exc:  # a member account without its role: the others still
            skipped.append(f"{role}: {exc}")
    all_locks = inventory.locks(lock_table)
    live = inventory.live_executions(state_machine_arn)
    for role, (groups, invalid) in found:
        skipped += invalid
        before = set(removed)
        with acting_in(role):
            _sweep_account(groups, live, lock_table, now, older_than, dry_run, wait_seconds, removed, skipped)
        accounts[role.split(":")[4] if role else "own"] = sorted(set(removed) - before)
    stale = janitor.stale_locks(all_locks, live, now)
    released = [f"{lock.key} ({lock.investigation_id})" for lock in stale
                if dry_run or inventory.delete_lock(lock_table, lock)]
    return JanitorOutput(dry_run=dry_run, investigations=removed, stale_locks=released, skipped=skipped,
                         accounts=accounts)


def _sweep_account(groups: Any, live: Any, lock_table: str, now: int, older_than: int, dry_run: bool,
                   wait_seconds: float, removed: dict[str, dict[str, int]], skipped: list[str]) -> None:
    for entry, reason in janitor.orphans(groups, live, now, older_than):
        logger.info("orphan investigation run", extra={"run": entry.key, "reason": reason, "ids": entry.ids})
        if dry_run:
            removed[entry.key] = _counts(entry.ids)
            continue
        cloud = AwsTeardown(lock_table=lock_table, lock_key="", execution_arn=None,  # stale locks: below
                            run=entry.run, by_tag=entry.run is not None, wait_seconds=wait_seconds)
        try:
            result = teardown(cloud, entry.investigation_id, entry.ids)
        except TeardownIncomplete as exc:
            skipped.append(f"{entry.key}: {exc}")
            continue
        removed[entry.key] = {k: v for k, v in result["deleted"].items() if v}


#: The error a stack deletion stops running investigations with (their history says why).
STACK_DELETED = "tapcase.StackDeleted"


def on_stack_deletion(*, lock_table: str, state_machine_arn: str, now: int, wait_seconds: float,
                      roles: list[str | None] | None = None) -> dict[str, str]:
    """Stop every RUNNING investigation, sweep every account with no minimum age, and check that
    nothing is left (:class:`TeardownIncomplete` naming what is, so the deletion stops there)."""
    stopped = [arn for arn in running_executions(state_machine_arn)
               if stop_execution(arn, error=STACK_DELETED, cause="the tapcase stack is being deleted: "
                                 "the janitor tears down what this investigation made")]
    result = sweep(lock_table=lock_table, state_machine_arn=state_machine_arn, now=now, older_than=0,
                   dry_run=False, wait_seconds=wait_seconds, roles=roles)
    left = sweep(lock_table=lock_table, state_machine_arn=state_machine_arn, now=now, older_than=0,
                 dry_run=True, wait_seconds=0, roles=roles)
    unreachable = []
    for role in roles or [None]:  # an account the janitor cannot look into may still hold anything
        try:
            with acting_in(role):
                inventory.tagged_resources()
        except (ClientError, BotoCoreError, MemberRoleUnavailable) as exc:
            unreachable.append(f"{role or 'this account'}: {exc}")
    if left.investigations or unreachable:
        raise TeardownIncomplete(
            "the stack's investigations are not all torn down: "
            + "; ".join([*(f"{key} still has {counts}" for key, counts in left.investigations.items()),
                         *(f"cannot sweep {u}" for u in unreachable)]))
    logger.info("stack deletion: investigations stopped and torn down",
                extra={"stopped": stopped, "investigations": result.investigations})
    return {"Stopped": str(len(stopped)), "TornDown": str(len(result.investigations))}
