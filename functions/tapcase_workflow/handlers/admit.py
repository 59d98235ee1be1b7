"""Admit: take one of the account's investigation slots, or wait for one, or refuse (Lambda handler;
thin). Runs after Lock, before anything is created; the slot is given back after Teardown
(ReleaseSlot), and a slot whose execution no longer runs is reclaimed here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tapcase_workflow.dal import admission as slots
from tapcase_workflow.logic.admission import admitted, no_room
from tapcase_workflow.models.payloads import AdmitInput, AdmitOutput
from tapcase_workflow.observability import correlate, logger
from tapcase_workflow.settings import AdmitSettings, load_settings

EVENT_MODEL = AdmitInput
RESULT_MODEL = AdmitOutput
SETTINGS_MODEL = AdmitSettings


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cfg = load_settings(AdmitSettings)
    inp = AdmitInput.model_validate(event)
    correlate(inp.investigation_id)
    others = slots.holders(cfg.admission_table) - {inp.execution_arn}
    ended = {arn for arn in others if not slots.still_running(arn)}
    if ended:
        slots.release(cfg.admission_table, ended)
        logger.info("slots reclaimed from executions that ended", extra={"executions": sorted(ended)})
    running = len(others - ended)
    if slots.take_slot(cfg.admission_table, inp.execution_arn, cfg.max_concurrent_investigations):
        answer = admitted(running + 1, cfg.max_concurrent_investigations)
    else:
        waited = (datetime.now(UTC) - inp.started_at).total_seconds()
        answer = no_room(running=len(slots.holders(cfg.admission_table) - {inp.execution_arn}),
                         limit=cfg.max_concurrent_investigations, action=cfg.concurrency_limit_action,
                         waited_seconds=waited, max_wait_seconds=cfg.concurrency_max_wait_seconds)
        logger.warning(answer.reason)
    return AdmitOutput(admitted=answer.admitted, running=answer.running, limit=answer.limit,
                       wait_seconds=answer.wait_seconds, reason=answer.reason).model_dump(mode="json")
