"""Coverage: keep every running instance with the coverage tag mirrored to the sensor fleet
(Lambda handler; thin). The reconcile itself is :mod:`tapcase_workflow.logic.coverage`.

Invoked by ``CoverageStateRule`` and ``CoverageTagRule`` (an instance's state changed, or its
tags did: that instance only), ``CoverageSchedule`` (everything: drift, missed events, and, with coverage off, the removal
of every coverage session and filter) and CloudFormation for ``CoverageLifecycle`` (the stack created or updated:
everything; deleted: every coverage session and filter removed; :mod:`tapcase_workflow.lifecycle`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from tapcase_workflow import lifecycle
from tapcase_workflow.dal import coverage as dal
from tapcase_workflow.errors import InvalidCoverageEvent
from tapcase_workflow.logic import coverage as logic
from tapcase_workflow.models.coverage import CoverageEvent, CoverageOutput, InstanceStateChange, TagChangeOnInstance
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


def on_stack(request_type: str, token: str) -> dict[str, str]:
    """``CoverageLifecycle``: Create/Update reconcile everything as the parameters now say; Delete
    removes every coverage session and filter (coverage off)."""
    cfg = load_settings(CoverageSettings)
    selector = logic.Selector() if request_type == "Delete" else \
        logic.Selector(cfg.coverage_tag_key, cfg.coverage_tag_value)
    result = run(selector, cfg.fleet_target_id, None, token=token)
    return {"Enabled": str(result.enabled).lower(), "Covered": str(len(result.covered)),
            "Created": str(len(result.created)), "Deleted": str(len(result.deleted))}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = lifecycle.stack_request(event, InvalidCoverageEvent)
    if request is not None:
        return lifecycle.answer(request, lambda kind: on_stack(kind, context.aws_request_id))
    cfg = load_settings(CoverageSettings)
    scope = scope_of(event)
    selector = logic.Selector(cfg.coverage_tag_key, cfg.coverage_tag_value)
    result = run(selector, cfg.fleet_target_id, scope, token=context.aws_request_id)
    logger.info("coverage reconciled", extra={"coverage": result.model_dump(mode="json")})
    return result.model_dump(mode="json")
