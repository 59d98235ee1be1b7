"""WriteReport: fetch the Athena results, build the report, store it (JSON + readable pages) in
S3 and publish a summary to SNS (Lambda handler; thin)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tapcase_contract.layout import REPORT_HTML, REPORT_JSON
from tapcase_workflow.dal import athena, s3, sns
from tapcase_workflow.logic import publication
from tapcase_workflow.logic.capture_context import capture_context
from tapcase_workflow.logic.report import build_report
from tapcase_workflow.models.payloads import WriteReportInput, WriteReportOutput
from tapcase_workflow.observability import correlate, logger, metrics, record_analysis
from tapcase_workflow.querypack import finding_parameters, skipped_queries
from tapcase_workflow.settings import WriteReportSettings, load_settings

EVENT_MODEL = WriteReportInput
RESULT_MODEL = WriteReportOutput
SETTINGS_MODEL = WriteReportSettings


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cfg = load_settings(WriteReportSettings)
    inp = WriteReportInput.model_validate(event)
    plan = inp.plan
    correlate(plan.investigation_id)
    evidence = inp.evidence.model_dump()
    manifest = s3.read_json(inp.evidence.manifest_uri) if inp.evidence.manifest_uri else None

    succeeded, errors = publication.split_analysis(inp.analysis)
    results = {name: athena.query_results(execution_id) for name, execution_id in succeeded.items()}
    ctx = capture_context(
        plan,
        sensor=inp.sensor,
        sensor_ready=inp.sensor_ready,
        mirror_sessions=inp.mirror_sessions,
        mirror_filter=inp.mirror_filter,
        mirror_target=inp.mirror_target,
        evidence=evidence,
        manifest=manifest,
        execution_arn=inp.execution_arn,
    )
    suspect_ips = [ip for source in plan.sources for ip in source.private_ips]
    skipped = skipped_queries(finding_parameters(plan.request.finding, suspect_ips))
    report = build_report({"queries": results}, investigation_id=plan.investigation_id, context=ctx,
                          skipped=skipped, errors=errors)
    uris = {f.name: s3.put_text(cfg.evidence_bucket, f.key, f.body, f.content_type, plan.investigation_id)
            for f in publication.report_files(plan.evidence_prefix, report)}
    report_uri, page_uri = uris[REPORT_JSON], uris[REPORT_HTML]
    if cfg.report_topic_arn:
        note = publication.summary(investigation_id=plan.investigation_id, instance_id=plan.instance_id,
                                   reason=plan.request.reason, report=report, report_uri=report_uri, page_uri=page_uri)
        sns.publish(cfg.report_topic_arn, note.subject, note.message)
    record_analysis(plan.investigation_id, inp.evidence.packets.seen, inp.evidence.packets.dropped, len(errors))
    headline = publication.headline(report)
    logger.info("report written", extra={"report_uri": report_uri, "highlights": len(headline)})
    return WriteReportOutput(report_uri=report_uri, page_uri=page_uri, headline=headline[:10],
                             summary=report["summary"]).model_dump(mode="json")
