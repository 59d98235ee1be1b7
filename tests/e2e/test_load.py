"""Load on one local cloud (issue 11, item 4): many investigations at once, repeated findings, bursts.

The local cloud must not turn load into false failures: each sensor's work (data plane, Suricata,
curation, upload) is not counted against its task's deadline (``tapcase.localcloud.local_work``),
as on AWS each sensor computes on an instance of its own. Every investigation's summary counts only
what belongs to it (by its tag and ids); ``cloud_leftovers`` counts what the whole cloud holds once
all have ended.

The workflow has no account-wide cap on concurrent investigations yet (issue 10 adds one); what
exists is one investigation per instance (the DynamoDB lock): a burst on one instance runs one
investigation and refuses the others, which end ``already_under_investigation``.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tapcase.investigate import Clients, cloud_leftovers, investigate_once
from tapcase.localcloud.seed import amazon_image_id
from tests.conftest import REPO, wait_for_execution

NOTHING_LEFT = {
    "mirror_sessions": 0, "mirror_targets": 0, "mirror_filters": 0, "sensor_instances": 0,
    "local_sensor_agents": 0, "sensor_security_groups": 0, "control_queues": 0, "locks": 0,
}
#: The c2-dns story's suspect address: every instance of the load test has it, each in its own VPC,
#: so that every sensor receives the story's traffic and runs Suricata on it.
SUSPECT_IP = "10.0.1.25"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    from tapcase.localcloud import LocalCloud, sensors
    from tapcase.scenario import generate

    capture = tmp_path_factory.mktemp("load") / "c2-dns-120s.pcap"
    generate("c2-dns", capture, duration_seconds=120)  # ~1.3 MB: the story's first two minutes
    with LocalCloud(time_scale=0) as local:
        sensors.set_capture(capture)
        yield local
        sensors.set_capture(None)


def instances_with_the_suspect_address(cloud: Any, count: int, first_octet: int) -> list[str]:
    """``count`` instances, each in a VPC of its own holding the story's suspect address."""
    ec2 = cloud.client("ec2")
    image = amazon_image_id(ec2)
    ids = []
    for _ in range(count):
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
        reservation = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m5.large",
                                        SubnetId=subnet, PrivateIpAddress=SUSPECT_IP)
        ids.append(reservation["Instances"][0]["InstanceId"])
    assert first_octet  # (kept for readability at the call sites)
    return ids


def manual(instance_id: str) -> dict[str, Any]:
    return {"instance_id": instance_id, "duration_seconds": 60, "reason": "load test"}


def outcome(sfn: Any, execution_arn: str) -> tuple[str, str | None]:
    described = wait_for_execution(sfn, execution_arn, timeout=120)
    output = json.loads(described.get("output") or "null") or {}
    return described["status"], output.get("status") if isinstance(output, dict) else None


@pytest.mark.slow
def test_25_investigations_at_once_all_succeed_and_leave_nothing(cloud, tmp_path):
    """25 investigations of different instances started at once: every one SUCCEEDED (no
    States.Timeout from sharing two cores: a sensor's work does not run down its own deadline),
    every summary counts only its own leftovers (0), and nothing is left in the cloud afterwards."""
    instances = instances_with_the_suspect_address(cloud, 25, 1)
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=25) as pool:
        summaries = list(pool.map(
            # the CLI's own wait (LocalTimeout) is generous: on a 2-core machine other work shares,
            # 25 investigations took over 600 s of real time (load 14); AWS deadlines are scaled apart
            lambda inst: investigate_once(cloud.endpoint, manual(inst), out=tmp_path, timeout=1800), instances))
    elapsed = time.monotonic() - began
    failed = [(s["status"], s["error"], s["cause"]) for s in summaries if s["status"] != "SUCCEEDED"]
    assert not failed, failed
    assert all(s["outcome"] == "succeeded" for s in summaries)
    assert [s["leftovers"] for s in summaries] == [NOTHING_LEFT] * 25
    assert len({s["investigation_id"] for s in summaries}) == 25
    assert cloud_leftovers(cloud.endpoint) == NOTHING_LEFT
    # every sensor analysed the story's traffic: the reports carry Suricata's findings
    for summary in summaries:
        report = json.loads(Path(summary["report"]["local_path"]).read_text())
        assert report["summary"]["queries_with_rows"] > 0, report["summary"]
    print(f"25 investigations at once: {elapsed:.1f} s")


