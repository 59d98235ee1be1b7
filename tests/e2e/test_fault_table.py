"""The fault table (tests/e2e/fault_table.py): every Task state fails every way it can, and the
execution ends as designed -- FAILED with the original error (or SUCCEEDED where the workflow
absorbs the failure) -- with zero leftovers of its investigation. Then StopExecution while the
execution waits for its sensor, captures or collects: AWS aborts at once and runs no Catch; the
janitor's rule on the status change tears the investigation down.

One local cloud for the module; the MockConfigFile rows run four at a time on different instances.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tapcase_contract.limits import COLLECT_HEARTBEAT_SECONDS
from tapcase_sensor.errors import SensorEngineFailed
from tests.conftest import wait_for_execution
from tests.e2e.conftest import investigation_leftovers, make_instance, wait_for_no_leftovers
from tests.e2e.fault_table import (
    AGENT_STATES,
    BEFORE_RESOURCES,
    OUTCOMES,
    TABLE_FILE,
    TASK_STATES,
    Row,
    mock_config,
    mock_rows,
    render,
)

TIME_SCALE = 0.01  # Capture 60 s -> 0.6 s; WaitForSensor 900 s -> 9 s; CollectEvidence heartbeat 600 s -> 6 s
ROWS: list[Row] = []
_cidr = iter(range(100, 250))


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    from tapcase.localcloud import LocalCloud, sensors

    with LocalCloud(time_scale=TIME_SCALE) as local:
        sensors.set_capture(None)  # the sensors see no traffic: the rows are about failures
        yield local


@pytest.fixture(scope="module")
def machine(cloud) -> str:
    return cloud.stack.outputs["InvestigationStateMachineArn"]


def _request() -> dict[str, Any]:
    return {"instance_id": "", "duration_seconds": 60, "reason": "fault table"}


def _execute(cloud, machine: str, row: Row, *, test_case: bool) -> Row:
    instance = make_instance(cloud, cidr=f"10.{next(_cidr)}")["instance_id"]
    request = {**_request(), "instance_id": instance}
    if row.state == "InvestigateInstance":  # FanOut: a selection of two instances
        second = make_instance(cloud, cidr=f"10.{next(_cidr)}")["instance_id"]
        cloud.client("ec2").create_tags(Resources=[instance, second], Tags=[{"Key": "fault-table", "Value": row.name}])
        request = {**_request(), "instance_id": None, "tags": {"fault-table": row.name}}
        request.pop("instance_id")
    sfn = cloud.client("stepfunctions")
    began = time.monotonic()
    arn = sfn.start_execution(stateMachineArn=f"{machine}#{row.name}" if test_case else machine, name=row.name,
                              input=json.dumps(request))["executionArn"]
    described = wait_for_execution(sfn, arn, timeout=180)
    row.seconds = round(time.monotonic() - began, 1)
    row.status, row.error = described["status"], described.get("error")
    # Teardown cleaned up, or (Teardown itself failed) the janitor on the status change does
    row.leftovers = wait_for_no_leftovers(cloud, row.name, instance, timeout=60)
    ROWS.append(row)
    return row


def test_every_task_state_fails_every_way_into_teardown(cloud, machine, tmp_path, monkeypatch):
    rows = mock_rows()
    config = tmp_path / "MockConfigFile.json"
    config.write_text(json.dumps(mock_config(machine.rsplit(":", 1)[-1], rows)))
    monkeypatch.setenv("SFN_MOCK_CONFIG", str(config))
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = list(pool.map(lambda r: _execute(cloud, machine, r, test_case=True), rows))
    wrong = [f"{r.state}/{r.outcome}: {r.cell()} (expected {r.expected_status} {r.expected_error})"
             for r in done if not r.ok]
    assert not wrong, "\n".join(wrong)
    # nothing was ever created by a run that failed before its resources
    for row in done:
        if row.state in BEFORE_RESOURCES:
            assert row.seconds < 60 and row.status == "FAILED"


@pytest.fixture
def blocked_engines(monkeypatch):
    """MirroredEngines.<method> made to wait until the test releases it (returns the release)."""
    from tapcase.localcloud.sensor_engines import MirroredEngines

    release = threading.Event()

    def block(method: str) -> threading.Event:
        original = getattr(MirroredEngines, method)

        def waiting(self, *args, **kwargs):
            release.wait(60)
            return original(self, *args, **kwargs)

        monkeypatch.setattr(MirroredEngines, method, waiting)
        return release

    yield block
    release.set()


def test_wait_for_sensor_agent_answers_failure(cloud, machine, monkeypatch):
    from tapcase.localcloud.sensor_engines import MirroredEngines

    def start(self):
        raise SensorEngineFailed("suricata exited with status 1 before listening")

    monkeypatch.setattr(MirroredEngines, "start", start)
    row = _execute(cloud, machine, Row("WaitForSensor", "agent answers failure", "FAILED", "SensorEngineFailed"),
                   test_case=False)
    assert row.ok, row.cell()


def test_wait_for_sensor_agent_never_answers(cloud, machine, monkeypatch):
    from tapcase.localcloud import sensors

    def no_boot(instance, region, role_arn=None):
        raise RuntimeError("the sensor never boots")

    monkeypatch.setattr(sensors, "_start", no_boot)
    row = _execute(cloud, machine, Row("WaitForSensor", "agent never answers", "FAILED", "States.Timeout"),
                   test_case=False)
    assert row.ok, row.cell()


def test_collect_evidence_agent_answers_failure(cloud, machine, monkeypatch):
    from tapcase.localcloud.sensor_engines import MirroredEngines

    def stop(self):
        raise SensorEngineFailed("suricata crashed while reading the capture")

    monkeypatch.setattr(MirroredEngines, "stop", stop)
    row = _execute(cloud, machine, Row("CollectEvidence", "agent answers failure", "FAILED", "SensorEngineFailed"),
                   test_case=False)
    assert row.ok, row.cell()


def test_collect_evidence_agent_dies_and_its_heartbeat_stops(cloud, machine, monkeypatch):
    """A sensor that dies while collecting sends no more heartbeats: CollectEvidence fails within
    its HeartbeatSeconds, long before its TimeoutSeconds (CollectTimeoutSeconds)."""
    from tapcase_sensor.agent import Agent, Outcome

    original = Agent.handle

    def handle(self, message):
        if "CollectEvidence" in str(message):  # the sensor dies: no answer, no heartbeat, ever
            return Outcome(action="CollectEvidence", answer="none", delivered=False)
        return original(self, message)

    monkeypatch.setattr(Agent, "handle", handle)
    row = _execute(cloud, machine, Row("CollectEvidence", "agent never answers", "FAILED", "States.Timeout"),
                   test_case=False)
    assert row.ok, row.cell()
    sfn = cloud.client("stepfunctions")
    arn = machine.replace(":stateMachine:", ":execution:") + f":{row.name}"
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    entered = next(e["timestamp"] for e in events if e.get("stateEnteredEventDetails", {}).get("name") == "CollectEvidence")
    timed_out = next(e["timestamp"] for e in events if e["type"] == "TaskTimedOut")
    collect_timeout = int(cloud.stack.parameters["CollectTimeoutSeconds"]) * TIME_SCALE
    waited = (timed_out - entered).total_seconds()
    assert COLLECT_HEARTBEAT_SECONDS * TIME_SCALE * 0.9 <= waited < collect_timeout, waited


def test_the_table_covers_every_task_state_with_zero_leftovers(request):
    """Printed at the end of the run (tests/conftest.py) and by ``python -m tests.e2e.fault_table``."""
    covered = {(r.state, r.outcome) for r in ROWS}
    for state in TASK_STATES:
        assert {(state, "service error"), (state, "timeout")} <= covered, state
    for state in AGENT_STATES:
        assert {(state, o) for o in OUTCOMES} <= covered, state
    table = render(ROWS)
    TABLE_FILE.parent.mkdir(parents=True, exist_ok=True)
    TABLE_FILE.write_text(table)
    request.node.add_report_section("call", "fault table", table)
    assert all(r.ok for r in ROWS), table


# -- StopExecution: no Catch runs on AWS; the janitor's rule tears the investigation down --------


def _entered(sfn, arn: str, state: str, timeout: float = 60.0) -> None:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        if any(e.get("stateEnteredEventDetails", {}).get("name") == state for e in events):
            return
        time.sleep(0.05)
    raise AssertionError(f"{arn} never entered {state}")


@pytest.mark.parametrize("state, blocked", [("WaitForSensor", "start"), ("Capture", None),
                                            ("CollectEvidence", "stop")])
def test_stop_execution_aborts_and_the_janitor_tears_down(cloud, machine, blocked_engines, state, blocked):
    """StopExecution: "aborts an execution at once, even while it waits on a task token, and no
    Catch runs" (the ASL's Teardown never runs); Step Functions sends "Step Functions Execution
    Status Change" with status ABORTED, the JanitorAfterExecutionRule matches it and the janitor
    tears down what the execution recorded and tagged."""
    if blocked:
        blocked_engines(blocked)  # the sensor holds the execution in this state
    instance = make_instance(cloud, cidr=f"10.{next(_cidr)}")["instance_id"]
    sfn = cloud.client("stepfunctions")
    name = f"stop-{state.lower()}"
    arn = sfn.start_execution(stateMachineArn=machine, name=name,
                              input=json.dumps({"instance_id": instance, "duration_seconds": 3600}))["executionArn"]
    _entered(sfn, arn, state)
    assert any(investigation_leftovers(cloud, name, instance).values())  # there is something to tear down
    sfn.stop_execution(executionArn=arn, error="Analyst.Stopped", cause=f"stopped during {state}")
    described = sfn.describe_execution(executionArn=arn)
    assert (described["status"], described["error"]) == ("ABORTED", "Analyst.Stopped")
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    assert not any(e.get("stateEnteredEventDetails", {}).get("name") == "Teardown" for e in events)
    left = wait_for_no_leftovers(cloud, name, instance, timeout=60)
    assert not any(left.values()), left
