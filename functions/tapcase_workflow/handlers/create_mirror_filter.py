"""CreateMirrorFilter: the investigation's traffic mirror filter with its rules (Lambda handler)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tapcase_workflow.dal import ec2
from tapcase_workflow.dal.member import acting_in
from tapcase_workflow.logic.mirror_filter import rule_requests
from tapcase_workflow.models.payloads import CreateMirrorFilterInput, CreateMirrorFilterOutput
from tapcase_workflow.observability import correlate, logger
from tapcase_workflow.settings import CreateMirrorFilterSettings

EVENT_MODEL = CreateMirrorFilterInput
RESULT_MODEL = CreateMirrorFilterOutput
SETTINGS_MODEL = CreateMirrorFilterSettings


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    inp = CreateMirrorFilterInput.model_validate(event)
    plan = inp.plan
    correlate(plan.investigation_id)
    with acting_in(plan.account.role_arn if plan.account else None):  # the suspect's account
        filter_id = ec2.create_mirror_filter(
            description=f"tapcase {plan.investigation_id}", tags=plan.tags,
            token=f"{plan.investigation_id}-{plan.run_token}-filter",
        )
        created = ec2.create_mirror_filter_rules(
            rule_requests(filter_id, plan.filter_rules, inp.sensor_ip, f"tapcase {plan.investigation_id}")
        )
        services = ec2.add_filter_network_services(filter_id, plan.network_services)
    logger.info("mirror filter created", extra={"filter_id": filter_id, "rules": len(created), "services": services})
    return CreateMirrorFilterOutput(filter_id=filter_id, rules=created, network_services=services).model_dump(mode="json")
