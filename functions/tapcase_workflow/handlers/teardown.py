"""Teardown: delete everything the investigation created, in order, tolerating 'already gone'
(Lambda handler; thin). Raises TeardownIncomplete for the state machine to retry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tapcase_workflow.dal.history import execution_events
from tapcase_workflow.dal.member import acting_in
from tapcase_workflow.dal.teardown import AwsTeardown
from tapcase_workflow.errors import TeardownIncomplete
from tapcase_workflow.logic.recorded import recorded
from tapcase_workflow.logic.teardown import teardown
from tapcase_workflow.models.payloads import TeardownInput, TeardownOutput
from tapcase_workflow.observability import correlate, logger, metrics, record_leftovers, record_outcome
from tapcase_workflow.settings import TeardownSettings, load_settings

EVENT_MODEL = TeardownInput
RESULT_MODEL = TeardownOutput
SETTINGS_MODEL = TeardownSettings
#: Seconds kept to report back before the function's own timeout.
REPORT_BACK_SECONDS = 30


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cfg = load_settings(TeardownSettings)
    inp = TeardownInput.model_validate(event)
    correlate(inp.investigation_id)
    cloud = AwsTeardown(
        lock_table=cfg.lock_table,
        lock_key=inp.lock_key or inp.instance_id,
        execution_arn=inp.execution_arn,
        run=inp.run_token,
        wait_seconds=max(0.0, context.get_remaining_time_in_millis() / 1000 - REPORT_BACK_SECONDS),
    )
    # Besides the tag: the ids this execution recorded in its history (a resource whose tag is missing).
    record = recorded(execution_events(inp.execution_arn))
    if record.rejected:
        logger.warning("recorded ids not used", extra={"rejected": record.rejected})
    try:
        with acting_in(inp.role_arn):  # the suspect's account (the lock stays the stack's)
            result = teardown(cloud, inp.investigation_id, record.ids)
    except TeardownIncomplete as exc:
        record_leftovers(inp.investigation_id, sum(exc.leftovers.values()))
        raise
    seconds = (datetime.now(UTC) - inp.started_at).total_seconds()
    record_outcome(inp.investigation_id, inp.outcome.status, seconds, sum(result["leftovers"].values()))
    logger.info("teardown done", extra={**result, "outcome": inp.outcome.status, "error": inp.outcome.error})
    return TeardownOutput.model_validate(result).model_dump(mode="json")