def test_ten_copies_of_one_finding_start_one_investigation(cloud):
    """GuardDuty publishes updates of one finding; EventBridge starts an execution for each event
    (a generated name each). Ten copies put at once: one execution investigates (one sensor ever
    launched), the others end already_under_investigation (the lock) or skipped (the finding's
    evidence exists), and nothing is left."""
    event = json.loads((REPO / "samples" / "findings" / "beaconing.json").read_text())
    details = event["detail"]["resource"]["instanceDetails"]
    from tapcase.investigate import _post

    _post(cloud.endpoint, "/_tapcase/seed", {"instance_details": details})
    events = cloud.client("events")
    entry = {"Source": event["source"], "DetailType": event["detail-type"], "Detail": json.dumps(event["detail"]),
             "Resources": event.get("resources", [])}
    sfn = cloud.client("stepfunctions")
    machine = cloud.stack.outputs["InvestigationStateMachineArn"]
    before = {e["executionArn"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]}
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda _: events.put_events(Entries=[entry]), range(10)))
    deadline = time.monotonic() + 30
    while True:
        started = [e["executionArn"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]
                   if e["executionArn"] not in before]
        if len(started) >= 10 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(started) == 10
    outcomes = [outcome(sfn, arn) for arn in started]
    assert [status for status, _ in outcomes] == ["SUCCEEDED"] * 10
    # the one that ran says what its sensor saw (no_traffic when this module's capture lacks the host)
    investigated = [o for _, o in outcomes if o not in ("already_under_investigation", "skipped")]
    assert len(investigated) == 1 and investigated[0] in ("succeeded", "no_traffic"), outcomes
    assert {o for _, o in outcomes} <= {"succeeded", "no_traffic", "already_under_investigation", "skipped"}
    ec2 = cloud.client("ec2")
    investigation_id = next(json.loads(sfn.describe_execution(executionArn=arn)["output"])["investigation_id"]
                            for arn, (_, o) in zip(started, outcomes, strict=True) if o == investigated[0])
    sensors = ec2.describe_instances(Filters=[{"Name": "tag:tapcase:investigation-id", "Values": [investigation_id]}])
    assert sum(len(r["Instances"]) for r in sensors["Reservations"]) == 1  # one sensor ever launched
    assert cloud_leftovers(cloud.endpoint) == NOTHING_LEFT


def test_a_burst_on_one_instance_runs_one_investigation_and_refuses_the_rest(cloud):
    """The only cap the workflow has today is one investigation per instance (the lock's conditional
    write; an account-wide cap is issue 10's): six manual requests for one instance at once run one
    investigation; the other five are refused, ending already_under_investigation, creating nothing."""
    (instance,) = instances_with_the_suspect_address(cloud, 1, 2)
    sfn = Clients(cloud.endpoint).sfn
    machine = cloud.stack.outputs["InvestigationStateMachineArn"]
    arns = [sfn.start_execution(stateMachineArn=machine, name=f"burst-{i}-{time.time_ns()}",
                                input=json.dumps(manual(instance)))["executionArn"] for i in range(6)]
    outcomes = [outcome(sfn, arn) for arn in arns]
    assert [status for status, _ in outcomes] == ["SUCCEEDED"] * 6
    assert sorted(o for _, o in outcomes) == ["already_under_investigation"] * 5 + ["succeeded"]
    assert cloud_leftovers(cloud.endpoint) == NOTHING_LEFT


@pytest.mark.slow
def test_a_summary_counts_only_its_own_leftovers(cloud, tmp_path):
    """While another investigation's resources are live, a finished investigation's summary still
    reports 0 leftovers: they are counted by its own tag and ids, not the whole cloud's."""
    from tapcase.localcloud import timescale

    first, second = instances_with_the_suspect_address(cloud, 2, 3)
    sfn = cloud.client("stepfunctions")
    machine = cloud.stack.outputs["InvestigationStateMachineArn"]
    saved = timescale.get_scale()
    timescale.set_scale(0.01)  # the other run's 2000 s window lasts 20 s of real time
    try:
        other = sfn.start_execution(stateMachineArn=machine, name=f"other-{time.time_ns()}",
                                    input=json.dumps({**manual(second), "duration_seconds": 2000}))["executionArn"]
        deadline = time.monotonic() + 30
        while not cloud_leftovers(cloud.endpoint)["mirror_sessions"]:  # the other run is mirroring
            assert time.monotonic() < deadline
            time.sleep(0.05)
        summary = investigate_once(cloud.endpoint, manual(first), out=tmp_path, timeout=120)
        still_mirroring = cloud_leftovers(cloud.endpoint)
        assert sfn.describe_execution(executionArn=other)["status"] == "RUNNING"
        assert summary["status"] == "SUCCEEDED"
        assert summary["leftovers"] == NOTHING_LEFT
        assert still_mirroring["sensor_instances"] == 1 and still_mirroring["local_sensor_agents"] == 1
        assert outcome(sfn, other) == ("SUCCEEDED", "succeeded")
    finally:
        timescale.set_scale(saved)
    assert cloud_leftovers(cloud.endpoint) == NOTHING_LEFT
