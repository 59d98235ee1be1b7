"""Coverage: keep every running instance with the coverage tag mirrored to the sensor fleet
(Lambda handler; thin). The reconcile itself is :mod:`tapcase_workflow.logic.coverage`.

Invoked by ``CoverageStateRule`` and ``CoverageTagRule`` (an instance's state changed, or its
tags did: that instance only), ``CoverageSchedule`` (everything: drift, missed events, and, with coverage off, the removal
of every coverage session and filter) and CloudFormation for ``CoverageLifecycle`` (the stack created or updated:
everything; deleted: every coverage session and filter removed; :mod:`tapcase_workflow.logic.coverage_lifecycle`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from tapcase_workflow.dal import cfn_response
from tapcase_workflow.dal import coverage as dal
from tapcase_workflow.errors import InvalidCoverageEvent
from tapcase_workflow.logic import coverage as logic
from tapcase_workflow.logic import coverage_lifecycle as lifecycle
from tapcase_workflow.models.coverage import (
    CoverageEvent,
    CoverageOutput,
    InstanceStateChange,
    StackLifecycle,
    TagChangeOnInstance,
)
from tapcase_workflow.observability import logger
from tapcase_workflow.settings import CoverageSettings, load_settings

EVENT_MODEL = CoverageEvent
RESULT_MODEL = CoverageOutput
SETTINGS_MODEL = CoverageSettings


def scope_of(event: Any) -> list[str] | None:
    """The instances an event is about (None: the schedule's, everything)."""
    try:
        parsed = CoverageEvent.model_validate(event).root
    except ValidationError:
        raise InvalidCoverageEvent(
            "coverage takes an EC2 Instance State-change Notification, a Tag Change on Resource of an EC2 "
            f"instance or a Scheduled Event, not {str(event)[:200]!r}") from None
    if isinstance(parsed, InstanceStateChange):
        return [parsed.detail.instance_id]
    if isinstance(parsed, TagChangeOnInstance):
        return [parsed.instance_id]
    return None


def run(selector: logic.Selector, target_id: str, scope: list[str] | None, token: str) -> CoverageOutput:
    logic.check_settings(selector, target_id)
    if selector.enabled:
        logic.check_target(target_id, dal.mirror_target(target_id))
    instances = dal.instances(selector, scope)
    want = logic.desired(instances, selector, dal.target_enis() if selector.enabled else set())
    ours = [s for s in dal.coverage_sessions() if scope is None or logic.instance_of(s) in scope]
    enis = set(want) | {str(s["NetworkInterfaceId"]) for s in ours}
    plan = logic.reconcile(want, dal.sessions_by_eni(enis), target_id=target_id,
                           scope=set(scope) if scope is not None else None)
    filters = dal.coverage_filters()
    keep = logic.filter_to_keep(filters, plan.filter_needed)
    filter_id = None
    if plan.create:
        existing = next((f for f in filters if f["TrafficMirrorFilterId"] == keep), None)
        filter_id = dal.ensure_filter(existing, token=f"coverage-{token}")
    created: dict[str, str] = {}
    skipped = list(plan.skipped)
    for new in plan.create:
        assert filter_id is not None
        session = dal.create_session(new, filter_id=filter_id, target_id=target_id)
        if session is None:
            skipped.append(f"{new.eni_id} ({new.instance_id}): gone or without a free session slot")
        else:
            created[session] = new.eni_id
    deleted = [s for s in plan.delete if dal.delete_session(s)]
    filters_deleted: list[str] = []
    if scope is None:  # the schedule tidies the filters: only it sees every coverage session
        in_use = {str(s["TrafficMirrorFilterId"]) for s in dal.coverage_sessions()}
        filters_deleted = [f for f in logic.filters_to_delete(filters, filter_id or keep, in_use) if dal.delete_filter(f)]
    return CoverageOutput(enabled=selector.enabled, scope=scope, created=created, deleted=deleted,
                          covered={e: i for e, i in plan.covered.items() if e not in {n.eni_id for n in plan.create}
                                   or e in created.values()},
                          filter_id=filter_id or keep, filters_deleted=filters_deleted, skipped=skipped)


def stack_request(event: Any) -> StackLifecycle | None:
    """A CloudFormation custom resource request (None: any other event)."""
    if not (isinstance(event, dict) and "RequestType" in event and "ResponseURL" in event):
        return None
    try:
        return StackLifecycle.model_validate(event)
    except ValidationError as exc:
        raise InvalidCoverageEvent(f"a CloudFormation request coverage cannot read: {exc.errors()[0]['msg']}") from None


def answer_stack(request: StackLifecycle, token: str) -> dict[str, Any]:
    """Reconcile for Create/Update, remove everything for Delete; always answer CloudFormation
    (a request left unanswered holds the stack until the custom resource's ServiceTimeout)."""
    req = request.root
    try:
        cfg = load_settings(CoverageSettings)
        selector = logic.Selector() if req.request_type == "Delete" else \
            logic.Selector(cfg.coverage_tag_key, cfg.coverage_tag_value)
        result = run(selector, cfg.fleet_target_id, None, token=token)
    except Exception as exc:  # noqa: BLE001 - every failure is CloudFormation's FAILED, with its reason
        logger.exception("coverage lifecycle failed", extra={"request_type": req.request_type})
        reason = f"{type(exc).__name__}: {exc}"
        cfn_response.send(str(req.response_url), lifecycle.response(req, "FAILED", reason=reason))
        return {"status": "FAILED", "reason": reason}
    data = lifecycle.summary(result)
    cfn_response.send(str(req.response_url), lifecycle.response(req, "SUCCESS", data=data))
    logger.info("coverage lifecycle", extra={"request_type": req.request_type,
                                             "coverage": result.model_dump(mode="json")})
    return {"status": "SUCCESS", **result.model_dump(mode="json")}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = stack_request(event)
    if request is not None:
        return answer_stack(request, token=context.aws_request_id)
    cfg = load_settings(CoverageSettings)
    scope = scope_of(event)
    selector = logic.Selector(cfg.coverage_tag_key, cfg.coverage_tag_value)
    result = run(selector, cfg.fleet_target_id, scope, token=context.aws_request_id)
    logger.info("coverage reconciled", extra={"coverage": result.model_dump(mode="json")})
    return result.model_dump(mode="json")
