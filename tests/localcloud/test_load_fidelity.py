"""The local cloud under load and over time: deadlines, retention of finished executions, API calls.

- Task deadlines (``TimeoutSeconds``, ``HeartbeatSeconds``: ``States.Timeout``) are measured on AWS
  against work done on capacity of its own (a sensor's instance). Locally, the time this machine
  computes for the cloud does not run them down (``tapcase.localcloud.local_work``), and they never
  last longer than the declared seconds in real time.
- Standard workflows keep an execution's history for 90 days after it closed, then remove it
  (Step Functions quotas, "Execution history retention time"); the local cloud keeps a bounded
  number of finished executions per state machine, releasing their threads and interpreter state.
- Athena keeps a query history for 45 days (ListQueryExecutions API reference); the local cloud
  keeps a bounded number of query executions.
- Requests are counted by caller, service and action (what AWS bills and throttles per action).
"""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tapcase.localcloud import api_calls, local_work, timescale
from tapcase.localcloud.cloud import LocalCloud
from tapcase.localcloud.sfn import retention
from tests.localcloud.sfn_support import (
    SEND_WITH_TOKEN,
    create_machine,
    history,
    pass_state,
    start,
    wait_done,
)


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=None, time_scale=0) as local_cloud:
        yield local_cloud


def _callback_machine(sfn: Any, **task: Any) -> str:
    state = {"Type": "Task", "Resource": SEND_WITH_TOKEN,
             "Parameters": {"QueueUrl.$": "$.queue", "MessageBody": {"token.$": "$$.Task.Token"}}, "End": True, **task}
    return create_machine(sfn, {"StartAt": "Collect", "States": {"Collect": state}})


def _worker(cloud: LocalCloud, queue_url: str, seconds: float, *, answer: bool = True) -> threading.Thread:
    """A stand-in sensor: takes the task's message, computes for ``seconds`` (marked as local work,
    as the local sensors' handling is), then answers the token."""
    sqs, sfn = cloud.client("sqs"), cloud.client("stepfunctions")

    def run() -> None:
        messages: list[dict[str, Any]] = []
        while not messages:
            messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
        token = json.loads(messages[0]["Body"])["token"]
        with local_work.computing("test"):
            time.sleep(seconds)
        if answer:
            try:
                sfn.send_task_success(taskToken=token, output=json.dumps({"worked": seconds}))
            except ClientError:
                pass  # the task timed out first (TaskTimedOut)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# -- deadlines ------------------------------------------------------------------------------------


def test_task_timeout_does_not_count_the_time_the_machine_computes_for_the_task(
    cloud: LocalCloud, sfn: Any, queue_url: str, time_scale: Callable[[float], None]
) -> None:
    """TimeoutSeconds 400 at scale 0.01 is 4 s of idle time: a sensor that computes for 6 s (on AWS
    on its own instance) still answers in time, as it would on AWS within 400 s (the 4 s leave room
    for the message's delivery on a loaded machine: 2 s were not enough at load 14)."""
    time_scale(0.01)
    worker = _worker(cloud, queue_url, 6.0)
    described = wait_done(sfn, start(sfn, _callback_machine(sfn, TimeoutSeconds=400), "work", {"queue": queue_url}))
    worker.join(10)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"worked": 6.0}


def test_heartbeat_does_not_count_the_time_the_machine_computes_for_the_task(
    cloud: LocalCloud, sfn: Any, queue_url: str, time_scale: Callable[[float], None]
) -> None:
    """HeartbeatSeconds 100 at scale 0.01 is 1 s of idle time; 1.8 s of local work is not idle."""
    time_scale(0.01)
    worker = _worker(cloud, queue_url, 1.8)
    machine = _callback_machine(sfn, TimeoutSeconds=100000, HeartbeatSeconds=100)
    described = wait_done(sfn, start(sfn, machine, "beat", {"queue": queue_url}))
    worker.join(5)
    assert described["status"] == "SUCCEEDED", described


def test_task_nobody_works_for_still_times_out_after_its_scaled_deadline(
    sfn: Any, queue_url: str, time_scale: Callable[[float], None]
) -> None:
    """No answer and no local work: States.Timeout after the scaled deadline (1.5 s for 150 s at 0.01)."""
    time_scale(0.01)
    began = time.monotonic()
    described = wait_done(sfn, start(sfn, _callback_machine(sfn, TimeoutSeconds=150), "idle", {"queue": queue_url}))
    assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")
    assert 1.35 <= time.monotonic() - began < 6


