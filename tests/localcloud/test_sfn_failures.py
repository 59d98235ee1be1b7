"""The local cloud's Step Functions fails the way AWS fails, where teardown depends on it.

Each test names the AWS behaviour it reproduces (Step Functions API reference / developer guide,
or execution histories recorded from AWS) and the moto 5.2.5 behaviour it replaces.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tapcase.localcloud.cloud import LocalCloud
from tapcase.localcloud.sfn import requests
from tapcase.localcloud.sfn.aws_sdk import service_model
from tapcase.localcloud.sfn.callbacks import TASK_GONE_MESSAGE
from tests.localcloud.sfn_support import (
    SEND_WITH_TOKEN,
    create_machine,
    event_details,
    history,
    output,
    pass_state,
    run,
    start,
    wait_done,
)


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=None, time_scale=0) as local_cloud:
        yield local_cloud


def callback_task(**fields: Any) -> dict[str, Any]:
    """A Task that sends its token to ``$.queue`` and waits for it (WaitForSensor, CollectEvidence)."""
    return {
        "Type": "Task",
        "Resource": SEND_WITH_TOKEN,
        "Parameters": {"QueueUrl.$": "$.queue", "MessageBody": {"token.$": "$$.Task.Token"}},
        **fields,
    }


CATCH_ALL = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recovered"}]


def token_from(cloud: LocalCloud, queue_url: str) -> str:
    sqs = cloud.client("sqs")
    give_up = time.monotonic() + 10
    while time.monotonic() < give_up:
        for message in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", []):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            return str(json.loads(message["Body"])["token"])
    raise AssertionError("the state machine sent no task token")


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]


# -- 1. StopExecution while a task token is pending ------------------------------------------------


def _waiting_machine(sfn: Any, in_parallel: bool) -> str:
    if in_parallel:  # as WaitForSensor inside the Investigate branch, whose Catch leads to Teardown
        branch = {"StartAt": "WaitForSensor", "States": {"WaitForSensor": callback_task(End=True)}}
        states: dict[str, Any] = {
            "Investigate": {"Type": "Parallel", "Branches": [branch], "Catch": CATCH_ALL, "Next": "Recovered"}
        }
    else:
        states = {"WaitForSensor": callback_task(Catch=CATCH_ALL, Next="Recovered")}
    states["Recovered"] = pass_state(End=True)
    return create_machine(sfn, {"StartAt": next(iter(states)), "States": states})


@pytest.mark.parametrize("in_parallel", [False, True], ids=["task", "task-in-parallel-branch"])
def test_stop_execution_while_a_task_token_is_pending_aborts_at_once_and_runs_no_catch(
    cloud: LocalCloud, sfn: Any, queue_url: str, in_parallel: bool
) -> None:
    """StopExecution (API reference): the execution is ABORTED at once, with the error and cause
    given, the history ends with ExecutionAborted, and no Catch runs -- moto kept it RUNNING until
    the token was answered."""
    execution_arn = start(sfn, _waiting_machine(sfn, in_parallel), f"stop-{uuid.uuid4().hex[:8]}", {"queue": queue_url})
    token = token_from(cloud, queue_url)

    stopped = sfn.stop_execution(executionArn=execution_arn, error="Operator.Stop", cause="suspect isolated")
    described = sfn.describe_execution(executionArn=execution_arn)
    assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "Operator.Stop", "suspect isolated")
    assert described["stopDate"] == stopped["stopDate"]
    events = history(sfn, execution_arn)
    assert events[-1]["type"] == "ExecutionAborted"
    assert event_details(events[-1]) == {"error": "Operator.Stop", "cause": "suspect isolated"}

    # The interpreter unwinding the stopped task changes nothing, and the token is closed.
    time.sleep(0.3)
    assert sfn.describe_execution(executionArn=execution_arn)["status"] == "ABORTED"
    assert history(sfn, execution_arn) == events
    assert not any(event_details(e).get("name") == "Recovered" for e in events)
    with pytest.raises(ClientError) as excinfo:
        sfn.send_task_success(taskToken=token, output="{}")
    assert error_code(excinfo) == ("TaskTimedOut", TASK_GONE_MESSAGE)


def test_stop_execution_without_error_and_cause_leaves_them_out(sfn: Any, time_scale: Callable[[float], None]) -> None:
    """An execution aborted without error or cause: DescribeExecution has neither key and
    ExecutionAborted's details are empty; a Wait (the Capture window) is cut short too."""
    time_scale(1.0)
    machine_arn = create_machine(sfn, {"StartAt": "Capture", "States": {"Capture": {"Type": "Wait", "Seconds": 3600, "End": True}}})
    execution_arn = start(sfn, machine_arn, f"stop-{uuid.uuid4().hex[:8]}")
    time.sleep(0.1)
    sfn.stop_execution(executionArn=execution_arn)
    described = sfn.describe_execution(executionArn=execution_arn)
    assert described["status"] == "ABORTED"
    assert "error" not in described and "cause" not in described
    events = history(sfn, execution_arn)
    assert events[-1]["type"] == "ExecutionAborted" and event_details(events[-1]) == {}


