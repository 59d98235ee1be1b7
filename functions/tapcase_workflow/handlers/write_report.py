"""WriteReport: fetch the Athena results, build the report, store it (JSON, Markdown, the HTML
page, the indicator list as CSV and STIX) in S3, publish the verdict to SNS with a pre-signed
link to the page, and note the finding in Security Hub where the account allows it (Lambda
handler; thin)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tapcase_contract.layout import INDICATORS_CSV, INDICATORS_STIX, REPORT_HTML, REPORT_JSON
from tapcase_workflow.dal import athena, s3, securityhub, sns
from tapcase_workflow.logic import publication
from tapcase_workflow.logic.capture_context import capture_context
from tapcase_workflow.logic.queries import pack_parameters
from tapcase_workflow.logic.report import build_report
from tapcase_workflow.models.payloads import Notification, WriteReportInput, WriteReportOutput
from tapcase_workflow.observability import correlate, logger, metrics, record_analysis
from tapcase_workflow.querypack import skipped_queries
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
    locations = {name: athena.result_location(execution_id) for name, execution_id in succeeded.items()}
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
    skipped = skipped_queries(pack_parameters(plan.request, suspect_ips, [s.eni_id for s in plan.sources],
                                              plan.flow_logs, plan.coverage))
    report = build_report({"queries": results}, investigation_id=plan.investigation_id, context=ctx,
                          skipped=skipped, errors=errors, sql={q.name: q.sql for q in plan.queries},
                          result_uris={k: v for k, v in locations.items() if v}, suspect_ips=suspect_ips,
                          region=plan.sensor_config.region)
    uris = {f.name: s3.put_text(cfg.evidence_bucket, f.key, f.body, f.content_type, plan.investigation_id)
            for f in publication.report_files(plan.evidence_prefix, report)}
    report_uri, page_uri = uris[REPORT_JSON], uris[REPORT_HTML]
    page_link = s3.presign(page_uri, cfg.report_link_seconds)
    expires = (datetime.now(UTC) + timedelta(seconds=cfg.report_link_seconds)).isoformat(timespec="seconds")
    message_id = None
    if cfg.report_topic_arn:
        note = publication.summary(investigation_id=plan.investigation_id, instance_id=plan.instance_id,
                                   reason=plan.request.reason, report=report, report_uri=report_uri, page_uri=page_uri,
                                   page_link=page_link, link_expires=expires)
        message_id = sns.publish(cfg.report_topic_arn, note.subject, note.message)
    finding = plan.request.finding
    if cfg.finding_note == "off":
        noted = "skipped: FINDING_NOTE is off"
    elif finding is None or not finding.arn:
        noted = "skipped: no GuardDuty finding ARN (not started by a finding)"
    else:
        noted = securityhub.note_finding(finding.arn, publication.finding_note(report, page_uri, page_link))
    record_analysis(plan.investigation_id, inp.evidence.packets.seen, inp.evidence.packets.dropped, len(errors))
    verdict = report["verdict"]
    for warning in verdict["warnings"]:
        logger.warning(warning)
    logger.info("report written", extra={"report_uri": report_uri, "outcome": verdict["outcome"],
                                         "highlights": report["summary"]["highlights"], "finding_note": noted})
    return WriteReportOutput(
        report_uri=report_uri, page_uri=page_uri, indicators_uri=uris[INDICATORS_CSV], stix_uri=uris[INDICATORS_STIX],
        outcome=verdict["outcome"], verdict=verdict, warnings=publication.warnings(plan.warnings, report),
        headline=publication.headline(report)[:10], summary=report["summary"],
        notification=Notification(published=message_id is not None, message_id=message_id,
                                  page_link_expires=expires, finding_note=noted),
    ).model_dump(mode="json")
