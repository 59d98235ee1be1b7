"""CollectEvidence: tell the sensor (or the fleet) to hand over its evidence, with credentials that
can create this investigation's objects only (Lambda handler; thin). Invoked by the state of the
same name with ``lambda:invoke.waitForTaskToken``: the state then waits for the sensor's answer to
the task token; the credentials travel in the control message only, never in the execution's
history."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from tapcase_contract.upload_access import upload_seconds
from tapcase_workflow.dal import evidence_access
from tapcase_workflow.dal.member import acting_in
from tapcase_workflow.errors import EvidenceAccessFailed
from tapcase_workflow.logic.collect import collect_message
from tapcase_workflow.models.payloads import CollectEvidenceInput, CollectEvidenceOutput
from tapcase_workflow.observability import correlate, logger
from tapcase_workflow.settings import CollectEvidenceSettings, load_settings

EVENT_MODEL = CollectEvidenceInput
RESULT_MODEL = CollectEvidenceOutput
SETTINGS_MODEL = CollectEvidenceSettings


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cfg = load_settings(CollectEvidenceSettings)
    inp = CollectEvidenceInput.model_validate(event)
    correlate(inp.investigation_id)
    seconds = upload_seconds(inp.collect_timeout_seconds)
    try:
        credentials = evidence_access.assume_upload_role(cfg.evidence_upload_role_arn, inp.investigation_id, seconds)
    except (ClientError, BotoCoreError) as exc:
        raise EvidenceAccessFailed(f"no upload credentials for {inp.investigation_id}: {exc}") from None
    body = collect_message(inp, cfg.evidence_bucket, credentials)
    try:
        with acting_in(inp.role_arn):  # the control queue is in the suspect's account
            message_id = evidence_access.send(inp.queue_url, body)
    except (ClientError, BotoCoreError) as exc:
        raise EvidenceAccessFailed(f"could not tell the sensor at {inp.queue_url}: {exc}") from None
    logger.info("collect requested", extra={"queue_url": inp.queue_url, "credentials_seconds": seconds,
                                            "credentials_expire": credentials.expiration.isoformat()})
    return CollectEvidenceOutput(message_id=message_id, queue_url=inp.queue_url,
                                 credentials_expire=credentials.expiration).model_dump(mode="json")
