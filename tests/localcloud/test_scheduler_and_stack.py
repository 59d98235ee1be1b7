"""EventBridge Scheduler, CloudFormation's record of the stack, atomic DynamoDB conditional writes,
and nested executions (states:startExecution) on the local cloud."""

from __future__ import annotations

import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

from tests.conftest import wait_for_execution

ECHO = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}


@pytest.fixture(scope="module")
def cloud():
    from tapcase.localcloud import LocalCloud

    with LocalCloud(time_scale=0.01) as local:
        yield local


@pytest.fixture(scope="module")
def echo(cloud):
    return cloud.client("stepfunctions").create_state_machine(
        name="echo", definition=json.dumps(ECHO), roleArn="arn:aws:iam::123456789012:role/echo")["stateMachineArn"]


def _schedule(cloud, name, expression, target_arn, payload):
    return cloud.client("scheduler").create_schedule(
        Name=name, GroupName=cloud.stack.outputs["ScheduleGroupName"], ScheduleExpression=expression,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": target_arn, "RoleArn": cloud.stack.outputs["SchedulerRoleArn"], "Input": json.dumps(payload)})


def test_describe_stacks_finds_the_stack_by_name(cloud):
    """CloudFormation DescribeStacks answers the deployed stack's outputs and parameter values;
    an unknown name is a ValidationError "Stack with id X does not exist" (as on AWS)."""
    cfn = cloud.client("cloudformation")
    stack = cfn.describe_stacks(StackName="tapcase")["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["InvestigationStateMachineArn"] == cloud.stack.outputs["InvestigationStateMachineArn"]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["MaxCaptureSeconds"] == "3600"
    with pytest.raises(ClientError, match="Stack with id nope does not exist"):
        cfn.describe_stacks(StackName="nope")


def test_a_fired_schedule_starts_its_target_with_its_input(cloud, echo):
    """EventBridge Scheduler's templated Step Functions target: StartExecution with the target's
    Input, its <aws.scheduler.*> context attributes filled in. Simulated: the firing (on demand
    here); not simulated: wall-clock cron/at times, retries, flexible windows."""
    arn = _schedule(cloud, "once", "cron(0 3 * * ? *)", echo,
                    {"by": "<aws.scheduler.schedule-arn>", "at": "<aws.scheduler.scheduled-time>"})["ScheduleArn"]
    execution = cloud.fire_schedule("once", cloud.stack.outputs["ScheduleGroupName"])
    desc = wait_for_execution(cloud.client("stepfunctions"), execution)
    received = json.loads(desc["output"])
    assert received["by"] == arn and received["at"].endswith("Z") and len(received["at"]) == 20


def test_a_rate_schedule_fires_on_the_local_clock(cloud, echo):
    """rate(1 minute) at time scale 0.01: a firing every 0.6 s of real time."""
    sfn = cloud.client("stepfunctions")
    before = len(sfn.list_executions(stateMachineArn=echo)["executions"])
    _schedule(cloud, "often", "rate(1 minute)", echo, {"tick": True})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(sfn.list_executions(stateMachineArn=echo)["executions"]) < before + 2:
        time.sleep(0.1)
    cloud.client("scheduler").delete_schedule(Name="often", GroupName=cloud.stack.outputs["ScheduleGroupName"])
    assert len(sfn.list_executions(stateMachineArn=echo)["executions"]) >= before + 2


@pytest.mark.parametrize(("kwargs", "code", "message"), [
    ({"ScheduleExpression": "every day"}, "ValidationException", "Invalid Schedule Expression every day."),
    ({"GroupName": "nogroup"}, "ResourceNotFoundException", "Schedule group nogroup does not exist."),
    ({"Input": "not json"}, "ValidationException", "well-formed JSON"),
])
def test_the_scheduler_refuses_what_aws_refuses(cloud, echo, kwargs, code, message):
    scheduler = cloud.client("scheduler")
    target = {"Arn": echo, "RoleArn": cloud.stack.outputs["SchedulerRoleArn"], "Input": kwargs.pop("Input", "{}")}
    args = {"Name": "refused", "GroupName": cloud.stack.outputs["ScheduleGroupName"],
            "ScheduleExpression": "rate(1 day)", "FlexibleTimeWindow": {"Mode": "OFF"}, "Target": target, **kwargs}
    with pytest.raises(ClientError) as caught:
        scheduler.create_schedule(**args)
    assert caught.value.response["Error"]["Code"] == code and message in caught.value.response["Error"]["Message"]
    assert not any(s["Name"] == "refused" for s in scheduler.list_schedules()["Schedules"])


def test_concurrent_conditional_puts_one_succeeds(cloud):
    """DynamoDB applies a conditional write atomically: of many concurrent PutItem of one key with
    attribute_not_exists, exactly one succeeds; the others fail ConditionalCheckFailedException."""
    ddb = cloud.client("dynamodb")
    table = cloud.resource("LockTable")
    results: list[str] = []

    def put(i: int) -> None:
        try:
            ddb.put_item(TableName=table, Item={"instance_id": {"S": "i-race"}, "n": {"N": str(i)}},
                         ConditionExpression="attribute_not_exists(instance_id)")
            results.append("ok")
        except ClientError as exc:
            results.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=put, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1 and results.count("ConditionalCheckFailedException") == 11


def test_a_nested_execution_runs_and_answers_in_pascal_case(cloud, echo):
    """states:startExecution.sync:2 takes StateMachineArn/Input/Name and answers the child's
    DescribeExecution in PascalCase, its Output as JSON."""
    parent = {"StartAt": "Child", "States": {"Child": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": echo, "Name.$": "$.name", "Input": {"hello.$": "$.name"}},
        "ResultSelector": {"status.$": "$.Status", "output.$": "$.Output", "arn.$": "$.ExecutionArn"}, "End": True}}}
    sfn = cloud.client("stepfunctions")
    arn = sfn.create_state_machine(name="parent", definition=json.dumps(parent),
                                   roleArn="arn:aws:iam::123456789012:role/p")["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn, name="p1", input=json.dumps({"name": "child-1"}))["executionArn"]
    desc = wait_for_execution(sfn, ex)
    assert desc["status"] == "SUCCEEDED", desc
    out = json.loads(desc["output"])
    assert out["status"] == "SUCCEEDED" and out["output"] == {"hello": "child-1"} and out["arn"].endswith(":child-1")
