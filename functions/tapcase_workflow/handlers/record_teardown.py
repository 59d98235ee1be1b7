"""RecordTeardown: once Teardown is done, add its record (what was deleted, what was left) to the
report written before it, and render the pages again (Lambda handler; thin). Runs only when the
investigation reached its report; a failure here never fails the execution (the state machine
catches it)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tapcase_contract.layout import REPORT_HTML, REPORT_JSON, REPORT_MARKDOWN
from tapcase_workflow.dal import s3
from tapcase_workflow.logic import publication
from tapcase_workflow.models.payloads import RecordTeardownInput, RecordTeardownOutput
from tapcase_workflow.observability import correlate, logger
from tapcase_workflow.settings import RecordTeardownSettings

EVENT_MODEL = RecordTeardownInput
RESULT_MODEL = RecordTeardownOutput
SETTINGS_MODEL = RecordTeardownSettings
#: The files that show the teardown record (the indicator files do not change).
REWRITTEN = (REPORT_JSON, REPORT_MARKDOWN, REPORT_HTML)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    inp = RecordTeardownInput.model_validate(event)
    correlate(inp.investigation_id)
    report = s3.read_json(inp.report_uri)
    report["teardown"] = inp.teardown.model_dump()
    bucket, key = s3.split_uri(inp.report_uri)
    prefix = key.rsplit("/report/", 1)[0]
    written = [s3.put_text(bucket, f.key, f.body, f.content_type, inp.investigation_id)
               for f in publication.report_files(prefix, report) if f.name in REWRITTEN]
    logger.info("teardown recorded in the report", extra={"files": written})
    return RecordTeardownOutput(report_uri=inp.report_uri, files=len(written)).model_dump(mode="json")