def test_stop_execution_of_an_unknown_execution_is_refused(sfn: Any) -> None:
    arn = "arn:aws:states:us-east-1:123456789012:execution:nope:nope"
    with pytest.raises(ClientError) as excinfo:
        sfn.stop_execution(executionArn=arn)
    assert excinfo.value.response["Error"]["Code"] == "ExecutionDoesNotExist"


# -- 2. A null value in an SDK task's parameters ---------------------------------------------------


def _sdk_task(resource: str, parameters: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "Call",
        "States": {
            "Call": {"Type": "Task", "Resource": resource, "Parameters": parameters, "Catch": CATCH_ALL, "End": True, **fields},
            "Recovered": pass_state(End=True),
        },
    }


def test_null_parameter_is_unset_and_the_services_validation_error_is_caught(cloud: LocalCloud, sfn: Any) -> None:
    """Recorded from AWS (aws-sdk:dynamodb:putItem, "Item": null): the member is left unset and
    DynamoDB answers "1 validation error detected: Value null at 'item' failed to satisfy
    constraint: Member must not be null", DynamoDb.DynamoDbException, which Retry and Catch handle
    -- moto ended in an uncatchable States.Runtime."""
    table = f"t-{uuid.uuid4().hex[:8]}"
    cloud.client("dynamodb").create_table(
        TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )
    retry = [{"ErrorEquals": ["DynamoDb.DynamoDbException"], "MaxAttempts": 2, "IntervalSeconds": 1}]
    definition = _sdk_task(
        "arn:aws:states:::aws-sdk:dynamodb:putItem", {"TableName": table, "Item.$": "$.item"}, Retry=retry
    )
    described = run(sfn, definition, {"item": None})
    error = output(described)["error"]
    assert error["Error"] == "DynamoDb.DynamoDbException"
    assert error["Cause"].startswith(
        "1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null "
        "(Service: DynamoDb, Status Code: 400, Request ID: "
    )
    events = history(sfn, described["executionArn"])
    assert [e["type"] for e in events].count("TaskFailed") == 3  # the first try and two retries
    scheduled = event_details(next(e for e in events if e["type"] == "TaskScheduled"))
    assert json.loads(scheduled["parameters"]) == {"TableName": table, "Item": None}


@pytest.mark.parametrize(
    ("resource", "parameters", "error", "cause"),
    [
        (
            "arn:aws:states:::aws-sdk:ec2:createSecurityGroup",
            {"GroupName.$": "$.none", "Description": "d"},
            "Ec2.Ec2Exception",
            "The request must contain the parameter GroupName (Service: Ec2, Status Code: 400",
        ),
        (
            "arn:aws:states:::aws-sdk:sqs:createQueue",
            {"QueueName.$": "$.none"},
            "Sqs.SqsException",
            "The request must contain the parameter QueueName. (Service: Sqs, Status Code: 400",
        ),
    ],
    ids=["ec2-missing-parameter", "sqs-missing-parameter"],
)
def test_null_required_parameter_is_the_services_missing_parameter_error(
    sfn: Any, resource: str, parameters: dict[str, Any], error: str, cause: str
) -> None:
    """EC2 and SQS refuse a request without a required parameter: MissingParameter (common
    errors of the query APIs), caught by the Task's Catch."""
    caught = output(run(sfn, _sdk_task(resource, parameters), {"none": None}))["error"]
    assert caught["Error"] == error
    assert caught["Cause"].startswith(cause)


def test_null_optional_parameter_is_left_out_of_the_request(cloud: LocalCloud, sfn: Any) -> None:
    """A null optional member is simply not sent: EC2 CreateSecurityGroup without VpcId creates the
    group in the default VPC, as on AWS (moto sent the text "None")."""
    name = f"sg-{uuid.uuid4().hex[:8]}"
    definition = _sdk_task(
        "arn:aws:states:::aws-sdk:ec2:createSecurityGroup", {"GroupName": name, "Description": "d", "VpcId.$": "$.vpc"}
    )
    group_id = output(run(sfn, definition, {"vpc": None}))["GroupId"]
    ec2 = cloud.client("ec2")
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    assert group["VpcId"] == default_vpc


def test_optimised_dynamodb_put_item_with_null_item_is_catchable(sfn: Any) -> None:
    """The Lock state's integration (dynamodb:putItem): a null Item is the service's error, caught."""
    definition = _sdk_task("arn:aws:states:::dynamodb:putItem", {"TableName": "locks", "Item.$": "$.none"})
    caught = output(run(sfn, definition, {"none": None}))["error"]
    assert caught["Error"].startswith("DynamoDB.") and "Value null at 'item'" in caught["Cause"]


