"""Lambda Invoke runs the real handler in-process; errors reach state machines by class name."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.conftest import shared, wait_for_execution


@pytest.fixture(scope="module")
def instance_id(deployed_cloud):
    ec2 = deployed_cloud.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m5.large",
                             SubnetId=subnet)["Instances"][0]["InstanceId"]


def test_invoke_runs_handler(deployed_cloud, instance_id):
    lam = deployed_cloud.client("lambda")
    # the payload the state machine's Plan state sends: the execution's input and name
    payload = {"request": {"instance_id": instance_id, "duration_seconds": 120, "reason": "test"},
               "execution_name": "lambda-test-1"}
    resp = lam.invoke(FunctionName=deployed_cloud.stack.ref("PlanFunction"), Payload=json.dumps(payload))
    assert "FunctionError" not in resp
    out = json.loads(resp["Payload"].read())
    # computed by the Plan function from the request and what EC2 reports, not echoed
    assert out["request"]["instance_id"] == instance_id
    assert out["request"]["trigger"] == "manual"
    assert out["instance_type"] == "m5.large"
    assert out["sources"][0]["session_number"] == 1
    assert out["sensor"]["availability_zone"] == "us-east-1a"


def test_invoke_unhandled_error_is_a_function_error(deployed_cloud):
    lam = deployed_cloud.client("lambda")
    bogus = {"request": {"instance_id": "bogus"}, "execution_name": "lambda-test-2"}
    resp = lam.invoke(FunctionName=deployed_cloud.stack.ref("PlanFunction"), Payload=json.dumps(bogus))
    assert resp["FunctionError"] == "Unhandled"
    payload = json.loads(resp["Payload"].read())
    assert payload["errorType"] == "InvalidRequest"
    assert "instance_id" in payload["errorMessage"]
    # an input that is not the Plan state's payload is refused by the handler's input model
    resp = lam.invoke(FunctionName=deployed_cloud.stack.ref("PlanFunction"), Payload=b'{"instance_id": "bogus"}')
    payload = json.loads(resp["Payload"].read())
    assert payload["errorType"] == "InvalidRequest"
    assert payload["errorMessage"].startswith('Plan takes {"request": <what started the execution>')


def test_invoke_unknown_function_is_refused(deployed_cloud):
    with pytest.raises(ClientError) as err:
        deployed_cloud.client("lambda").invoke(FunctionName="no-such-function", Payload=b"{}")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def _run(cloud, name, payload):
    sfn = cloud.client("stepfunctions")
    arn = cloud.stack.outputs["InvestigationStateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))["executionArn"]
    return wait_for_execution(sfn, ex)


def test_state_machine_lambda_refusal_by_name(deployed_cloud):
    # The finding's instance does not exist here: Plan refuses by name, nothing is created.
    finding = json.loads(shared("guardduty", "hasanakgoz_security_monkey",
                                "recon_ec2_portprobeunprotectedport_eventbridge.json").read_text())
    desc = _run(deployed_cloud, "lambda-refusal", finding)
    assert desc["status"] == "FAILED"
    assert desc["error"] == "InstanceNotFound"
    assert "i-036cb01d26bb09166" in desc["cause"]


def test_state_machine_catches_lambda_error_by_name(deployed_cloud):
    # A refusal raised in Python is caught by its class name and ends in the Fail state with it.
    desc = _run(deployed_cloud, "lambda-failure", {"instance_id": "i-0123456789abcdef0", "duration_seconds": 86400})
    assert desc["status"] == "FAILED"
    assert desc["error"] == "InvalidRequest"
    assert "duration_seconds" in desc["cause"]


def test_state_machine_catch_routes_to_next_state(deployed_cloud):
    # A non-EC2 finding is caught by name and routed to a Pass state: the run ends cleanly.
    finding = json.loads(shared("guardduty", "aws-samples_amazon-guardduty-automated-response-sample",
                                "guardduty_s3_event.json").read_text())
    desc = _run(deployed_cloud, "lambda-catch", finding)
    assert desc["status"] == "SUCCEEDED"
    out = json.loads(desc["output"])
    assert out["status"] == "skipped"
    assert "not an EC2 instance" in out["reason"]


def test_custom_state_machine_catch_by_exception_name(deployed_cloud):
    # Given a state machine that catches only InvalidRequest by name
    sfn = deployed_cloud.client("stepfunctions")
    role = deployed_cloud.client("iam").create_role(RoleName="catch-test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    definition = {
        "StartAt": "Invoke",
        "States": {
            "Invoke": {
                "Type": "Task",
                "Resource": deployed_cloud.stack.get_att("PlanFunction", "Arn"),
                "Catch": [{"ErrorEquals": ["InvalidRequest"], "ResultPath": "$.err", "Next": "Handled"}],
                "End": True,
            },
            "Handled": {"Type": "Pass", "Parameters": {"handled.$": "$.err.Error"}, "End": True},
        },
    }
    arn = sfn.create_state_machine(name="catch-test", definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn, name="c1", input='{"instance_id": 5}')["executionArn"]
    desc = wait_for_execution(sfn, ex)
    assert desc["status"] == "SUCCEEDED"
    assert json.loads(desc["output"]) == {"handled": "InvalidRequest"}
