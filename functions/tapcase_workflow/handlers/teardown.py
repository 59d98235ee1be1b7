"""Teardown: delete everything the investigation created, in order, tolerating 'already gone'
(Lambda handler; thin). Raises TeardownIncomplete for the state machine to retry."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tapcase_workflow.dal.teardown import AwsTeardown
from tapcase_workflow.logic.teardown import teardown
from tapcase_workflow.observability import logger
from tapcase_workflow.settings import settings


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    investigation_id = event["investigation_id"]
    logger.append_keys(investigation_id=investigation_id)
    # leave time to report back before the function's own timeout
    wait = max(0.0, context.get_remaining_time_in_millis() / 1000 - 30)
    cloud = AwsTeardown(
        lock_table=settings().lock_table,
        instance_id=event["instance_id"],
        control_queue_name=event["control_queue_name"],
        execution_arn=event["execution_arn"],
        wait_seconds=wait,
    )
    result = teardown(cloud, investigation_id)
    logger.info("teardown done", extra=result)
    return result
