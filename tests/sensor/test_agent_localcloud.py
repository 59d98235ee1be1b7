"""The agent's AWS path against the local cloud: real SQS messages, real task tokens.

A two-state machine (``WaitForSensor``, ``CollectEvidence``: the workflow's states, whose names are
the control messages' actions) sends them with ``arn:aws:states:::sqs:sendMessage.waitForTaskToken``;
the agent loop runs in a thread with OfflineEngines on a shared pcap and answers through
SendTaskSuccess / SendTaskFailure.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tapcase.localcloud import LocalCloud
from tapcase_contract.control import COLLECT_EVIDENCE, WAIT_FOR_SENSOR
from tapcase_sensor.agent import Agent, AwsClients, Outcome
from tapcase_sensor.config import parse_config
from tapcase_sensor.engines import OfflineEngines

from .conftest import SV

BUCKET = "tapcase-evidence-test"
VXLAN03 = SV / "vxlan-decoder-03" / "vxlan.pcap"


def _task(action: str, extra: dict[str, str], nxt: str | None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "TimeoutSeconds": 60,
        "Parameters": {
            "QueueUrl.$": "$.queue_url",
            "MessageBody": {
                "action": action,
                "task_token.$": "$$.Task.Token",
                "investigation_id.$": "$.investigation_id",
                **extra,
            },
        },
        "ResultPath": f"$.{action}",
    }
    state.update({"Next": nxt} if nxt else {"End": True})
    return state


DEFINITION = {
    "StartAt": WAIT_FOR_SENSOR,
    "States": {
        WAIT_FOR_SENSOR: _task(WAIT_FOR_SENSOR, {}, COLLECT_EVIDENCE),
        COLLECT_EVIDENCE: _task(COLLECT_EVIDENCE, {"bucket.$": "$.bucket", "prefix.$": "$.prefix"}, None),
    },
}


class RecordingSQS:
    """The real SQS client, remembering every message body the agent received."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.bodies: list[dict[str, Any]] = []

    def receive_message(self, **kwargs: Any) -> Any:
        response = self._client.receive_message(**kwargs)
        self.bodies += [json.loads(m["Body"]) for m in response.get("Messages", [])]
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@dataclass
class Sensor:
    investigation_id: str
    queue_url: str
    agent: Agent
    sqs: RecordingSQS
    workdir: Path
    thread: threading.Thread
    stop: threading.Event = field(default_factory=threading.Event)


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=None, time_scale=1.0) as c:
        c.client("s3").create_bucket(Bucket=BUCKET)
        yield c


@pytest.fixture(scope="module")
def state_machine(cloud: LocalCloud) -> str:
    sfn = cloud.client("stepfunctions")
    return str(
        sfn.create_state_machine(
            name="sensor-callbacks", definition=json.dumps(DEFINITION), roleArn=f"arn:aws:iam::{cloud.account_id}:role/sfn"
        )["stateMachineArn"]
    )


@pytest.fixture(scope="module")
def start_sensor(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Sensor]]:
    sensors: list[Sensor] = []
    tmp_path = tmp_path_factory.mktemp("sensors")

    def start(investigation_id: str, pcap: Path = VXLAN03, rules: Path | None = None) -> Sensor:
        sqs = RecordingSQS(cloud.client("sqs"))
        queue_url = sqs.create_queue(QueueName=f"tapcase-{investigation_id}-control")["QueueUrl"]
        config = parse_config(
            {
                "investigation_id": investigation_id,
                "control_queue_name": f"tapcase-{investigation_id}-control",  # resolved like on AWS
                "bucket": BUCKET,
                "prefix": f"investigations/{investigation_id}",
                "poll_wait_seconds": 1,
                "ready_timeout": 10,
            }
        )
        workdir = tmp_path / investigation_id
        engines = OfflineEngines(pcap, workdir, rules=rules, zeek="skip")
        clients = AwsClients(sqs=sqs, s3=cloud.client("s3"), stepfunctions=cloud.client("stepfunctions"))
        agent = Agent(config, engines, clients)
        thread = threading.Thread(target=agent.run_forever, args=(stop := threading.Event(),), daemon=True)
        sensor = Sensor(investigation_id, queue_url, agent, sqs, workdir, thread, stop)
        thread.start()
        sensors.append(sensor)
        return sensor

    yield start
    for sensor in sensors:
        sensor.stop.set()
    for sensor in sensors:
        sensor.thread.join(timeout=10)


def _execute(cloud: LocalCloud, state_machine: str, sensor: Sensor, name: str) -> dict[str, Any]:
    sfn = cloud.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=state_machine,
        name=name,
        input=json.dumps(
            {
                "queue_url": sensor.queue_url,
                "investigation_id": sensor.investigation_id,
                "bucket": BUCKET,
                "prefix": f"investigations/{sensor.investigation_id}",
            }
        ),
    )["executionArn"]
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.05)
    pytest.fail(f"execution {name} still running")