def test_refusal_formats_follow_each_protocol() -> None:
    put_item = service_model("dynamodb").operation_model("PutItem")
    assert requests.refusal(put_item, {}) == (
        "ValidationException",
        "2 validation errors detected: Value null at 'tableName' failed to satisfy constraint: Member must not be "
        "null; Value null at 'item' failed to satisfy constraint: Member must not be null",
    )
    assert requests.refusal(put_item, {"TableName": "t", "Item": {}}) is None
    run_instances = service_model("ec2").operation_model("RunInstances")
    assert requests.refusal(run_instances, {"MinCount": 1, "MaxCount": 1}) is None  # ImageId is optional
    assert requests.without_nulls(
        {"TagSpecifications": [{"ResourceType": "instance", "Tags": None}], "ImageId": None, "MinCount": 1},
        run_instances.input_shape,
    ) == {"TagSpecifications": [{"ResourceType": "instance"}], "MinCount": 1}
    send_message = service_model("sqs").operation_model("SendMessage")
    body = {"action": "collect", "sensor": None}  # a JSON message body keeps its nulls
    assert requests.without_nulls({"QueueUrl": "q", "MessageBody": body, "DelaySeconds": None}, send_message.input_shape) == {
        "QueueUrl": "q",
        "MessageBody": body,
    }


# -- 3. SendTaskSuccess with output that is not JSON ------------------------------------------------


def test_send_task_success_with_output_that_is_not_json_is_refused(cloud: LocalCloud, sfn: Any, queue_url: str) -> None:
    """SendTaskSuccess (API reference): InvalidOutput, "The provided JSON output data is not
    valid"; the task keeps waiting and a valid answer still completes it -- moto accepted the call
    and the execution then failed on the text."""
    machine_arn = create_machine(sfn, {"StartAt": "Collect", "States": {"Collect": callback_task(End=True)}})
    execution_arn = start(sfn, machine_arn, f"out-{uuid.uuid4().hex[:8]}", {"queue": queue_url})
    token = token_from(cloud, queue_url)
    with pytest.raises(ClientError) as excinfo:
        sfn.send_task_success(taskToken=token, output="manifest uploaded")
    code, message = error_code(excinfo)
    assert code == "InvalidOutput" and message.startswith("The provided JSON output data is not valid")
    assert sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=token, output='{"manifest": "s3://b/k"}')
    assert output(wait_done(sfn, execution_arn)) == {"manifest": "s3://b/k"}


# -- 4. Tokens of finished tasks ---------------------------------------------------------------------


def _answer(sfn: Any, how: str, token: str) -> None:
    if how == "success":
        sfn.send_task_success(taskToken=token, output="{}")
    elif how == "failure":
        sfn.send_task_failure(taskToken=token, error="Sensor.Failed", cause="late")
    else:
        sfn.send_task_heartbeat(taskToken=token)


@pytest.mark.parametrize("how", ["success", "failure", "heartbeat"])
def test_token_of_an_answered_task_is_task_timed_out(cloud: LocalCloud, sfn: Any, queue_url: str, how: str) -> None:
    """A second answer to a token: TaskTimedOut, "Provided task does not exist anymore" (recorded
    from AWS for duplicate callbacks) -- moto answered OK."""
    machine_arn = create_machine(sfn, {"StartAt": "Collect", "States": {"Collect": callback_task(End=True)}})
    execution_arn = start(sfn, machine_arn, f"dup-{uuid.uuid4().hex[:8]}", {"queue": queue_url})
    token = token_from(cloud, queue_url)
    sfn.send_task_success(taskToken=token, output='{"first": true}')
    with pytest.raises(ClientError) as excinfo:
        _answer(sfn, how, token)
    assert error_code(excinfo) == ("TaskTimedOut", TASK_GONE_MESSAGE)
    assert output(wait_done(sfn, execution_arn)) == {"first": True}


@pytest.mark.parametrize("how", ["success", "failure", "heartbeat"])
def test_token_of_a_timed_out_task_is_task_timed_out(
    cloud: LocalCloud, sfn: Any, queue_url: str, time_scale: Callable[[float], None], how: str
) -> None:
    """A token whose task timed out (its execution caught the States.Timeout and went on):
    TaskTimedOut (SendTaskSuccess API reference: "the task associated with the token has already
    been closed") -- moto answered OK."""
    time_scale(0.01)
    definition = {
        "StartAt": "Collect",
        "States": {"Collect": callback_task(TimeoutSeconds=100, Catch=CATCH_ALL, End=True), "Recovered": pass_state(End=True)},
    }
    execution_arn = start(sfn, create_machine(sfn, definition), f"late-{uuid.uuid4().hex[:8]}", {"queue": queue_url})
    token = token_from(cloud, queue_url)
    assert output(wait_done(sfn, execution_arn))["error"]["Error"] == "States.Timeout"
    with pytest.raises(ClientError) as excinfo:
        _answer(sfn, how, token)
    assert error_code(excinfo) == ("TaskTimedOut", TASK_GONE_MESSAGE)


