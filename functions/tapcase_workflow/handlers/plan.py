"""Plan: check the request, resolve the instance(s) and ENIs, and decide everything later states
need; or, for a dry run, say what would be done; or, for a request that selects several
instances, hand each to a child execution. Refuses with a typed error, creating nothing (Lambda
handler; thin)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from tapcase_contract.layout import evidence_prefix, manifest_key
from tapcase_workflow.dal import ec2, s3
from tapcase_workflow.dal.member import acting_in
from tapcase_workflow.errors import (
    AlreadyInvestigated,
    FleetNotConfigured,
    InvalidRequest,
    InvestigationIdTaken,
    TapcaseError,
)
from tapcase_workflow.logic.accounts import AccountPolicy, access_for, lock_key, parse_member_accounts
from tapcase_workflow.logic.plan import (
    StackSettings,
    dry_run_view,
    fleet_target,
    instance_private_ips,
    make_plan,
    target_kind,
)
from tapcase_workflow.logic.queries import coverage_window, flow_log_window, pack_queries
from tapcase_workflow.logic.request import EntryPolicy, FindingBatch, parse_entry
from tapcase_workflow.logic.selection import (
    Selected,
    child_execution_name,
    describe_selector,
    select_by_enis,
    select_by_tags,
)
from tapcase_workflow.models.payloads import PlanInput
from tapcase_workflow.models.plan import ChildExecution, DryRunPlan, FanOutPlan, InvestigationPlan, Refusal
from tapcase_workflow.models.request import InvestigationRequest, SelectionRequest
from tapcase_workflow.observability import correlate, logger
from tapcase_workflow.settings import PlanSettings, load_settings

EVENT_MODEL = PlanInput
RESULT_MODEL = InvestigationPlan
SETTINGS_MODEL = PlanSettings


def parse_event(event: Any) -> PlanInput:
    try:
        return PlanInput.model_validate(event)
    except ValidationError as exc:
        raise InvalidRequest(
            'Plan takes {"request": <what started the execution>, "execution_name": ...} as the state machine '
            f"sends it: {exc.errors(include_url=False)}"
        ) from None


def account_of(context: LambdaContext) -> str | None:
    """The stack's account: the one the function runs in (its ARN's fifth field)."""
    parts = str(getattr(context, "invoked_function_arn", "") or "").split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None


def _select(selection: SelectionRequest) -> tuple[list[Selected], list[str]]:
    if selection.tags:
        return select_by_tags(selection, ec2.instances_with_tags(selection.tags))
    return select_by_enis(selection, ec2.network_interfaces(selection.eni_ids or [])), []


def _check_evidence_is_new(cfg: PlanSettings, request: InvestigationRequest, hand_chosen: bool) -> None:
    prefix = evidence_prefix(request.investigation_id)
    if request.trigger != "guardduty" and not hand_chosen:
        return  # an id from the execution's name is new with the execution
    if not s3.complete_manifest_exists(cfg.evidence_bucket, manifest_key(prefix)):
        return
    where = f"s3://{cfg.evidence_bucket}/{prefix}/"
    if request.trigger == "guardduty":
        finding = request.finding.id if request.finding else ""
        raise AlreadyInvestigated(f"finding {finding} was investigated already: {where}")
    raise InvestigationIdTaken(
        f"investigation_id: {request.investigation_id} has evidence already ({where}); choose another id"
    )


def _accounts(cfg: PlanSettings, context: LambdaContext) -> AccountPolicy:
    parts = str(getattr(context, "invoked_function_arn", "") or "").split(":")
    partition = parts[1] if len(parts) > 4 and parts[1] else "aws"
    return AccountPolicy(own=account_of(context), partition=partition, members=parse_member_accounts(cfg.member_accounts),
                         member_role_name=cfg.member_role_name, region=cfg.aws_region)


def _plan(cfg: PlanSettings, request: InvestigationRequest, run_name: str, accounts: AccountPolicy) -> InvestigationPlan:
    """The plan, every EC2 lookup made in the suspect's account (a member's: with its member role)."""
    access = access_for(request.account_id, accounts)
    if access is not None and access.member:
        # The sensor fleet's target is the administrator account's: a member's instance is mirrored
        # to a sensor of its own, in its account.
        if request.target == "fleet":
            raise FleetNotConfigured(f"target: fleet: the sensor fleet is in account {accounts.own}; an instance of "
                                     f"member account {access.account_id} is mirrored to its own sensor there")
        request = request.model_copy(update={"target": "sensor"})
    with acting_in(access.role_arn if access is not None else None):
        plan = _plan_here(cfg, request, run_name)
    plan.account = access
    plan.lock_key = lock_key(access.account_id if access is not None else None, plan.instance_id)
    return plan


def _plan_here(cfg: PlanSettings, request: InvestigationRequest, run_name: str) -> InvestigationPlan:
    fleet = fleet_vnis = None
    if target_kind(request.target, cfg.fleet_target_id) == "fleet":
        tmt = cfg.fleet_target_id
        fleet = fleet_target(tmt, ec2.mirror_target(tmt), cfg.fleet_control_queue_url)
        fleet_vnis = ec2.vnis_on_target(tmt)
    instance = ec2.describe_instance(request.instance_id)
    eni_ids = [n["NetworkInterfaceId"] for n in (instance or {}).get("NetworkInterfaces", [])]
    now = int(time.time())
    plan = make_plan(
        request,
        instance,
        ec2.mirror_sessions_by_eni(eni_ids) if eni_ids else {},
        ec2.mirror_target_enis() if eni_ids else set(),
        stack=StackSettings(
            bucket=cfg.evidence_bucket,
            region=cfg.aws_region,
            sensor_ready_timeout_seconds=cfg.sensor_ready_timeout_seconds,
            collect_timeout_seconds=cfg.collect_timeout_seconds,
            packet_length=cfg.mirror_packet_length,
            evidence_pcap_max_mb=cfg.evidence_pcap_max_mb,
            admission_max_wait_seconds=cfg.concurrency_max_wait_seconds,
            answer_role_arn=cfg.answer_role_arn or None,
        ),
        now_epoch=now,
        run_name=run_name,
        fleet=fleet,
        fleet_vnis=fleet_vnis,
    )
    # The pack, once the mirrored ENIs are known (the flow-log query reads theirs).
    plan.flow_logs = flow_log_window(request, now, enabled=bool(cfg.flow_logs_bucket))
    plan.coverage = coverage_window(request, now, covered=bool(plan.covered_enis))
    plan.queries = pack_queries(request, cfg.glue_database, instance_private_ips(instance), cfg.aws_region,
                                suspect_enis=[s.eni_id for s in plan.sources], flow_logs=plan.flow_logs,
                                coverage=plan.coverage)
    return plan


def _dry_run(cfg: PlanSettings, requests: list[InvestigationRequest], run_name: str, warnings: list[str],
             accounts: AccountPolicy) -> DryRunPlan:
    """Each request planned as it would be, nothing created; a refusal is reported, not raised."""
    plans, refusals = [], []
    for request in requests:
        try:
            _check_evidence_is_new(cfg, request, hand_chosen=False)
            plans.append(dry_run_view(_plan(cfg, request, run_name, accounts)))
        except TapcaseError as exc:
            refusals.append(Refusal(instance_id=request.instance_id, error=type(exc).__name__, reason=str(exc)))
    return DryRunPlan(plans=plans, refusals=refusals, warnings=warnings)


def _finding_fan_out(batch: FindingBatch, name: str, max_concurrency: int) -> FanOutPlan:
    """Several Security Hub findings: one child execution per finding (named after its
    investigation, so two findings about one instance stay apart; their lock decides)."""
    fan_out = FanOutPlan(
        selector="Security Hub findings " + ", ".join(r.finding.id for r, _ in batch.children if r.finding),
        requests=[ChildExecution(name=child_execution_name(name or "run", request.investigation_id),
                                 instance_id=request.instance_id, input=event)
                  for request, event in batch.children],
        max_concurrency=max_concurrency,
        warnings=batch.warnings,
    )
    logger.info("fan out", extra={"selector": fan_out.selector, "instances": [r.instance_id for r, _ in batch.children]})
    return fan_out


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cfg = load_settings(PlanSettings)
    inp = parse_event(event)
    accounts = _accounts(cfg, context)
    policy = EntryPolicy(cfg.default_capture_seconds, cfg.max_capture_seconds, accounts.own,
                         cfg.ignore_sample_findings, accounts.members)
    name = inp.execution_name or ""
    entry = parse_entry(inp.request, execution_name=inp.execution_name, policy=policy)
    warnings: list[str] = []
    if isinstance(entry, FindingBatch):
        if len(entry.children) > 1:
            return _finding_fan_out(entry, name, cfg.max_concurrent_sensors).model_dump(mode="json")
        warnings = list(entry.warnings)
        entry = entry.children[0][0]
    if isinstance(entry, SelectionRequest):
        selection = access_for(entry.account_id, accounts)
        with acting_in(selection.role_arn if selection is not None else None):
            selected, warnings = _select(entry)
        children = [entry.for_instance(s.instance_id, s.eni_ids, inp.execution_arn) for s in selected]
        if len(children) > 1 and not entry.dry_run:
            fan_out = FanOutPlan(
                selector=describe_selector(entry),
                requests=[ChildExecution(name=child_execution_name(name or "run", s.instance_id),
                                         instance_id=s.instance_id, input=child)
                          for s, child in zip(selected, children, strict=True)],
                max_concurrency=cfg.max_concurrent_sensors,
                warnings=warnings,
            )
            logger.info("fan out", extra={"selector": fan_out.selector, "instances": [s.instance_id for s in selected]})
            return fan_out.model_dump(mode="json")
        requests = [parse_entry(child, execution_name=child_execution_name(name or "run", s.instance_id)
                                if len(children) > 1 else inp.execution_name, policy=policy)
                    for s, child in zip(selected, children, strict=True)]
    else:
        requests = [entry]
    singles = [r for r in requests if isinstance(r, InvestigationRequest)]
    if singles and singles[0].dry_run:
        return _dry_run(cfg, singles, name, warnings, accounts).model_dump(mode="json")
    request = singles[0]
    correlate(request.investigation_id)
    hand_chosen = isinstance(inp.request, dict) and bool(inp.request.get("investigation_id"))
    _check_evidence_is_new(cfg, request, hand_chosen)
    plan = _plan(cfg, request, name, accounts)
    plan.warnings[:0] = warnings
    for warning in plan.warnings:
        logger.warning(warning)
    logger.info("plan made", extra={"account": plan.account.account_id if plan.account else None,
                                    "sources": [s.eni_id for s in plan.sources], "vni": plan.vni,
                                    "target": plan.target.model_dump(exclude_none=True)})
    return plan.model_dump(mode="json")
