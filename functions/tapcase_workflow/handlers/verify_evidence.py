"""VerifyEvidence: every evidence object read back and checked against the manifest's sha256
before analysis; a changed, missing or unlisted file fails the investigation naming it (Lambda
handler; thin)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tapcase_contract.layout import CURATED_PREFIX, evidence_prefix, manifest_key
from tapcase_workflow.dal import s3
from tapcase_workflow.errors import EvidenceIncomplete
from tapcase_workflow.logic.evidence import compare, expected_objects, partition_prefixes, raw_prefix
from tapcase_workflow.models.payloads import VerifyEvidenceInput, VerifyEvidenceOutput
from tapcase_workflow.observability import correlate, logger
from tapcase_workflow.settings import VerifyEvidenceSettings, load_settings

EVENT_MODEL = VerifyEvidenceInput
RESULT_MODEL = VerifyEvidenceOutput
SETTINGS_MODEL = VerifyEvidenceSettings


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cfg = load_settings(VerifyEvidenceSettings)
    inp = VerifyEvidenceInput.model_validate(event)
    inv = inp.investigation_id
    correlate(inv)
    bucket, key = cfg.evidence_bucket, manifest_key(evidence_prefix(inv))
    manifest = s3.read_json_object(bucket, key)
    if not isinstance(manifest, dict):
        raise EvidenceIncomplete(f"s3://{bucket}/{key}: no manifest")
    expected = expected_objects(manifest, inv)
    stored = s3.object_sizes(bucket, raw_prefix(inv))
    for prefix in partition_prefixes(s3.sub_prefixes(bucket, f"{CURATED_PREFIX}/"), inv):
        stored.update(s3.object_sizes(bucket, prefix))
    hashes = {k: s3.sha256_of(bucket, k) for k in expected if stored.get(k) == expected[k].bytes}
    counts = compare(expected, stored, hashes, bucket, inv)
    digest = s3.sha256_of(bucket, key)
    logger.info("evidence verified", extra=counts)
    return VerifyEvidenceOutput(**counts, manifest_sha256=digest).model_dump(mode="json")
