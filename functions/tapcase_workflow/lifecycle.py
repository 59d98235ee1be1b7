"""Answering CloudFormation for the stack's lifecycle resources (adapter + logic, shared by the
Coverage and Janitor handlers): recognise the request, do the work, always answer — a request left
unanswered holds the stack until the resource's ServiceTimeout. Any failure is FAILED with its
reason (on Delete: the deletion stops in DELETE_FAILED rather than leaving something running)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from tapcase_workflow.dal import cfn_response
from tapcase_workflow.errors import TapcaseError
from tapcase_workflow.logic import stack_lifecycle
from tapcase_workflow.models.events import StackLifecycle
from tapcase_workflow.observability import logger

#: The work for one request: given its RequestType, the ``Data`` to answer (strings).
Work = Callable[[str], dict[str, str]]


def stack_request(event: Any, invalid: type[TapcaseError]) -> StackLifecycle | None:
    """A CloudFormation custom resource request (None: any other event); ``invalid`` when it looks
    like one but is not (nothing can be answered then: its fields are what is wrong)."""
    if not (isinstance(event, dict) and "RequestType" in event and "ResponseURL" in event):
        return None
    try:
        return StackLifecycle.model_validate(event)
    except ValidationError as exc:
        raise invalid(f"a CloudFormation request that cannot be read: {exc.errors()[0]['msg']}") from None


def answer(request: StackLifecycle, work: Work) -> dict[str, Any]:
    req = request.root
    try:
        data = work(req.request_type)
    except Exception as exc:  # noqa: BLE001 - every failure is CloudFormation's FAILED, with its reason
        logger.exception("stack lifecycle request failed", extra={"request_type": req.request_type,
                                                                   "resource": req.logical_resource_id})
        reason = f"{type(exc).__name__}: {exc}"
        cfn_response.send(str(req.response_url), stack_lifecycle.response(req, "FAILED", reason=reason))
        return {"status": "FAILED", "reason": reason}
    cfn_response.send(str(req.response_url), stack_lifecycle.response(req, "SUCCESS", data=data))
    logger.info("stack lifecycle request answered", extra={"request_type": req.request_type,
                                                           "resource": req.logical_resource_id, "data": data})
    return {"status": "SUCCESS", "data": data}