def _wait_for(predicate: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def happy(cloud: LocalCloud, state_machine: str, start_sensor: Callable[..., Sensor]) -> tuple[Sensor, dict[str, Any]]:
    """One sensor on the real AWS mirror capture, driven through a whole execution (Suricata runs once)."""
    sensor = start_sensor("inv-happy-1")
    return sensor, _execute(cloud, state_machine, sensor, "inv-happy-1-run")


def test_wait_for_sensor_and_collect_evidence_through_task_tokens(cloud: LocalCloud, happy: tuple[Sensor, dict[str, Any]]) -> None:
    # Given a sensor agent polling its control queue, when the workflow asked for readiness,
    # then for the evidence (the `happy` fixture), both task tokens were answered with success
    sensor, result = happy
    assert result["status"] == "SUCCEEDED"
    output = json.loads(result["output"])
    ready, collect = output[WAIT_FOR_SENSOR], output[COLLECT_EVIDENCE]
    assert ready["status"] == "ready" and ready["investigation_id"] == "inv-happy-1"
    assert ready["vxlan_seen"] is True and ready["packets_seen"] == 100
    assert ready["versions"]["suricata"] == "7.0.10"
    assert ready["engines"]["suricata"]["listening"] is True
    assert collect["complete"] is True
    assert collect["manifest_uri"] == f"s3://{BUCKET}/investigations/inv-happy-1/raw/manifest.json"
    assert collect["record_counts"]["suricata"] == {"dns": 16, "flow": 26, "ssh": 4, "stats": 1}
    assert collect["packets"] == {"seen": 100, "dropped": 0, "vxlan": 100,
                                   # every packet's bytes: the file less its 24-byte header and 16-byte record headers
                                   "bytes": VXLAN03.stat().st_size - 24 - 16 * 100, "vnis": {"5569041": 100}}
    assert [b["action"] for b in sensor.sqs.bodies][:2] == [WAIT_FOR_SENSOR, COLLECT_EVIDENCE]
    assert all(len(b["task_token"]) > 20 for b in sensor.sqs.bodies)

    # And the logs are in the local S3 under raw/<engine>/, with the manifest written last
    s3 = cloud.client("s3")
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key="investigations/inv-happy-1/raw/manifest.json")["Body"].read())
    assert manifest["complete"] is True and manifest["investigation_id"] == "inv-happy-1"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="investigations/inv-happy-1/")["Contents"]}
    pcaps = {f["key"] for f in manifest["pcap"]["files"]}
    assert pcaps == {"investigations/inv-happy-1/raw/pcap/packets.1561644070.047299.pcap"}
    assert keys == {f["key"] for f in manifest["files"]} | pcaps | {"investigations/inv-happy-1/raw/manifest.json"}
    assert "investigations/inv-happy-1/raw/suricata/eve.json" in keys
    for entry in manifest["files"] + manifest["pcap"]["files"]:
        obj = s3.get_object(Bucket=BUCKET, Key=entry["key"])
        body = obj["Body"].read()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"] == obj["Metadata"]["sha256"]
        assert len(body) == entry["bytes"]
    pcap = s3.get_object(Bucket=BUCKET, Key=manifest["pcap"]["files"][0]["key"])
    assert pcap["ContentType"] == "application/vnd.tcpdump.pcap" and manifest["pcap"]["packets_kept"] == 100
    assert collect["pcap"]["files"][0]["sha256"] == manifest["pcap"]["files"][0]["sha256"]
    assert collect["capture_filter"]["bpf"] == "udp dst port 4789"
    assert manifest["engine_versions"] == {"suricata": "7.0.10", "zeek": None}
    assert manifest["zeek_skipped_reason"] == "disabled by option (--zeek skip)"
    assert manifest["capture"]["start"] == "2019-06-27T14:01:10.047299Z"


