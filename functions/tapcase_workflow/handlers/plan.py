"""Plan: check the request, resolve the instance and its ENIs, and decide everything later
states need. Refuses with a typed error, creating nothing (Lambda handler; thin)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from tapcase_contract.layout import evidence_prefix, manifest_key
from tapcase_workflow.dal import ec2, s3
from tapcase_workflow.errors import AlreadyInvestigated, InvalidRequest
from tapcase_workflow.logic.plan import StackSettings, instance_private_ips, make_plan
from tapcase_workflow.logic.queries import pack_queries
from tapcase_workflow.logic.request import normalise
from tapcase_workflow.models.payloads import PlanInput
from tapcase_workflow.models.plan import InvestigationPlan
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


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cfg = load_settings(PlanSettings)
    inp = parse_event(event)
    request = normalise(
        inp.request,
        execution_name=inp.execution_name,
        default_duration_seconds=cfg.default_capture_seconds,
        max_duration_seconds=cfg.max_capture_seconds,
    )
    correlate(request.investigation_id)
    prefix = evidence_prefix(request.investigation_id)
    if request.trigger == "guardduty" and s3.complete_manifest_exists(cfg.evidence_bucket, manifest_key(prefix)):
        raise AlreadyInvestigated(
            f"finding {request.finding.id if request.finding else ''} was investigated already: "
            f"s3://{cfg.evidence_bucket}/{prefix}/"
        )
    instance = ec2.describe_instance(request.instance_id)
    eni_ids = [n["NetworkInterfaceId"] for n in (instance or {}).get("NetworkInterfaces", [])]
    plan: InvestigationPlan = make_plan(
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
        ),
        now_epoch=int(time.time()),
        run_name=inp.execution_name or "",
        queries=pack_queries(request, cfg.glue_database, instance_private_ips(instance)),
    )
    for warning in plan.warnings:
        logger.warning(warning)
    logger.info("plan made", extra={"sources": [s.eni_id for s in plan.sources], "vni": plan.vni})
    return plan.model_dump(mode="json")