def test_token_of_an_ended_execution_and_an_unknown_token(cloud: LocalCloud, sfn: Any, queue_url: str) -> None:
    """A token of an execution that ended (stopped here): TaskTimedOut for every answer -- moto
    answered InvalidToken to SendTaskSuccess and OK to SendTaskFailure. A token never issued:
    InvalidToken."""
    machine_arn = create_machine(sfn, {"StartAt": "Collect", "States": {"Collect": callback_task(End=True)}})
    execution_arn = start(sfn, machine_arn, f"ended-{uuid.uuid4().hex[:8]}", {"queue": queue_url})
    token = token_from(cloud, queue_url)
    sfn.stop_execution(executionArn=execution_arn)
    for how in ("success", "failure", "heartbeat"):
        with pytest.raises(ClientError) as excinfo:
            _answer(sfn, how, token)
        assert error_code(excinfo) == ("TaskTimedOut", TASK_GONE_MESSAGE), how
    with pytest.raises(ClientError) as excinfo:
        sfn.send_task_success(taskToken="not-a-token-" + uuid.uuid4().hex, output="{}")
    assert excinfo.value.response["Error"]["Code"] == "InvalidToken"


# -- 5. Heartbeat timeouts --------------------------------------------------------------------------


def _heartbeat_machine(sfn: Any, catch: list[str], timeout: int, heartbeat: int | None) -> str:
    fields: dict[str, Any] = {"TimeoutSeconds": timeout, "Catch": [{"ErrorEquals": catch, "ResultPath": "$.error", "Next": "Recovered"}], "End": True}
    if heartbeat is not None:
        fields["HeartbeatSeconds"] = heartbeat
    return create_machine(sfn, {"StartAt": "Collect", "States": {"Collect": callback_task(**fields), "Recovered": pass_state(End=True)}})


@pytest.mark.parametrize("catch", [["States.HeartbeatTimeout"], ["States.Timeout"]])
def test_heartbeat_timeout_is_caught_by_states_heartbeat_timeout_and_reported_as_states_timeout(
    sfn: Any, queue_url: str, time_scale: Callable[[float], None], catch: list[str]
) -> None:
    """Developer guide (error names): States.HeartbeatTimeout, "a Task state failed to send a
    heartbeat for a period longer than the HeartbeatSeconds value", is available in Catch and
    Retry; States.Timeout covers it too. AWS records the error itself as States.Timeout (TaskTimedOut
    event, recorded execution history) -- moto matched no Catch on States.HeartbeatTimeout."""
    time_scale(0.01)
    machine_arn = _heartbeat_machine(sfn, catch, timeout=100000, heartbeat=100)
    described = wait_done(sfn, start(sfn, machine_arn, f"hb-{uuid.uuid4().hex[:8]}", {"queue": queue_url}))
    assert output(described)["error"] == {"Error": "States.Timeout", "Cause": ""}
    timed_out = [e for e in history(sfn, described["executionArn"]) if e["type"] == "TaskTimedOut"]
    assert event_details(timed_out[0])["error"] == "States.Timeout"


def test_task_timeout_is_not_a_heartbeat_timeout(sfn: Any, queue_url: str, time_scale: Callable[[float], None]) -> None:
    """TimeoutSeconds running out is States.Timeout only: a Catch on States.HeartbeatTimeout does
    not match it."""
    time_scale(0.01)
    described = wait_done(
        sfn, start(sfn, _heartbeat_machine(sfn, ["States.HeartbeatTimeout"], timeout=100, heartbeat=None), f"to-{uuid.uuid4().hex[:8]}", {"queue": queue_url})
    )
    assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")


def test_heartbeats_keep_a_task_alive(cloud: LocalCloud, sfn: Any, queue_url: str, time_scale: Callable[[float], None]) -> None:
    """SendTaskHeartbeat resets the HeartbeatSeconds clock (API reference): a sensor that keeps
    beating is not timed out before it answers."""
    time_scale(0.01)  # HeartbeatSeconds 100 -> 1 s of real time
    execution_arn = start(sfn, _heartbeat_machine(sfn, ["States.ALL"], timeout=100000, heartbeat=100), f"beat-{uuid.uuid4().hex[:8]}", {"queue": queue_url})
    token = token_from(cloud, queue_url)
    for _ in range(5):
        time.sleep(0.4)
        sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_success(taskToken=token, output='{"alive": true}')
    assert output(wait_done(sfn, execution_arn)) == {"alive": True}
