"""tapcase.localcloud.sfn: moto's ASL interpreter behaves like AWS Step Functions.

Every fix is exercised through real state machines on a LocalCloud, so that a moto upgrade that
changes what a fix relies on fails here. Timings use the process-wide time scale.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.validate import ParamValidationDecorator

from tapcase.localcloud import sfn as sfn_patch
from tapcase.localcloud import timescale
from tapcase.localcloud.cloud import ACCOUNT_ID, LocalCloud
from tapcase.localcloud.sfn import clients as sfn_clients
from tests.localcloud.sfn_support import (
    DESCRIBE_INSTANCES,
    DESCRIBE_VPCS,
    ISO_INSTANT,
    ROLE,
    SEND_WITH_TOKEN,
    UNKNOWN_INSTANCE,
    create_machine,
    event_details,
    history,
    output,
    pass_state,
    run,
    start,
    timed_run,
    wait_done,
)

# -- fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=None, time_scale=0) as local_cloud:
        yield local_cloud


# -- 1. JSONPath ----------------------------------------------------------------------------------


FINDING = {
    "batches": [
        {
            "Instances": [
                {"InstanceId": "i-1", "State": "running", "Tags": [{"Key": "k", "Value": "v"}]},
                {"InstanceId": "i-2", "State": "stopped"},
            ]
        }
    ]
}


def test_definite_paths_give_values_and_indefinite_paths_give_lists(sfn: Any) -> None:
    definition = {
        "StartAt": "Select",
        "States": {
            "Select": pass_state(
                InputPath="$.batches[0]",
                Parameters={
                    "first.$": "$.Instances[0].InstanceId",
                    "last.$": "$.Instances[-1].InstanceId",
                    "tag.$": "$.Instances[0].Tags[0].Value",
                    "object.$": "$.Instances[1]",
                    "formatted.$": "States.Format('id={}', $.Instances[0].InstanceId)",
                    "all.$": "$.Instances[*].InstanceId",
                    "deep.$": "$..InstanceId",
                    "slice.$": "$.Instances[0:1]",
                    "filtered.$": "$.Instances[?(@.State == 'stopped')].InstanceId",
                    "none.$": "$.Missing[*]",
                    "states.$": "$.Instances[*].State",
                },
                Next="Branch",
            ),
            "Branch": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "B", "States": {"B": pass_state(Result={"x": "from-branch"}, End=True)}}],
                "ResultSelector": {"selected.$": "$[0].x"},
                "ResultPath": "$.branch",
                "Next": "Choose",
            },
            "Choose": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.states[0]", "StringEquals": "running", "Next": "Shape"}],
                "Default": "WrongBranch",
            },
            "WrongBranch": {"Type": "Fail", "Error": "WrongBranch"},
            "Shape": pass_state(
                Parameters={"wrapped.$": "States.Array($)"}, OutputPath="$.wrapped[0]", End=True
            ),
        },
    }
    result = output(run(sfn, definition, FINDING))
    assert result["first"] == "i-1"
    assert result["last"] == "i-2"
    assert result["tag"] == "v"
    assert result["object"] == {"InstanceId": "i-2", "State": "stopped"}
    assert result["formatted"] == "id=i-1"
    assert result["all"] == ["i-1", "i-2"]
    assert sorted(result["deep"]) == ["i-1", "i-2"]
    assert result["slice"] == [FINDING["batches"][0]["Instances"][0]]
    assert result["filtered"] == ["i-2"]
    assert result["none"] == []
    assert result["branch"] == {"selected": "from-branch"}


def test_indefinite_path_with_one_match_is_still_a_list(sfn: Any) -> None:
    definition = {
        "StartAt": "P",
        "States": {"P": pass_state(Parameters={"ids.$": "$.Instances[*].InstanceId"}, End=True)},
    }
    assert output(run(sfn, definition, {"Instances": [{"InstanceId": "i-1"}]})) == {"ids": ["i-1"]}


def test_missing_definite_path_is_a_runtime_error(sfn: Any) -> None:
    definition = {"StartAt": "P", "States": {"P": pass_state(Parameters={"x.$": "$.a[3].b"}, End=True)}}
    described = run(sfn, definition, {"a": [{"b": 1}]})
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert "$.a[3].b" in described["cause"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.a[0].b", 1),
        ("$.a[1]", {"b": 2}),
        ("$['a'][0]['b']", 1),
        ("$.a[*].b", [1, 2]),
        ("$.a[0,1].b", [1, 2]),
        ("$.a[:1]", [{"b": 1}]),
        ("$.nothing[*]", []),
        ("$..nothing", []),
        ("$.a", [{"b": 1}, {"b": 2}]),
        ("$", {"a": [{"b": 1}, {"b": 2}]}),
    ],
)
def test_extract_json_follows_jayway(cloud: LocalCloud, path: str, expected: Any) -> None:
    from moto.stepfunctions.parser.asl.utils import json_path

    assert json_path.extract_json(path, {"a": [{"b": 1}, {"b": 2}]}) == expected


def test_every_moto_module_uses_the_patched_functions(cloud: LocalCloud) -> None:
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.") and module is not None:
            if hasattr(module, "extract_json"):
                assert module.extract_json is sfn_patch.extract_json, name
            if hasattr(module, "boto_client_for"):
                assert module.boto_client_for is sfn_patch.boto_client_for, name


# -- 2. Execution names ---------------------------------------------------------------------------


def test_start_execution_without_name_uses_a_uuid(sfn: Any) -> None:
    machine_arn = create_machine(
        sfn, {"StartAt": "P", "States": {"P": pass_state(Parameters={"name.$": "$$.Execution.Name"}, End=True)}}
    )
    arns = [sfn.start_execution(stateMachineArn=machine_arn, input="{}")["executionArn"] for _ in range(2)]
    assert arns[0] != arns[1]
    for execution_arn in arns:
        described = wait_done(sfn, execution_arn)
        assert str(uuid.UUID(described["name"])) == described["name"]
        assert execution_arn.endswith(f":{described['name']}")
        assert output(described) == {"name": described["name"]}


def test_named_execution_keeps_its_name_and_is_idempotent(sfn: Any) -> None:
    machine_arn = create_machine(sfn, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}})
    first = start(sfn, machine_arn, "finding-123")
    assert first.endswith(":execution:" + machine_arn.rsplit(":", 1)[1] + ":finding-123")
    wait_done(sfn, first)
    with pytest.raises(ClientError) as excinfo:
        start(sfn, machine_arn, "finding-123", {"other": "input"})
    assert excinfo.value.response["Error"]["Code"] == "ExecutionAlreadyExists"


# -- 3. aws-sdk results are JSON ------------------------------------------------------------------


def _launch_instance(cloud: LocalCloud) -> str:
    ec2 = cloud.client("ec2")
    image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]


def test_unfiltered_aws_sdk_result_is_json_with_iso_timestamps(cloud: LocalCloud, sfn: Any) -> None:
    instance_id = _launch_instance(cloud)
    definition = {
        "StartAt": "Describe",
        "States": {
            "Describe": {
                "Type": "Task",
                "Resource": DESCRIBE_INSTANCES,
                "Parameters": {"InstanceIds.$": "States.Array($.id)"},
                "Next": "Launched",
            },
            "Launched": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": "$.Reservations[0].Instances[0].LaunchTime",
                        "TimestampGreaterThan": "2000-01-01T00:00:00Z",
                        "Next": "Done",
                    }
                ],
                "Default": "NotATimestamp",
            },
            "NotATimestamp": {"Type": "Fail", "Error": "NotATimestamp"},
            "Done": {"Type": "Succeed"},
        },
    }
    described = run(sfn, definition, {"id": instance_id})
    instance = output(described)["Reservations"][0]["Instances"][0]
    assert instance["InstanceId"] == instance_id
    assert ISO_INSTANT.match(instance["LaunchTime"]), instance["LaunchTime"]
    assert json.loads(described["output"]) == output(described)

    events = history(sfn, described["executionArn"])
    succeeded = [e for e in events if e["type"] == "TaskSucceeded"]
    assert len(succeeded) == 1
    task_output = json.loads(event_details(succeeded[0])["output"])
    assert task_output["Reservations"][0]["Instances"][0]["LaunchTime"] == instance["LaunchTime"]
    for event in events:
        for key in ("input", "output"):
            if key in event_details(event):
                json.loads(event_details(event)[key])
    assert events[-1]["type"] == "ExecutionSucceeded"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime.datetime(2024, 5, 8, 15, 16, 43, tzinfo=datetime.UTC), "2024-05-08T15:16:43Z"),
        (datetime.datetime(2024, 5, 8, 15, 16, 43, 120000, tzinfo=datetime.UTC), "2024-05-08T15:16:43.120Z"),
        (datetime.datetime(2024, 5, 8, 15, 16, 43, 123456, tzinfo=datetime.UTC), "2024-05-08T15:16:43.123456Z"),
        (
            datetime.datetime(2024, 5, 8, 17, 16, 43, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
            "2024-05-08T15:16:43Z",
        ),
        (b"\x00\x01", "AAE="),
    ],
)
def test_aws_sdk_json_values(cloud: LocalCloud, value: Any, text: str) -> None:
    assert sfn_patch.aws_sdk_json({"v": [value]}) == {"v": [text]}


def test_string_output_is_json_encoded(sfn: Any) -> None:
    described = run(sfn, {"StartAt": "P", "States": {"P": pass_state(Result="plain text", End=True)}})
    assert described["output"] == '"plain text"'


# -- 4. SendTaskFailure ---------------------------------------------------------------------------


def _callback_machine(sfn: Any, catch: bool) -> str:
    task: dict[str, Any] = {
        "Type": "Task",
        "Resource": SEND_WITH_TOKEN,
        "Parameters": {"QueueUrl.$": "$.queue", "MessageBody": {"token.$": "$$.Task.Token"}},
        "End": True,
    }
    if catch:
        task["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recovered"}]
        task.pop("End")
        task["Next"] = "Recovered"
    states = {"Capture": task, "Recovered": pass_state(End=True)} if catch else {"Capture": task}
    return create_machine(sfn, {"StartAt": "Capture", "States": states})


def _task_token(cloud: LocalCloud, queue_url: str) -> str:
    sqs = cloud.client("sqs")
    give_up = time.monotonic() + 60  # generous: a loaded machine may take a while to run the first state
    while time.monotonic() < give_up:
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            return str(json.loads(messages[0]["Body"])["token"])
    raise AssertionError("the state machine sent no task token")


def test_send_task_failure_keeps_error_and_cause(cloud: LocalCloud, sfn: Any, queue_url: str) -> None:
    uncaught = start(sfn, _callback_machine(sfn, catch=False), "sensor-fails", {"queue": queue_url})
    sfn.send_task_failure(taskToken=_task_token(cloud, queue_url), error="Sensor.DiskFull", cause="no space left")
    described = wait_done(sfn, uncaught)
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED",
        "Sensor.DiskFull",
        "no space left",
    )
    failed = [e for e in history(sfn, uncaught) if e["type"] == "TaskFailed"]
    assert event_details(failed[0])["cause"] == "no space left"

    caught = start(sfn, _callback_machine(sfn, catch=True), "sensor-fails-caught", {"queue": queue_url})
    sfn.send_task_failure(taskToken=_task_token(cloud, queue_url), error="Sensor.DiskFull", cause="no space left")
    assert output(wait_done(sfn, caught))["error"] == {"Error": "Sensor.DiskFull", "Cause": "no space left"}


# -- 5. Service clients ---------------------------------------------------------------------------


def test_interpreter_reuses_one_client_per_service(cloud: LocalCloud, sfn: Any) -> None:
    sfn_clients._clients.clear()
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": DESCRIBE_VPCS, "ResultPath": "$.a", "Next": "B"},
            "B": {"Type": "Task", "Resource": DESCRIBE_VPCS, "ResultPath": "$.b", "Next": "C"},
            "C": {"Type": "Task", "Resource": DESCRIBE_VPCS, "ResultPath": "$.c", "End": True},
        },
    }
    assert output(run(sfn, definition))["c"]["Vpcs"]
    ec2_clients = {key: client for key, client in sfn_clients._clients.items() if key[1] == "ec2"}
    # (region, service, endpoint, role, key id): no Credentials field, so the execution role's session
    [key] = ec2_clients
    assert key[:4] == (cloud.region, "ec2", f"http://127.0.0.1:{cloud.port}", ROLE)
    output(run(sfn, definition))
    assert sfn_clients._clients[key] is ec2_clients[key]


def test_client_endpoint_follows_moto_port(cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch) -> None:
    current = sfn_patch.boto_client_for(cloud.region, "sqs")
    assert current.meta.endpoint_url == f"http://127.0.0.1:{cloud.port}"
    monkeypatch.setenv("MOTO_PORT", "1")
    moved = sfn_patch.boto_client_for(cloud.region, "sqs")
    assert moved.meta.endpoint_url == "http://127.0.0.1:1"
    assert not isinstance(moved._serializer, ParamValidationDecorator)  # as moto: no validation
    monkeypatch.setenv("MOTO_PORT", str(cloud.port))
    assert sfn_patch.boto_client_for(cloud.region, "sqs").meta.endpoint_url == f"http://127.0.0.1:{cloud.port}"
    assert all(key[2] == f"http://127.0.0.1:{cloud.port}" for key in sfn_clients._clients)


# -- 6. Time scale --------------------------------------------------------------------------------


def test_wait_600_seconds_is_scaled(sfn: Any, time_scale: Callable[[float], None]) -> None:
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}
    time_scale(0)
    described, elapsed = timed_run(sfn, definition)
    assert described["status"] == "SUCCEEDED"
    assert elapsed < 1.5
    time_scale(0.005)
    described, elapsed = timed_run(sfn, definition)
    assert described["status"] == "SUCCEEDED"
    assert 2.5 <= elapsed < 15


def test_wait_seconds_path_and_timestamp_path_are_scaled(sfn: Any, time_scale: Callable[[float], None]) -> None:
    time_scale(0.005)
    in_100_s = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=2))) + datetime.timedelta(seconds=100)
    definition = {
        "StartAt": "Relative",
        "States": {
            "Relative": {"Type": "Wait", "SecondsPath": "$.seconds", "Next": "Absolute"},
            "Absolute": {"Type": "Wait", "TimestampPath": "$.until", "Next": "Past"},
            "Past": {"Type": "Wait", "Timestamp": "2001-01-01T00:00:00Z", "End": True},
        },
    }
    described, elapsed = timed_run(
        sfn, definition, {"seconds": 100, "until": in_100_s.isoformat(timespec="seconds")}
    )
    assert described["status"] == "SUCCEEDED"
    assert 0.8 <= elapsed < 5  # 100 s + ~100 s at 0.005, the past timestamp not at all


def test_retry_intervals_are_scaled_with_backoff_and_max_delay(
    sfn: Any, time_scale: Callable[[float], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = {
        "StartAt": "Describe",
        "States": {
            "Describe": {
                "Type": "Task",
                "Resource": DESCRIBE_INSTANCES,
                "Parameters": {"InstanceIds": [UNKNOWN_INSTANCE]},
                # Delays 100 s, then min(100 * 10, 150) = 150 s: 1.25 s at scale 0.005.
                "Retry": [
                    {
                        "ErrorEquals": ["Ec2.Ec2Exception"],
                        "IntervalSeconds": 100,
                        "BackoffRate": 10,
                        "MaxDelaySeconds": 150,
                        "MaxAttempts": 2,
                    }
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "GaveUp"}],
                "End": True,
            },
            "GaveUp": pass_state(End=True),
        },
    }
    from tapcase.localcloud import timescale

    asked: list[float] = []
    real_sleep = timescale.sleep

    def recording_sleep(seconds: float, **kwargs: Any) -> None:
        asked.append(seconds)
        real_sleep(seconds, **kwargs)

    monkeypatch.setattr(timescale, "sleep", recording_sleep)
    time_scale(0.005)
    described, elapsed = timed_run(sfn, definition)
    assert output(described)["error"]["Error"] == "Ec2.Ec2Exception"
    # the delays asked of the clock (without MaxDelaySeconds the second would be 1,000 s), and the
    # real time they took at least (a busy machine only adds to it)
    assert asked == [100, 150]
    assert elapsed >= 1.25
    attempts = [e for e in history(sfn, described["executionArn"]) if e["type"] == "TaskFailed"]
    assert len(attempts) == 3

    time_scale(0)
    described, elapsed = timed_run(sfn, definition)
    assert output(described)["error"]["Error"] == "Ec2.Ec2Exception"
    assert elapsed < 1.5


def _timeout_machine(
    sfn: Any, timeout: int, heartbeat: int | None = None, machine_timeout: int | None = None
) -> str:
    task: dict[str, Any] = {
        "Type": "Task",
        "Resource": SEND_WITH_TOKEN,
        "Parameters": {"QueueUrl.$": "$.queue", "MessageBody": {"token.$": "$$.Task.Token"}},
        "TimeoutSeconds": timeout,
        "End": True,
    }
    if heartbeat is not None:
        task["HeartbeatSeconds"] = heartbeat
    definition: dict[str, Any] = {"StartAt": "Capture", "States": {"Capture": task}}
    if machine_timeout is not None:
        definition["TimeoutSeconds"] = machine_timeout
    return create_machine(sfn, definition)


def _timed_out_after(sfn: Any, machine_arn: str, queue_url: str) -> tuple[dict[str, Any], float]:
    began = time.monotonic()
    described = wait_done(sfn, start(sfn, machine_arn, f"t-{uuid.uuid4().hex[:8]}", {"queue": queue_url}))
    return described, time.monotonic() - began


def test_task_timeout_is_scaled(sfn: Any, queue_url: str, time_scale: Callable[[float], None]) -> None:
    time_scale(0.01)
    described, elapsed = _timed_out_after(sfn, _timeout_machine(sfn, timeout=150), queue_url)
    assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")
    assert 1.35 <= elapsed < 6  # 1.5 s: neither the floor (1 s) nor 150 s
    scheduled = [e for e in history(sfn, described["executionArn"]) if e["type"] == "TaskScheduled"]
    assert event_details(scheduled[0])["timeoutInSeconds"] == 150  # the declared value


def test_timeout_at_scale_zero_waits_the_floor(sfn: Any, queue_url: str, time_scale: Callable[[float], None]) -> None:
    time_scale(0)
    described, elapsed = _timed_out_after(sfn, _timeout_machine(sfn, timeout=30), queue_url)
    assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")
    assert timescale.TIMEOUT_FLOOR_SECONDS * 0.9 <= elapsed < 5


def test_heartbeat_is_scaled(sfn: Any, queue_url: str, time_scale: Callable[[float], None]) -> None:
    time_scale(0.01)
    described, elapsed = _timed_out_after(sfn, _timeout_machine(sfn, timeout=100000, heartbeat=150), queue_url)
    assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")
    assert 1.3 <= elapsed < 6


def test_state_machine_timeout_is_scaled(sfn: Any, time_scale: Callable[[float], None]) -> None:
    time_scale(0.01)
    definition = {
        "TimeoutSeconds": 120,
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 100000, "End": True}},
    }
    described, elapsed = timed_run(sfn, definition)
    assert described["status"] == "TIMED_OUT"
    assert 1.0 <= elapsed < 6


def test_sync_tasks_poll_quickly(cloud: LocalCloud) -> None:
    # moto's states:startExecution.sync cannot run (its parameters are not converted to boto
    # casing), so the polling interval that every .sync resolver sleeps is checked where it lives.
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback,
    )

    assert state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK == sfn_patch.SYNC_POLL_SECONDS


def test_timescale_rules() -> None:
    saved = timescale.get_scale()
    try:
        timescale.set_scale(0)
        assert timescale.scaled(600) == 0
        assert timescale.scaled_timeout(900) == timescale.TIMEOUT_FLOOR_SECONDS
        timescale.set_scale(0.01)
        assert timescale.scaled_timeout(900) == pytest.approx(9)
        assert timescale.scaled_timeout(50) == timescale.TIMEOUT_FLOOR_SECONDS
        timescale.set_scale(1)
        assert timescale.scaled_timeout(0.5) == 0.5
    finally:
        timescale.set_scale(saved)


# -- 7. MockConfigFile ----------------------------------------------------------------------------


def _lambda_task(**fields: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "not-deployed", "Payload.$": "$"},
        **fields,
    }


MOCK_MACHINE = "MockedAnalysis"
MOCK_DEFINITION = {
    "StartAt": "Analyze",
    "States": {
        "Analyze": _lambda_task(
            Retry=[
                {"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 1}
            ],
            Catch=[{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Recovered"}],
            ResultSelector={"verdict.$": "$.Payload.verdict"},
            ResultPath="$.analysis",
            Next="Network",
        ),
        "Network": {"Type": "Task", "Resource": DESCRIBE_VPCS, "ResultSelector": {"vpcs.$": "$.Vpcs"}, "ResultPath": "$.network", "End": True},
        "Recovered": pass_state(End=True),
    },
}


def _mock_config(verdict: str) -> dict[str, Any]:
    flaky = {"Error": "Lambda.ServiceException", "Cause": "service hiccup"}
    return {
        "StateMachines": {
            MOCK_MACHINE: {
                "TestCases": {
                    "Retries": {"Analyze": "FlakyThenOk", "Network": "NoVpcs"},
                    "Broken": {"Analyze": "Broken"},
                    "Exhausted": {"Analyze": "AlwaysFlaky"},
                    "Hybrid": {"Analyze": "Ok"},
                }
            }
        },
        "MockedResponses": {
            "FlakyThenOk": {
                "0": {"Throw": flaky},
                "1": {"Throw": flaky},
                "2": {"Return": {"StatusCode": 200, "Payload": {"verdict": verdict}}},
            },
            "Ok": {"0": {"Return": {"StatusCode": 200, "Payload": {"verdict": verdict}}}},
            "NoVpcs": {"0": {"Return": {"Vpcs": []}}},
            "Broken": {"0": {"Throw": {"Error": "Analysis.BadPcap", "Cause": "truncated pcap"}}},
            "AlwaysFlaky": {"0-1": {"Throw": flaky}},
        },
    }


@pytest.fixture
def mock_machine(sfn: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    config = tmp_path / "MockConfigFile.json"
    config.write_text(json.dumps(_mock_config("benign")))
    monkeypatch.setenv(sfn_patch.MOCK_CONFIG_ENV, str(config))
    try:
        return sfn.describe_state_machine(
            stateMachineArn=f"arn:aws:states:us-east-1:{ACCOUNT_ID}:stateMachine:{MOCK_MACHINE}"
        )["stateMachineArn"], config
    except ClientError:
        return create_machine(sfn, MOCK_DEFINITION, name=MOCK_MACHINE), config


def test_mocked_retries_then_success(sfn: Any, mock_machine: tuple[str, Path]) -> None:
    machine_arn, _ = mock_machine
    execution_arn = start(sfn, f"{machine_arn}#Retries", "mocked-retries")
    assert execution_arn == f"arn:aws:states:us-east-1:{ACCOUNT_ID}:execution:{MOCK_MACHINE}:mocked-retries"
    result = output(wait_done(sfn, execution_arn))
    assert result == {"analysis": {"verdict": "benign"}, "network": {"vpcs": []}}
    events = history(sfn, execution_arn)
    failures = [event_details(e) for e in events if e["type"] == "TaskFailed"]
    assert [(f["error"], f["cause"]) for f in failures] == [("Lambda.ServiceException", "service hiccup")] * 2
    analyze_starts = [
        e for e in events if e["type"] == "TaskScheduled" and event_details(e)["resourceType"] == "lambda"
    ]
    assert len(analyze_starts) == 3


def test_mocked_failure_is_caught(sfn: Any, mock_machine: tuple[str, Path]) -> None:
    machine_arn, _ = mock_machine
    result = output(wait_done(sfn, start(sfn, f"{machine_arn}#Broken", "mocked-broken")))
    assert result["error"] == {"Error": "Analysis.BadPcap", "Cause": "truncated pcap"}


def test_missing_mocked_attempt_fails_the_execution(sfn: Any, mock_machine: tuple[str, Path]) -> None:
    machine_arn, _ = mock_machine
    described = wait_done(sfn, start(sfn, f"{machine_arn}#Exhausted", "mocked-exhausted"))
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"


def test_unlisted_state_calls_the_real_service(cloud: LocalCloud, sfn: Any, mock_machine: tuple[str, Path]) -> None:
    machine_arn, _ = mock_machine
    result = output(wait_done(sfn, start(sfn, f"{machine_arn}#Hybrid", "mocked-hybrid")))
    real_vpcs = cloud.client("ec2").describe_vpcs()["Vpcs"]
    assert real_vpcs and [v["VpcId"] for v in result["network"]["vpcs"]] == [v["VpcId"] for v in real_vpcs]


def test_mock_config_is_read_at_each_start(sfn: Any, mock_machine: tuple[str, Path]) -> None:
    machine_arn, config = mock_machine
    config.write_text(json.dumps(_mock_config("malicious")))
    result = output(wait_done(sfn, start(sfn, f"{machine_arn}#Hybrid", "mocked-reread")))
    assert result["analysis"] == {"verdict": "malicious"}


def test_unknown_test_case_is_refused(sfn: Any, mock_machine: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    machine_arn, _ = mock_machine
    with pytest.raises(ClientError) as excinfo:
        start(sfn, f"{machine_arn}#NoSuchCase", "mocked-unknown")
    assert excinfo.value.response["Error"]["Code"] == "InvalidName"
    assert "NoSuchCase" in excinfo.value.response["Error"]["Message"]
    monkeypatch.delenv(sfn_patch.MOCK_CONFIG_ENV)
    with pytest.raises(ClientError) as excinfo:
        start(sfn, f"{machine_arn}#Retries", "mocked-no-config")
    assert sfn_patch.MOCK_CONFIG_ENV in excinfo.value.response["Error"]["Message"]


def test_bad_mock_config_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cloud: LocalCloud) -> None:
    config = tmp_path / "bad.json"
    monkeypatch.setenv(sfn_patch.MOCK_CONFIG_ENV, str(config))
    cases = {
        "gap": {"0": {"Return": {}}, "2": {"Return": {}}},
        "both": {"0": {"Return": {}, "Throw": {"Error": "E", "Cause": "C"}}},
        "nocause": {"0": {"Throw": {"Error": "E"}}},
    }
    for mocked in cases.values():
        config.write_text(
            json.dumps({"StateMachines": {"M": {"TestCases": {"T": {"S": "R"}}}}, "MockedResponses": {"R": mocked}})
        )
        with pytest.raises(sfn_patch.MockConfigError):
            sfn_patch.load_mock_test_case("M", "T")


# -- 8. States.Runtime ----------------------------------------------------------------------------


def test_states_all_neither_retries_nor_catches_states_runtime(sfn: Any) -> None:
    definition = {
        "StartAt": "Describe",
        "States": {
            "Describe": {
                "Type": "Task",
                "Resource": DESCRIBE_VPCS,
                "Parameters": {"VpcIds.$": "$.missing"},
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3, "IntervalSeconds": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": pass_state(End=True),
        },
    }
    described = run(sfn, definition, {})
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
    events = history(sfn, described["executionArn"])
    assert sum(e["type"] == "TaskStateEntered" for e in events) == 1
    assert not any(event_details(e).get("name") == "Caught" for e in events)


def test_states_all_catches_service_errors(sfn: Any) -> None:
    definition = {
        "StartAt": "Describe",
        "States": {
            "Describe": {
                "Type": "Task",
                "Resource": DESCRIBE_INSTANCES,
                "Parameters": {"InstanceIds": [UNKNOWN_INSTANCE]},
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": pass_state(End=True),
        },
    }
    assert output(run(sfn, definition))["error"]["Error"] == "Ec2.Ec2Exception"


# -- 9. aws-sdk error names -----------------------------------------------------------------------


def test_aws_sdk_error_names_use_the_aws_service_prefix(sfn: Any) -> None:
    definition = {
        "StartAt": "Describe",
        "States": {
            "Describe": {
                "Type": "Task",
                "Resource": DESCRIBE_INSTANCES,
                "Parameters": {"InstanceIds": [UNKNOWN_INSTANCE]},
                "Catch": [{"ErrorEquals": ["Ec2.Ec2Exception"], "ResultPath": "$.error", "Next": "Gone"}],
                "End": True,
            },
            "Gone": pass_state(End=True),
        },
    }
    error = output(run(sfn, definition))["error"]
    assert error["Error"] == "Ec2.Ec2Exception"
    assert UNKNOWN_INSTANCE in error["Cause"] and "Service: Ec2" in error["Cause"]
    assert sfn_patch.sdk_service_error_name("s3") == "S3"
    assert sfn_patch.sdk_service_error_name("secretsmanager") == "SecretsManager"


# -- Logging --------------------------------------------------------------------------------------


FAILING = {"StartAt": "Fail", "States": {"Fail": {"Type": "Fail", "Error": "Investigation.Failed", "Cause": "why"}}}


def _component_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("moto.stepfunctions") and "Exception=" in r.getMessage()]


def test_component_error_logging_is_quiet_unless_verbose(
    sfn: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(sfn_patch.VERBOSE_ENV, raising=False)
    with caplog.at_level(logging.WARNING):
        described = run(sfn, FAILING)
    assert (described["error"], described["cause"]) == ("Investigation.Failed", "why")
    assert _component_errors(caplog) == []

    caplog.clear()
    monkeypatch.setenv(sfn_patch.VERBOSE_ENV, "1")
    with caplog.at_level(logging.WARNING):
        run(sfn, FAILING)
    assert _component_errors(caplog)


def test_apply_is_idempotent(sfn: Any) -> None:
    sfn_patch.apply()
    sfn_patch.apply()
    described = run(sfn, {"StartAt": "P", "States": {"P": pass_state(Result={"a": [1]}, OutputPath="$.a[0]", End=True)}})
    assert described["output"] == "1"


# -- aws-sdk parameter casing and Parallel branch errors (added with the investigation workflow) --


def test_aws_sdk_parameters_map_to_api_member_names(cloud, sfn):
    # SQS CreateQueue's tags member is "tags"; Step Functions takes "Tags" (PascalCase).
    definition = {
        "StartAt": "Q",
        "States": {
            "Q": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sqs:createQueue",
                "Parameters": {"QueueName": "cased-queue", "Tags": {"team": "forensics"}},
                "End": True,
            }
        },
    }
    desc = run(sfn, definition, {})
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    url = json.loads(desc["output"])["QueueUrl"]
    assert cloud.client("sqs").list_queue_tags(QueueUrl=url)["Tags"] == {"team": "forensics"}


def test_parallel_branch_states_error_is_caught_by_the_parallel(sfn):
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "States.TaskFailed", "Cause": "c"}}}],
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "Parameters": {"error.$": "$.error.Error"}, "End": True},
        },
    }
    desc = run(sfn, definition, {})
    assert desc["status"] == "SUCCEEDED", desc.get("cause")
    assert json.loads(desc["output"]) == {"error": "States.TaskFailed"}
