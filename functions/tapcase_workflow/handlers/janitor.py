"""Janitor: nothing outlives its investigation (Lambda handler; thin).

Two EventBridge rules invoke it (template.yaml):

* ``JanitorAfterExecutionRule``: the investigation state machine's executions ending ``ABORTED``,
  ``TIMED_OUT`` or ``FAILED`` ("Step Functions Execution Status Change"): the teardown for that
  execution, from the ids it recorded and its run's tags. StopExecution runs no Catch, so this is
  what cleans up after an abort (and after a failed Teardown state);
* ``JanitorSchedule``: every investigation run left without a RUNNING execution (or past its
  deadline) is torn down; stale locks are released.

``tapcase janitor`` invokes it too, with a :class:`SweepRequest` (dry run, minimum age, accounts):
only the stack's roles may act in its accounts, so an operator's sweep runs here, not with the
operator's credentials.

And CloudFormation, for ``JanitorLifecycle`` (:mod:`tapcase_workflow.lifecycle`): when the stack is
deleted, every running investigation is stopped and everything investigations made is torn down
(deleting the state machine would only end its executions at their next state transition, with
no Teardown, and the janitor's own rules go with the stack).

EventBridge invokes Lambda asynchronously: an exception here (TeardownIncomplete) makes Lambda
retry the event, and the schedule sweeps whatever is still left.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from tapcase_workflow import lifecycle
from tapcase_workflow.errors import JanitorError
from tapcase_workflow.logic.accounts import parse_member_accounts, role_arn
from tapcase_workflow.models.events import ENDED, ExecutionStatusChange, JanitorEvent, ScheduledEvent, SweepRequest
from tapcase_workflow.models.payloads import JanitorOutput
from tapcase_workflow.observability import logger
from tapcase_workflow.settings import JanitorSettings, load_settings
from tapcase_workflow.sweep import after_execution, on_stack_deletion, sweep

EVENT_MODEL = JanitorEvent
RESULT_MODEL = JanitorOutput
SETTINGS_MODEL = JanitorSettings
#: Seconds kept to report back before the function's own timeout.
REPORT_BACK_SECONDS = 30


def parse_event(event: Any) -> ExecutionStatusChange | ScheduledEvent | SweepRequest:
    try:
        return JanitorEvent.model_validate(event).root
    except ValidationError:
        raise JanitorError("the janitor takes a Step Functions Execution Status Change, a Scheduled Event or a "
                           f"sweep request (tapcase janitor), not {str(event)[:200]!r}") from None


def _chosen(roles: list[str | None], accounts: list[str] | None) -> list[str | None]:
    """The roles of ``accounts`` (each must be the stack's own or a MemberAccounts one)."""
    if not accounts:
        return roles
    by_account = {r.split(":")[4]: r for r in roles if r}
    strangers = [a for a in accounts if a not in by_account]
    if strangers:
        raise JanitorError(f"{', '.join(strangers)}: not one of the stack's accounts "
                           f"({', '.join(by_account)}: its own and its MemberAccounts)")
    return [by_account[a] for a in dict.fromkeys(accounts)]


def _roles(cfg: JanitorSettings, context: LambdaContext) -> list[str | None]:
    """The member role of the stack's own account and of each of its MemberAccounts."""
    parts = str(getattr(context, "invoked_function_arn", "") or "").split(":")
    if len(parts) < 5 or not parts[4]:
        return [None]
    partition, own = parts[1], parts[4]
    members = sorted(parse_member_accounts(cfg.member_accounts) - {own})
    return [role_arn(account, cfg.member_role_name, partition) for account in [own, *members]]


def on_stack(request_type: str, context: LambdaContext) -> dict[str, str]:
    """``JanitorLifecycle``: nothing to do on Create/Update; on Delete, stop and tear down everything."""
    cfg = load_settings(JanitorSettings)
    if request_type != "Delete":
        return {}
    wait = max(0.0, context.get_remaining_time_in_millis() / 1000 - REPORT_BACK_SECONDS)
    return on_stack_deletion(lock_table=cfg.lock_table, state_machine_arn=cfg.state_machine_arn, now=int(time.time()),
                             wait_seconds=wait, roles=_roles(cfg, context))


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = lifecycle.stack_request(event, JanitorError)
    if request is not None:
        return lifecycle.answer(request, lambda kind: on_stack(kind, context))
    cfg = load_settings(JanitorSettings)
    parsed = parse_event(event)
    wait = max(0.0, context.get_remaining_time_in_millis() / 1000 - REPORT_BACK_SECONDS)
    if isinstance(parsed, ExecutionStatusChange):
        detail = parsed.detail
        if detail.stateMachineArn != cfg.state_machine_arn or detail.status not in ENDED:
            raise JanitorError(f"not an ended execution of {cfg.state_machine_arn}: "
                               f"{detail.executionArn} {detail.status}")
        logger.set_correlation_id(detail.executionArn)
        result = after_execution(lock_table=cfg.lock_table, execution_arn=detail.executionArn, wait_seconds=wait)
    elif isinstance(parsed, SweepRequest):  # tapcase janitor: the operator's options
        result = sweep(lock_table=cfg.lock_table, state_machine_arn=cfg.state_machine_arn, now=int(time.time()),
                       older_than=parsed.older_than_seconds, dry_run=parsed.dry_run, wait_seconds=wait,
                       roles=_chosen(_roles(cfg, context), parsed.accounts))
    else:
        result = sweep(lock_table=cfg.lock_table, state_machine_arn=cfg.state_machine_arn, now=int(time.time()),
                       older_than=cfg.janitor_min_age_seconds, dry_run=False, wait_seconds=wait,
                       roles=_roles(cfg, context))
    logger.info("janitor done", extra=result.model_dump(mode="json"))
    return result.model_dump(mode="json")