def test_duplicated_collect_is_tolerated(cloud: LocalCloud, happy: tuple[Sensor, dict[str, Any]]) -> None:
    sensor, result = happy
    assert result["status"] == "SUCCEEDED"
    s3 = cloud.client("s3")
    key = "investigations/inv-happy-1/raw/manifest.json"
    first = s3.head_object(Bucket=BUCKET, Key=key)
    eve = sensor.workdir / "raw" / "suricata" / "eve.json"
    eve_mtime = eve.stat().st_mtime_ns
    collect = next(b for b in sensor.sqs.bodies if b["action"] == COLLECT_EVIDENCE)
    answered = len(sensor.agent.history)

    # When the same collect message (same, already answered task token) arrives again
    sensor.sqs.send_message(QueueUrl=sensor.queue_url, MessageBody=json.dumps(collect))
    _wait_for(lambda: len(sensor.agent.history) > answered)

    # Then the agent answers with the same manifest, tolerates the spent token, and drops the message
    again: Outcome = sensor.agent.history[-1]
    assert again.action == COLLECT_EVIDENCE and again.answer == "success"
    assert again.output is not None and again.output["manifest_uri"] == f"s3://{BUCKET}/{key}"
    assert again.delivered is False  # Step Functions refused the spent token; logged and ignored
    assert s3.head_object(Bucket=BUCKET, Key=key)["ETag"] == first["ETag"]
    assert eve.stat().st_mtime_ns == eve_mtime  # the engines did not run again
    attrs = sensor.sqs.get_queue_attributes(QueueUrl=sensor.queue_url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_collect_after_restart_reuses_the_manifest_in_s3(
    cloud: LocalCloud, happy: tuple[Sensor, dict[str, Any]], tmp_path: Path
) -> None:
    sensor, result = happy
    assert result["status"] == "SUCCEEDED"
    # A new agent process (no memory of the first collect) gets the collect again
    fresh = Agent(
        sensor.agent.config,
        OfflineEngines(VXLAN03, tmp_path / "fresh", zeek="skip"),
        AwsClients(sqs=sensor.sqs, s3=cloud.client("s3"), stepfunctions=cloud.client("stepfunctions")),
    )
    collect = next(b for b in sensor.sqs.bodies if b["action"] == COLLECT_EVIDENCE)
    outcome = fresh.handle(collect)
    assert outcome.answer == "success" and outcome.output is not None and outcome.output["complete"] is True
    assert not (tmp_path / "fresh" / "raw").exists()  # answered from S3, nothing re-run


def test_bad_capture_is_answered_with_a_typed_failure(
    cloud: LocalCloud, state_machine: str, start_sensor: Callable[..., Sensor], tmp_path: Path
) -> None:
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(VXLAN03.read_bytes()[:20_000])
    sensor = start_sensor("inv-bad-1", pcap=cut)
    result = _execute(cloud, state_machine, sensor, "inv-bad-1-run")
    assert result["status"] == "FAILED"
    assert result["error"] == "SensorBadCapture"
    outcome = sensor.agent.history[-1]
    assert outcome.answer == "failure" and outcome.delivered is True
    assert outcome.cause is not None and "truncated capture" in outcome.cause


def test_message_for_another_investigation_is_refused(cloud: LocalCloud, start_sensor: Callable[..., Sensor]) -> None:
    sensor = start_sensor("inv-mine-1")
    token = "not-a-real-token-but-long-enough"
    message = {"action": WAIT_FOR_SENSOR, "task_token": token, "investigation_id": "inv-other"}
    outcome = sensor.agent.handle(message)
    assert outcome.answer == "failure" and outcome.error == "SensorBadMessage"
    assert outcome.delivered is False  # the local Step Functions refused the made-up token: dropped, no crash
    assert sensor.agent.handle("not json").answer == "none"
    assert sensor.agent.handle({"action": WAIT_FOR_SENSOR}).answer == "none"  # no token: nobody to answer
    # the old action names (before the actions were named after their states) are refused by name
    old = sensor.agent.handle({"action": "ready", "task_token": token, "investigation_id": "inv-mine-1"})
    assert old.error == "SensorBadMessage" and old.cause == "unknown action 'ready' (expected WaitForSensor or CollectEvidence)"


def test_no_traffic_still_completes(
    cloud: LocalCloud, state_machine: str, start_sensor: Callable[..., Sensor], tmp_path: Path
) -> None:
    # The local cloud's sensors see a header-only pcap when no capture is set.
    empty = tmp_path / "no-traffic.pcap"
    empty.write_bytes(VXLAN03.read_bytes()[:24])
    sensor = start_sensor("inv-quiet-1", pcap=empty)
    result = _execute(cloud, state_machine, sensor, "inv-quiet-1-run")
    assert result["status"] == "SUCCEEDED"
    output = json.loads(result["output"])
    ready = output[WAIT_FOR_SENSOR]
    assert ready["vxlan_seen"] is False and ready["packets_seen"] == 0
    manifest = json.loads(
        cloud.client("s3").get_object(Bucket=BUCKET, Key="investigations/inv-quiet-1/raw/manifest.json")["Body"].read()
    )
    assert manifest["complete"] is True and manifest["files"] == [] and manifest["packets"]["seen"] == 0
    assert manifest["engines"]["suricata"]["status"] == "idle"
