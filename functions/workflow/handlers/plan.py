"""Plan: check and normalise the request (Lambda handler; thin)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from workflow.logic.request import normalise
from workflow.observability import logger
from workflow.settings import settings


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cfg = settings()
    request = normalise(
        event.get("request", event),
        execution_name=event.get("execution_name"),
        default_duration_seconds=cfg.default_capture_seconds,
        max_duration_seconds=cfg.max_capture_seconds,
    )
    logger.append_keys(investigation_id=request.investigation_id)
    logger.info("request accepted", extra={"trigger": request.trigger, "instance_id": request.instance_id})
    return {"request": request.model_dump(mode="json")}