def test_local_work_never_gives_a_task_more_than_its_declared_seconds(
    cloud: LocalCloud, sfn: Any, queue_url: str, time_scale: Callable[[float], None]
) -> None:
    """TimeoutSeconds 2 at scale 0 (1 s of idle time): a sensor that computes for 3.5 s times out
    after 2 s of real time, as on AWS, however long the local work goes on."""
    time_scale(0)
    worker = _worker(cloud, queue_url, 3.5, answer=False)
    began = time.monotonic()
    described = wait_done(sfn, start(sfn, _callback_machine(sfn, TimeoutSeconds=2), "hang", {"queue": queue_url}))
    elapsed = time.monotonic() - began
    worker.join(6)
    assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")
    assert 1.9 <= elapsed < 3.4


def test_local_work_is_accounted_once_however_many_run_at_once() -> None:
    """Ten sensors computing at once for 0.3 s are 0.3 s of machine time taken from the deadlines."""

    def work() -> None:
        with local_work.computing("test"):
            time.sleep(0.3)

    began = local_work.busy_total()
    threads = [threading.Thread(target=work) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 0.29 <= local_work.busy_total() - began < 0.6
    assert not local_work.busy()


# -- retention of finished executions ---------------------------------------------------------------


def test_finished_executions_keep_their_history_but_not_their_threads(sfn: Any) -> None:
    """A finished execution answers DescribeExecution and GetExecutionHistory as before; the
    interpreter's threads have ended and are no longer held, its environment is released."""
    from moto.stepfunctions.parser import utils

    machine = create_machine(sfn, {"StartAt": "A", "States": {"A": pass_state(Next="B"), "B": pass_state(End=True)}})
    arns = [start(sfn, machine, f"r{i}", {"i": i}) for i in range(5)]
    for arn in arns:
        assert wait_done(sfn, arn)["status"] == "SUCCEEDED"
    from moto.stepfunctions.parser.asl.eval.environment import Environment

    # the last worker thread returns shortly after the status is reflected (later on a loaded machine)
    give_up = time.monotonic() + 30
    while True:
        retention.prune_threads()
        dead_held = [t for t in utils.TMP_THREADS if not t.is_alive()]
        gc.collect()
        live_envs = [o for o in gc.get_objects() if isinstance(o, Environment) and o.is_running()]
        if (not dead_held and not live_envs) or time.monotonic() > give_up:
            break
        time.sleep(0.1)
    assert not dead_held
    assert not live_envs
    events = history(sfn, arns[0])
    assert [e["type"] for e in events][0] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"


def test_a_late_answer_to_a_finished_executions_token_is_still_task_timed_out(
    cloud: LocalCloud, sfn: Any, queue_url: str, time_scale: Callable[[float], None]
) -> None:
    """After the execution ended (its environment released), SendTaskSuccess on its token still
    answers TaskTimedOut, as AWS does for a token whose task has closed."""
    time_scale(0)
    described = wait_done(sfn, start(sfn, _callback_machine(sfn, TimeoutSeconds=1), "late", {"queue": queue_url}))
    assert described["error"] == "States.Timeout"
    token = json.loads(cloud.client("sqs").receive_message(QueueUrl=queue_url)["Messages"][0]["Body"])["token"]
    with pytest.raises(ClientError) as raised:
        sfn.send_task_success(taskToken=token, output="{}")
    assert raised.value.response["Error"]["Code"] == "TaskTimedOut"


def test_only_the_newest_finished_executions_are_kept(sfn: Any) -> None:
    """Past the limit, the oldest finished executions are forgotten: DescribeExecution answers
    ExecutionDoesNotExist, as on AWS once an execution's history is past its retention."""
    saved = retention.limit()
    retention.set_limit(3)
    retention.set_min_age(0)
    try:
        machine = create_machine(sfn, {"StartAt": "A", "States": {"A": pass_state(End=True)}})
        arns = []
        for i in range(6):
            arns.append(start(sfn, machine, f"keep-{i}"))
            wait_done(sfn, arns[-1])
        listed = [e["executionArn"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]]
        assert sorted(listed) == sorted(arns[3:])
        with pytest.raises(ClientError) as raised:
            sfn.describe_execution(executionArn=arns[0])
        assert raised.value.response["Error"]["Code"] == "ExecutionDoesNotExist"
        assert sfn.describe_execution(executionArn=arns[-1])["status"] == "SUCCEEDED"
    finally:
        retention.set_limit(None if saved == retention.DEFAULT_LIMIT else saved)
        retention.set_min_age(None)


def test_an_execution_that_just_ended_is_not_forgotten_past_the_limit(sfn: Any) -> None:
    """A client following an execution reads its end after it happened (DescribeExecution): past the
    limit, executions that ended less than min_age() ago are kept (on AWS an execution is described
    for 90 days after it closed); found at 50 investigations at once, whose followers got
    ExecutionDoesNotExist for their own execution when the limit was 25."""
    saved = retention.limit()
    retention.set_limit(1)
    retention.set_min_age(3600)
    try:
        machine = create_machine(sfn, {"StartAt": "A", "States": {"A": pass_state(End=True)}})
        arns = [start(sfn, machine, f"young-{i}") for i in range(4)]
        for arn in arns:
            assert wait_done(sfn, arn)["status"] == "SUCCEEDED"
        assert all(sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED" for arn in arns)
        retention.set_min_age(0)  # now old enough: the next end forgets all but the newest
        last = start(sfn, machine, "young-last")
        wait_done(sfn, last)
        deadline = time.monotonic() + 10  # the status shows just before the end is handled
        while (listed := [e["executionArn"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]]) != [last]:
            assert time.monotonic() < deadline, listed
            time.sleep(0.02)
    finally:
        retention.set_limit(None if saved == retention.DEFAULT_LIMIT else saved)
        retention.set_min_age(None)


def test_a_running_execution_is_never_forgotten(sfn: Any, queue_url: str) -> None:
    """Only finished executions are forgotten: with room for one, a waiting execution outlives two
    newer finished ones of the same state machine."""
    saved = retention.limit()
    retention.set_limit(1)
    retention.set_min_age(0)
    try:
        wait_or_pass = {"StartAt": "Choose", "States": {
            "Choose": {"Type": "Choice", "Choices": [{"Variable": "$.wait", "BooleanEquals": True, "Next": "Collect"}],
                       "Default": "Done"},
            "Collect": {"Type": "Task", "Resource": SEND_WITH_TOKEN, "TimeoutSeconds": 30, "End": True,
                        "Parameters": {"QueueUrl.$": "$.queue", "MessageBody": {"token.$": "$$.Task.Token"}}},
            "Done": pass_state(End=True)}}
        machine = create_machine(sfn, wait_or_pass)
        waiting = start(sfn, machine, "running", {"queue": queue_url, "wait": True})
        finished = [start(sfn, machine, f"done-{i}", {"wait": False}) for i in range(2)]
        deadline = time.monotonic() + 10
        while sfn.describe_execution(executionArn=finished[1])["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        listed = {e["executionArn"]: e["status"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]}
        assert listed == {waiting: "RUNNING", finished[1]: "SUCCEEDED"}
        sfn.stop_execution(executionArn=waiting)
    finally:
        retention.set_limit(None if saved == retention.DEFAULT_LIMIT else saved)
        retention.set_min_age(None)


# -- API calls ------------------------------------------------------------------------------------


def test_api_calls_are_counted_by_caller_service_and_action(cloud: LocalCloud, sfn: Any) -> None:
    """Each request as AWS bills and throttles it: by service (the SigV4 scope) and action (the JSON
    target, the query Action, S3's REST operation); the state machine's own integrations apart."""
    import urllib.request

    api_calls.reset()
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="calls-bucket")
    s3.put_object(Bucket="calls-bucket", Key="a/b.txt", Body=b"x")
    s3.get_object(Bucket="calls-bucket", Key="a/b.txt")
    s3.list_objects_v2(Bucket="calls-bucket")
    machine = create_machine(sfn, {"StartAt": "D", "States": {"D": {
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ec2:describeVpcs", "ResultSelector": {"n.$": "States.ArrayLength($.Vpcs)"},
        "End": True}}})
    wait_done(sfn, start(sfn, machine, "calls"))
    with urllib.request.urlopen(cloud.endpoint + api_calls.ROUTE) as response:  # noqa: S310 - local endpoint
        served = json.loads(response.read())["calls"]
    counts = {(c["caller"], c["service"], c["action"]): c["count"] for c in served}
    assert counts[("other", "s3", "CreateBucket")] == 1
    assert counts[("other", "s3", "PutObject")] == 1
    assert counts[("other", "s3", "GetObject")] == 1
    assert counts[("other", "s3", "ListObjectsV2")] == 1
    assert counts[("other", "states", "CreateStateMachine")] == 1
    assert counts[("other", "states", "StartExecution")] == 1
    assert counts[("states", "ec2", "DescribeVpcs")] == 1  # the Task's own call, by the state machine
    assert not any(service == "unknown" for _, service, _ in counts)
    request = urllib.request.Request(cloud.endpoint + api_calls.ROUTE, method="DELETE")
    with urllib.request.urlopen(request):  # noqa: S310 - local endpoint
        pass
    assert api_calls.snapshot() == []


# -- Athena query history -------------------------------------------------------------------------


def test_athena_answers_old_results_from_their_result_file(cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the memory bound, an execution's rows leave memory, not the history: GetQueryExecution and
    GetQueryResults still answer as Athena does for 45 days (ListQueryExecutions API reference), the
    rows read back from the result file (every field quoted, NULL an empty unquoted field)."""
    from moto.athena.models import athena_backends

    from tapcase.localcloud.athena.executions import local_execution

    monkeypatch.setenv("TAPCASE_MAX_QUERY_RESULTS_IN_MEMORY", "3")
    athena = cloud.client("athena")
    cloud.client("s3").create_bucket(Bucket="athena-results-retention")
    config = {"OutputLocation": "s3://athena-results-retention/out/"}
    query = "SELECT {i} AS n, CAST(NULL AS varchar) AS nothing, 'a \"quoted\", comma' AS text, '' AS empty"
    ids = [athena.start_query_execution(QueryString=query.format(i=i), ResultConfiguration=config)["QueryExecutionId"]
           for i in range(5)]
    backend = athena_backends[cloud.account_id][cloud.region]
    released = [i for i in ids if local_execution(backend.executions[i]).result.rows_released]
    assert released == ids[:2]
    for number, query_id in enumerate(ids):
        assert athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"] == "SUCCEEDED"
        rows = athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]["Rows"]
        assert rows == [
            {"Data": [{"VarCharValue": "n"}, {"VarCharValue": "nothing"}, {"VarCharValue": "text"},
                      {"VarCharValue": "empty"}]},
            {"Data": [{"VarCharValue": str(number)}, {}, {"VarCharValue": 'a "quoted", comma'},
                      {"VarCharValue": ""}]},
        ]


def test_athena_forgets_a_query_after_45_days(cloud: LocalCloud) -> None:
    """"Athena keeps a query history for 45 days" (ListQueryExecutions API reference): once the local
    cloud's clock has moved past that, GetQueryExecution answers InvalidRequestException."""

    athena = cloud.client("athena")
    cloud.client("s3").create_bucket(Bucket="athena-results-old")
    config = {"OutputLocation": "s3://athena-results-old/out/"}
    old = athena.start_query_execution(QueryString="SELECT 1", ResultConfiguration=config)["QueryExecutionId"]
    timescale._advance_to(timescale.now() + 44 * 86400)
    athena.start_query_execution(QueryString="SELECT 2", ResultConfiguration=config)
    assert athena.get_query_execution(QueryExecutionId=old)["QueryExecution"]["Status"]["State"] == "SUCCEEDED"
    timescale._advance_to(timescale.now() + 2 * 86400)
    new = athena.start_query_execution(QueryString="SELECT 3", ResultConfiguration=config)["QueryExecutionId"]
    with pytest.raises(ClientError) as raised:
        athena.get_query_execution(QueryExecutionId=old)
    assert raised.value.response["Error"]["Code"] == "InvalidRequestException"
    assert athena.get_query_execution(QueryExecutionId=new)["QueryExecution"]["Status"]["State"] == "SUCCEEDED"


# -- seeding --------------------------------------------------------------------------------------


def test_seeding_an_address_in_use_is_a_clear_400_and_creates_nothing(cloud: LocalCloud) -> None:
    """EC2 refuses a private address another interface of the subnet holds (InvalidIPAddress.InUse,
    "Address … is in use"); /_tapcase/seed answers it as a JSON 400, not an HTML 500."""
    import copy
    import urllib.error
    import urllib.request

    from tests.conftest import REPO

    details = json.loads((REPO / "samples" / "findings" / "ssh-bruteforce.json").read_text())["detail"]["resource"][
        "instanceDetails"]

    def seed(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(cloud.endpoint + "/_tapcase/seed", data=json.dumps(body).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request) as response:  # noqa: S310 - local endpoint
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    assert seed({"instance_details": details})[0] == 200
    twin = copy.deepcopy(details)
    twin["instanceId"] = "i-0ffffffffffffff01"
    twin["networkInterfaces"][0]["networkInterfaceId"] = "eni-0ffffffffffffff01"
    status, body = seed({"instance_details": twin})
    address = details["networkInterfaces"][0]["privateIpAddress"]
    assert status == 400
    assert body["error"].startswith(f"InvalidIPAddress.InUse: Address {address} is in use")
    ec2 = cloud.client("ec2")
    with pytest.raises(ClientError):
        ec2.describe_instances(InstanceIds=[twin["instanceId"]])
    assert seed({"instance_details": {"instanceId": "i-0ffffffffffffff02",
                                      "networkInterfaces": [{"privateIpAddress": "ten.0.0.1"}]}})[0] == 400
