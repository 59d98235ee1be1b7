"""Plan: check the request, resolve the instance and its ENIs, and decide everything later
states need. Refuses with a typed error, creating nothing (Lambda handler; thin)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tapcase_workflow.dal import ec2, evidence
from tapcase_workflow.errors import AlreadyInvestigated
from tapcase_workflow.logic.queries import pack_queries
from tapcase_workflow.logic.plan import StackSettings, make_plan
from tapcase_workflow.logic.request import normalise
from tapcase_workflow.observability import logger
from tapcase_workflow.settings import settings


def _private_ips(instance: dict[str, Any] | None) -> list[str]:
    return [
        p["PrivateIpAddress"]
        for n in (instance or {}).get("NetworkInterfaces", [])
        for p in n.get("PrivateIpAddresses", [])
        if p.get("PrivateIpAddress")
    ]


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
    if request.trigger == "guardduty" and evidence.complete_manifest_exists(
        cfg.evidence_bucket, f"investigations/{request.investigation_id}/raw/manifest.json"
    ):
        raise AlreadyInvestigated(
            f"finding {request.finding.id if request.finding else ''} was investigated already: "
            f"s3://{cfg.evidence_bucket}/investigations/{request.investigation_id}/"
        )
    instance = ec2.describe_instance(request.instance_id)
    eni_ids = [n["NetworkInterfaceId"] for n in (instance or {}).get("NetworkInterfaces", [])]
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
        ),
        now_epoch=int(time.time()),
        run_name=event.get("execution_name") or "",
        queries=pack_queries(request, cfg.glue_database, _private_ips(instance)),
    )
    for warning in plan.warnings:
        logger.warning(warning)
    logger.info("plan made", extra={"sources": [s.eni_id for s in plan.sources], "vni": plan.vni})
    return plan.model_dump(mode="json")
