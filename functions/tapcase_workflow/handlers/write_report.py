"""WriteReport: fetch the Athena results, build the report, store it (JSON + a readable page) in
S3 and publish a summary to SNS (Lambda handler; thin)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tapcase_workflow.dal import athena, evidence
from tapcase_workflow.logic.capture_context import capture_context
from tapcase_workflow.logic.report import build_report, render_html, render_markdown
from tapcase_workflow.models.plan import InvestigationPlan
from tapcase_workflow.observability import logger
from tapcase_workflow.querypack import finding_parameters, skipped_queries
from tapcase_workflow.settings import settings


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cfg = settings()
    plan = InvestigationPlan.model_validate(event["plan"])
    logger.append_keys(investigation_id=plan.investigation_id)
    proof = event.get("evidence") or {}
    manifest = evidence.read_json(proof["manifest_uri"]) if proof.get("manifest_uri") else None

    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item in event.get("analysis") or []:
        if item.get("state") == "SUCCEEDED":
            results[item["name"]] = athena.query_results(item["query_execution_id"])
        else:
            errors[item["name"]] = f"{item.get('error', item.get('state'))}: {item.get('cause', '')}"[:2000]

    ctx = capture_context(
        plan,
        sensor=event.get("sensor") or {},
        sensor_ready=event.get("sensor_ready") or {},
        mirror_sessions=event.get("mirror_sessions") or [],
        mirror_filter=event.get("mirror_filter") or {},
        mirror_target=event.get("mirror_target") or {},
        evidence=proof,
        manifest=manifest,
        execution_arn=event.get("execution_arn", ""),
    )
    suspect_ips = [ip for source in plan.sources for ip in source.private_ips]
    skipped = skipped_queries(finding_parameters(plan.request.finding, suspect_ips))
    report = build_report({"queries": results}, investigation_id=plan.investigation_id, context=ctx,
                          skipped=skipped, errors=errors)
    import json

    base = f"{plan.evidence_prefix}/report"
    report_uri = evidence.put(cfg.evidence_bucket, f"{base}/report.json", json.dumps(report, indent=2, default=str),
                              "application/json", plan.investigation_id)
    evidence.put(cfg.evidence_bucket, f"{base}/report.md", render_markdown(report),
                 "text/markdown; charset=utf-8", plan.investigation_id)
    page_uri = evidence.put(cfg.evidence_bucket, f"{base}/report.html", render_html(report),
                            "text/html; charset=utf-8", plan.investigation_id)
    headline = [h["text"] for h in report["highlights"]]
    if cfg.report_topic_arn:
        lines = [f"tapcase investigation {plan.investigation_id} of {plan.instance_id} ({plan.request.reason})", ""]
        lines += [f"- {h}" for h in headline] or ["- nothing stood out"]
        lines += ["", f"report: {report_uri}", f"page: {page_uri}"]
        evidence.publish(cfg.report_topic_arn, f"tapcase: {plan.instance_id} investigated", "\n".join(lines))
    logger.info("report written", extra={"report_uri": report_uri, "highlights": len(headline)})
    return {"report_uri": report_uri, "page_uri": page_uri, "headline": headline[:10],
            "summary": report["summary"]}
