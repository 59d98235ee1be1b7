"""template.yaml deployed into the local cloud: what boto3 sees."""

from __future__ import annotations

import json

import pytest

from tapcase.localcloud.cfn import TemplateError, load_template
from tapcase.localcloud.deploy import resolve_parameters, substitute_definition
from tests.conftest import REPO


def test_every_template_resource_is_deployed(deployed_cloud):
    # Given the template's resources
    template = load_template(REPO / "template.yaml")
    # Then each one was created in the local cloud, but for those whose Condition is false (by default
    # there is no scheduled capture: ScheduleExpression is empty; no flow-log table: FlowLogsBucket is empty;
    # no Security Hub rule: SecurityHubEntry is false)
    conditional = {k for k, v in template["Resources"].items() if "Condition" in v}
    assert conditional == {"CaptureSchedule", "VpcFlowLogsTable", "SecurityHubRule"}
    assert set(deployed_cloud.stack.resources) == set(template["Resources"]) - conditional


def test_state_machine_has_substituted_definition(deployed_cloud):
    sfn = deployed_cloud.client("stepfunctions")
    arn = deployed_cloud.stack.outputs["InvestigationStateMachineArn"]
    definition = sfn.describe_state_machine(stateMachineArn=arn)["definition"]
    assert "${" not in definition
    plan = json.loads(definition)["States"]["Plan"]
    assert plan["Parameters"]["FunctionName"] == deployed_cloud.stack.get_att("PlanFunction", "Arn")


def test_functions_tables_buckets_and_athena_exist(deployed_cloud):
    stack = deployed_cloud.stack
    fn = deployed_cloud.client("lambda").get_function(FunctionName=stack.ref("PlanFunction"))
    assert fn["Configuration"]["Handler"] == "tapcase_workflow.handlers.plan.handler"
    env = fn["Configuration"]["Environment"]["Variables"]
    assert env["EVIDENCE_BUCKET"] == stack.ref("EvidenceBucket")
    assert env["MAX_CAPTURE_SECONDS"] == "3600"
    table = deployed_cloud.client("dynamodb").describe_table(TableName=stack.ref("LockTable"))["Table"]
    assert table["KeySchema"] == [{"AttributeName": "instance_id", "KeyType": "HASH"}]
    s3 = deployed_cloud.client("s3")
    assert s3.get_bucket_versioning(Bucket=stack.ref("EvidenceBucket"))["Status"] == "Enabled"
    wg = deployed_cloud.client("athena").get_work_group(WorkGroup=stack.ref("AthenaWorkGroup"))["WorkGroup"]
    assert wg["Configuration"]["ResultConfiguration"]["OutputLocation"] == (
        f"s3://{stack.ref('EvidenceBucket')}/athena-results/"
    )
    assert deployed_cloud.client("glue").get_database(Name=stack.ref("ForensicsDatabase"))["Database"]["Name"] == (
        "tapcase_forensics"
    )


def test_missing_substitution_is_refused():
    with pytest.raises(TemplateError, match="lack"):
        substitute_definition('{"a": "${Nope}"}', {"Other": "x"})


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"NoSuchParameter": "1"}, "unknown template parameters"),
        ({"MaxCaptureSeconds": "5"}, "below MinValue"),
        ({"MaxCaptureSeconds": "ten"}, "not a number"),
        ({"LogLevel": "LOUD"}, "not in"),
    ],
)
def test_bad_parameters_are_refused(given, message):
    template = load_template(REPO / "template.yaml")
    with pytest.raises(TemplateError, match=message):
        resolve_parameters(template, given)
