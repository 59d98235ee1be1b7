"""Plan's refusals create nothing; failures after resources exist always end in teardown."""

from __future__ import annotations

import json

import pytest

from tapcase.localcloud.cloud import ACCOUNT_ID
from tapcase_contract.tags import INVESTIGATION_ID as TAG_KEY
from tapcase_contract.tags import ROLE, ROLE_SENSOR
from tapcase_workflow.logic.accounts import lock_key
from tests.conftest import shared
from tests.e2e.conftest import (
    adapted_real_finding,
    created_anything,
    emf_metrics,
    load_report,
    make_instance,
    metric_value,
    run,
)

NOTHING = {"security_groups": 0, "instances": 0, "filters": 0, "targets": 0, "sessions": 0, "queues": 0, "locks": 0}


def manual(instance_id, **extra):
    return {"instance_id": instance_id, "duration_seconds": 60, "reason": "test", **extra}


def test_gone_instance_is_refused_and_nothing_created(cloud, tmp_path):
    inst = make_instance(cloud, cidr="10.30")
    cloud.client("ec2").terminate_instances(InstanceIds=[inst["instance_id"]])
    summary = run(cloud, manual(inst["instance_id"]), tmp_path)
    assert (summary["status"], summary["error"]) == ("FAILED", "InstanceNotFound")
    assert "terminated" in summary["cause"]
    assert created_anything(cloud) == NOTHING


def test_non_ec2_finding_ends_cleanly(cloud, tmp_path):
    event = json.loads(shared("guardduty", "aws-samples_amazon-guardduty-automated-response-sample",
                              "guardduty_iam_event.json").read_text())
    summary = run(cloud, event, tmp_path)
    assert (summary["status"], summary["outcome"]) == ("SUCCEEDED", "skipped")
    assert created_anything(cloud) == NOTHING


def test_unsupported_instance_type_is_refused(cloud, tmp_path):
    inst = make_instance(cloud, instance_type="t2.micro", cidr="10.31")
    summary = run(cloud, manual(inst["instance_id"]), tmp_path)
    assert (summary["status"], summary["error"]) == ("FAILED", "UnsupportedInstanceType")
    assert "t2" in summary["cause"]
    assert created_anything(cloud) == NOTHING


def _occupy(cloud, eni, numbers):
    """Existing (non-tapcase) mirror sessions on an ENI, to an appliance in its subnet (a target must
    be in the source's VPC or one connected to it)."""
    ec2 = cloud.client("ec2")
    subnet = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]["SubnetId"]
    appliance = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    target = ec2.create_traffic_mirror_target(NetworkInterfaceId=appliance)["TrafficMirrorTarget"]
    mfilter = ec2.create_traffic_mirror_filter()["TrafficMirrorFilter"]
    return [
        ec2.create_traffic_mirror_session(
            NetworkInterfaceId=eni, TrafficMirrorTargetId=target["TrafficMirrorTargetId"],
            TrafficMirrorFilterId=mfilter["TrafficMirrorFilterId"], SessionNumber=n,
        )["TrafficMirrorSession"]["TrafficMirrorSessionId"]
        for n in numbers
    ]


def test_no_free_session_slot_is_refused(cloud, tmp_path):
    inst = make_instance(cloud, cidr="10.32")
    existing = _occupy(cloud, inst["enis"][0], [1, 2, 3])
    summary = run(cloud, manual(inst["instance_id"]), tmp_path)
    assert (summary["status"], summary["error"]) == ("FAILED", "NoFreeMirrorSlot")
    assert created_anything(cloud) == NOTHING
    ec2 = cloud.client("ec2")
    assert len(ec2.describe_traffic_mirror_sessions(TrafficMirrorSessionIds=existing)["TrafficMirrorSessions"]) == 3
    for sid in existing:
        ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=sid)


def test_zero_packets_end_as_no_traffic_in_the_output_the_summary_and_the_report(cloud, tmp_path):
    """The sensor received nothing (no capture): the execution SUCCEEDED, but its outcome is no_traffic
    with a loud warning, never plain success (issue 12)."""
    inst = make_instance(cloud, cidr="10.36")
    summary = run(cloud, manual(inst["instance_id"]), tmp_path)
    assert (summary["status"], summary["outcome"]) == ("SUCCEEDED", "no_traffic")
    assert summary["warnings"][0].startswith("NO TRAFFIC: the sensor received no mirrored packet")
    assert summary["leftovers"] and not any(summary["leftovers"].values())
    report = load_report(summary)
    assert report["verdict"]["outcome"] == "no_traffic" and report["verdict"]["assessment"] == "not_assessed"
    assert report["summary"]["outcome"] == "no_traffic"
    page = (tmp_path / summary["investigation_id"] / "report.html").read_text()
    assert '<p class="warning">NO TRAFFIC' in page


def test_lower_numbered_session_is_warned_in_the_report(cloud, tmp_path):
    inst = make_instance(cloud, cidr="10.33", enis=2)
    (always_on,) = _occupy(cloud, inst["enis"][0], [1])
    summary = run(cloud, manual(inst["instance_id"]), tmp_path)
    assert summary["status"] == "SUCCEEDED", summary
    assert summary["leftovers"] and not any(summary["leftovers"].values())
    report = load_report(summary)
    warnings = report["context"]["warnings"]
    assert any(always_on in w and "evaluated first" in w for w in warnings)
    sessions = report["context"]["mirroring"]["sessions"]
    assert {(s["eni"], s["session_number"]) for s in sessions} == {(inst["enis"][0], 2), (inst["enis"][1], 1)}
    # the pre-existing session is not ours: teardown left it alone
    ec2 = cloud.client("ec2")
    assert ec2.describe_traffic_mirror_sessions(TrafficMirrorSessionIds=[always_on])["TrafficMirrorSessions"]
    ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=always_on)


def test_locked_instance_ends_as_already_under_investigation(cloud, tmp_path):
    inst = make_instance(cloud, cidr="10.34")
    ddb = cloud.client("dynamodb")
    table = cloud.resource("LockTable")
    lock = {"instance_id": {"S": lock_key(ACCOUNT_ID, inst["instance_id"])}, "investigation_id": {"S": "other-investigation"}}
    ddb.put_item(TableName=table, Item=lock)
    summary = run(cloud, manual(inst["instance_id"]), tmp_path)
    assert (summary["status"], summary["outcome"]) == ("SUCCEEDED", "already_under_investigation")
    assert ddb.get_item(TableName=table, Key={"instance_id": lock["instance_id"]})["Item"] == lock
    ddb.delete_item(TableName=table, Key={"instance_id": lock["instance_id"]})
    assert created_anything(cloud) == NOTHING


def test_sensor_failure_ends_in_teardown_with_the_original_error(cloud, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    # The sensor's engines fail on a capture that is not one: the agent answers with a failure.
    broken = tmp_path / "broken.pcap"
    broken.write_bytes(b"this is not a capture file at all" * 10)
    inst = make_instance(cloud, cidr="10.35")
    summary = run(cloud, manual(inst["instance_id"]), tmp_path, pcap=broken)
    assert summary["status"] == "FAILED"
    assert summary["error"].startswith("Sensor"), summary
    assert not any(summary["leftovers"].values()), summary["leftovers"]
    assert created_anything(cloud) == NOTHING
    # Teardown counted the investigation as failed (EMF metrics in the function's log)
    documents = [d for d in emf_metrics(capsys.readouterr().err) if d["investigation_id"] == summary["investigation_id"]]
    outcome = next(d for d in documents if "Investigations" in d)
    assert (outcome["outcome"], metric_value(outcome, "Investigations"), metric_value(outcome, "Leftovers")) == (
        "failed", 1, 0)


def test_sensor_that_never_answers_times_out_into_teardown(cloud, tmp_path, monkeypatch):
    # A sensor that does not boot: no agent starts, WaitForSensor times out (900 s, scaled).
    from tapcase.localcloud import sensors

    monkeypatch.setattr(sensors, "_start",
                        lambda instance, region, role_arn=None: (_ for _ in ()).throw(RuntimeError("no boot")))
    inst = make_instance(cloud, cidr="10.36")
    summary = run(cloud, manual(inst["instance_id"]), tmp_path)
    assert (summary["status"], summary["error"]) == ("FAILED", "States.Timeout")
    assert not any(summary["leftovers"].values()), summary["leftovers"]
    assert created_anything(cloud) == NOTHING


def test_mock_config_file_collect_failure_tears_down(cloud, tmp_path, monkeypatch):
    # Step Functions Local's MockConfigFile format, on the real investigation state machine.
    machine = cloud.stack.outputs["InvestigationStateMachineArn"]
    name = machine.rsplit(":", 1)[-1]
    config = {
        "StateMachines": {name: {"TestCases": {"CollectFails": {"CollectEvidence": "UploadFailed"}}}},
        "MockedResponses": {
            "UploadFailed": {"0": {"Throw": {"Error": "SensorUploadFailed", "Cause": "disk full"}}}
        },
    }
    path = tmp_path / "MockConfigFile.json"
    path.write_text(json.dumps(config))
    monkeypatch.setenv("SFN_MOCK_CONFIG", str(path))
    inst = make_instance(cloud, cidr="10.37")
    sfn = cloud.client("stepfunctions")
    ex = sfn.start_execution(stateMachineArn=f"{machine}#CollectFails", name="mock-collect-fails",
                             input=json.dumps(manual(inst["instance_id"])))["executionArn"]
    from tests.conftest import wait_for_execution

    desc = wait_for_execution(sfn, ex, timeout=60)
    assert (desc["status"], desc["error"], desc["cause"]) == ("FAILED", "SensorUploadFailed", "disk full")
    states = [e["stateEnteredEventDetails"]["name"] for e in sfn.get_execution_history(executionArn=ex)["events"]
              if "stateEnteredEventDetails" in e]
    assert states.index("CollectEvidence") < states.index("Teardown")
    assert created_anything(cloud) == NOTHING


# More filter rules than fit one filter: AWS allows 10 rules per traffic mirror filter (Traffic
# Mirroring quotas) and tapcase adds 2 to keep the sensor's own traffic out; Plan refuses before
# anything exists, rather than failing at the 9th CreateTrafficMirrorFilterRule.
TOO_MANY_RULES = {"instance_id": "i-0123456789abcdef0", "filter_rules": [{"direction": "egress"}] * 9}


@pytest.mark.parametrize("bad", [{"instance_id": "i-nope"}, {"instance_id": "i-0123456789abcdef0", "x": 1},
                                 TOO_MANY_RULES])
def test_invalid_input_is_refused_before_anything(cloud, tmp_path, bad):
    sfn = cloud.client("stepfunctions")
    ex = sfn.start_execution(stateMachineArn=cloud.stack.outputs["InvestigationStateMachineArn"],
                             name=f"bad-{len(json.dumps(bad))}", input=json.dumps(bad))["executionArn"]
    from tests.conftest import wait_for_execution

    desc = wait_for_execution(sfn, ex)
    assert (desc["status"], desc["error"]) == ("FAILED", "InvalidRequest")
    if bad is TOO_MANY_RULES:
        assert "9 rules requested, at most 8 fit" in desc["cause"]
    assert created_anything(cloud) == NOTHING


def _tags(pairs) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in pairs or []}


def test_tags_mark_every_created_resource(cloud):
    """Every resource the execution created carries the investigation's tag (teardown, the janitor
    and the leftover counts find resources by it): inspected one by one, by the ids the execution
    recorded in its history, while it captures -- security group, sensor instance with its volumes
    and network interface, control queue, mirror filter, target and session. Then StopExecution:
    the janitor's rule tears it all down."""
    import time

    from tapcase_workflow.logic.recorded import recorded
    from tests.conftest import wait_for_execution
    from tests.e2e.conftest import wait_for_no_leftovers

    inst = make_instance(cloud, cidr="10.38")
    sfn, ec2, sqs = cloud.client("stepfunctions"), cloud.client("ec2"), cloud.client("sqs")
    name = "tags-on-everything"
    arn = sfn.start_execution(stateMachineArn=cloud.stack.outputs["InvestigationStateMachineArn"], name=name,
                              input=json.dumps(manual(inst["instance_id"], duration_seconds=3600)))["executionArn"]
    give_up = time.monotonic() + 60
    while True:
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        if any(e.get("stateEnteredEventDetails", {}).get("name") == "Capture" for e in events):
            break
        assert time.monotonic() < give_up and sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
        time.sleep(0.05)
    ids = recorded(events).ids
    assert set(ids) == {"security_groups", "sensor_instances", "control_queues", "mirror_filters",
                        "mirror_targets", "mirror_sessions"}, ids
    tagged: dict[str, dict[str, str]] = {}
    for sg in ec2.describe_security_groups(GroupIds=ids["security_groups"])["SecurityGroups"]:
        tagged[sg["GroupId"]] = _tags(sg.get("Tags"))
    sensors = [i for r in ec2.describe_instances(InstanceIds=ids["sensor_instances"])["Reservations"]
               for i in r["Instances"]]
    for sensor in sensors:
        tagged[sensor["InstanceId"]] = _tags(sensor.get("Tags"))
        enis = [n["NetworkInterfaceId"] for n in sensor["NetworkInterfaces"]]
        for eni in ec2.describe_network_interfaces(NetworkInterfaceIds=enis)["NetworkInterfaces"]:
            tagged[eni["NetworkInterfaceId"]] = _tags(eni.get("TagSet"))
        volumes = [m["Ebs"]["VolumeId"] for m in sensor.get("BlockDeviceMappings", [])]
        for volume in ec2.describe_volumes(VolumeIds=volumes)["Volumes"] if volumes else []:
            tagged[volume["VolumeId"]] = _tags(volume.get("Tags"))
    for url in ids["control_queues"]:
        tagged[url] = sqs.list_queue_tags(QueueUrl=url).get("Tags") or {}
    for f in ec2.describe_traffic_mirror_filters(TrafficMirrorFilterIds=ids["mirror_filters"])["TrafficMirrorFilters"]:
        tagged[f["TrafficMirrorFilterId"]] = _tags(f.get("Tags"))
    for t in ec2.describe_traffic_mirror_targets(TrafficMirrorTargetIds=ids["mirror_targets"])["TrafficMirrorTargets"]:
        tagged[t["TrafficMirrorTargetId"]] = _tags(t.get("Tags"))
    for s in ec2.describe_traffic_mirror_sessions(
            TrafficMirrorSessionIds=ids["mirror_sessions"])["TrafficMirrorSessions"]:
        tagged[s["TrafficMirrorSessionId"]] = _tags(s.get("Tags"))
    recorded_ids = {i for kind in ids.values() for i in kind}
    assert recorded_ids <= set(tagged), recorded_ids - set(tagged)  # each one was found and inspected
    assert any(k.startswith("eni-") for k in tagged) and any(k.startswith("vol-") for k in tagged)
    untagged = {rid: tags for rid, tags in tagged.items() if tags.get(TAG_KEY) != name}
    assert not untagged, untagged
    assert all(tagged[i].get(ROLE) == ROLE_SENSOR for i in ids["sensor_instances"])

    sfn.stop_execution(executionArn=arn, error="Test.Stopped", cause="tags inspected")
    assert wait_for_execution(sfn, arn, timeout=30)["status"] == "ABORTED"
    left = wait_for_no_leftovers(cloud, name, inst["instance_id"], timeout=60)
    assert not any(left.values()), left


def test_a_tampered_log_file_fails_the_investigation_naming_it(cloud, tmp_path, monkeypatch):
    """Someone with write access to the bucket replaces a log file after the sensor uploaded it
    (a new version of the object): VerifyEvidence reads every object back before analysis, the
    sha256 differs from the manifest's, and the investigation fails with EvidenceTampered naming
    the file -- then tears down as every failure does."""
    from tapcase_sensor.agent import Agent

    tampered: list[str] = []
    original = Agent._upload

    def upload_then_tamper(self, s3_upload, bucket, capture, manifest, curated_files):
        original(self, s3_upload, bucket, capture, manifest, curated_files)
        key = [*manifest["files"], *manifest["curated"]["files"]][0]["key"]
        s3 = cloud.client("s3")
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        s3.put_object(Bucket=bucket, Key=key, Body=body + b'{"event_type":"forged"}\n')
        tampered.append(key)

    monkeypatch.setattr(Agent, "_upload", upload_then_tamper)
    # the real AWS mirroring capture and its real finding (tests/e2e/test_investigation.py)
    summary = run(cloud, adapted_real_finding(), tmp_path, pcap=shared("suricata-verify", "vxlan-decoder-03",
                                                                        "vxlan.pcap"))
    assert tampered
    assert (summary["status"], summary["error"]) == ("FAILED", "EvidenceTampered"), summary
    assert tampered[0] in summary["cause"] and "the manifest says" in summary["cause"]
    assert not any(summary["leftovers"].values())


def test_a_truncated_capture_is_analysed_up_to_the_damage_and_says_so(cloud, tmp_path):
    # As forensic tools read a capture cut short: the complete packets before the damage are
    # mirrored and analysed; the manifest and the report say the capture was truncated, and where.
    data = shared("suricata-verify", "vxlan-decoder-03", "vxlan.pcap").read_bytes()
    truncated = tmp_path / "truncated.pcap"
    truncated.write_bytes(data[: len(data) // 2 + 7])
    event = adapted_real_finding()
    event["detail"]["id"] = "truncated-" + event["detail"]["id"][10:]  # not the finding investigated above
    summary = run(cloud, event, tmp_path, pcap=truncated)
    assert summary["status"] == "SUCCEEDED", summary
    report = load_report(summary)
    (warning,) = [w for w in report["context"]["warnings"] if "truncated" in w]
    assert "record 51" in warning and "only the 50 packets before the damage" in warning  # where it was cut
    assert 0 < report["context"]["packets"]["vxlan"] < 100  # fewer than the whole capture's 100
    assert not any(summary["leftovers"].values())


def test_an_expired_lock_is_free(cloud, tmp_path):
    """DynamoDB's TTL deletes expired items only eventually ("typically within a few days"), and
    until then they answer reads and conditions: the Lock state's condition treats a lock whose
    expires_at passed as free, so a crashed investigation's lock does not block the instance."""
    import time

    inst = make_instance(cloud, cidr="10.40")
    machine = cloud.stack.outputs["InvestigationStateMachineArn"]
    cloud.client("dynamodb").put_item(TableName=cloud.resource("LockTable"), Item={
        "instance_id": {"S": lock_key(ACCOUNT_ID, inst["instance_id"])}, "investigation_id": {"S": "crashed-long-ago"},
        "execution_arn": {"S": machine.replace(":stateMachine:", ":execution:") + ":crashed-long-ago"},
        "expires_at": {"N": str(int(time.time()) - 60)}})
    summary = run(cloud, manual(inst["instance_id"]), tmp_path)
    assert summary["status"] == "SUCCEEDED" and summary["outcome"] != "already_under_investigation", summary
    assert not any(summary["leftovers"].values())


def test_a_live_lock_of_another_execution_holds(cloud, tmp_path):
    import time

    inst = make_instance(cloud, cidr="10.41")
    machine = cloud.stack.outputs["InvestigationStateMachineArn"]
    lock = {"instance_id": {"S": lock_key(ACCOUNT_ID, inst["instance_id"])}, "investigation_id": {"S": "still-running"},
            "execution_arn": {"S": machine.replace(":stateMachine:", ":execution:") + ":still-running"},
            "expires_at": {"N": str(int(time.time()) + 3600)}}
    ddb = cloud.client("dynamodb")
    ddb.put_item(TableName=cloud.resource("LockTable"), Item=lock)
    summary = run(cloud, manual(inst["instance_id"]), tmp_path)
    assert summary["outcome"] == "already_under_investigation", summary
    held = ddb.get_item(TableName=cloud.resource("LockTable"), Key={"instance_id": lock["instance_id"]})["Item"]
    assert held == lock  # the other execution's lock is untouched
    ddb.delete_item(TableName=cloud.resource("LockTable"), Key={"instance_id": lock["instance_id"]})


def test_a_forgotten_sensor_terminates_itself_at_its_deadline(cloud, monkeypatch):
    """Nobody tears down (the execution is stopped and the janitor's rule does nothing): the sensor
    powers itself off at the deadline Plan gave it; its launch template's shutdown behaviour is
    terminate (EC2 user guide, "Change instance initiated shutdown behavior"), so the instance ends
    terminated and its agent stops. The rest is then left to the janitor."""
    import time

    from tapcase.localcloud import sensors
    from tapcase_contract.tags import ROLE
    from tapcase_workflow.handlers import janitor as janitor_handler
    from tapcase_workflow.sweep import after_execution
    from tests.conftest import wait_for_execution
    from tests.e2e.conftest import investigation_leftovers, wait_for_no_leftovers

    monkeypatch.setattr(janitor_handler, "after_execution", lambda **kwargs: janitor_handler.JanitorOutput(
        dry_run=True, investigations={}, stale_locks=[], skipped=["disabled by the test"]))
    inst = make_instance(cloud, cidr="10.42")
    sfn, ec2 = cloud.client("stepfunctions"), cloud.client("ec2")
    name = "forgotten-sensor"
    arn = sfn.start_execution(stateMachineArn=cloud.stack.outputs["InvestigationStateMachineArn"], name=name,
                              input=json.dumps(manual(inst["instance_id"], duration_seconds=60)))["executionArn"]
    give_up = time.monotonic() + 60
    while not any(e.get("stateEnteredEventDetails", {}).get("name") == "Capture"
                  for e in sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]):
        assert time.monotonic() < give_up
        time.sleep(0.05)
    sfn.stop_execution(executionArn=arn, error="Test.Forgotten", cause="no teardown")
    assert wait_for_execution(sfn, arn, timeout=30)["status"] == "ABORTED"
    filters = [{"Name": f"tag:{TAG_KEY}", "Values": [name]}, {"Name": f"tag:{ROLE}", "Values": [ROLE_SENSOR]}]
    [sensor] = [i for r in ec2.describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]
    give_up = time.monotonic() + 90
    while True:
        state = ec2.describe_instances(InstanceIds=[sensor["InstanceId"]])["Reservations"][0]["Instances"][0]["State"]
        if state["Name"] in ("shutting-down", "terminated"):
            break
        assert time.monotonic() < give_up, f"the sensor is still {state['Name']} past its deadline"
        time.sleep(0.2)
    give_up = time.monotonic() + 30
    while sensor["InstanceId"] in sensors.running():
        assert time.monotonic() < give_up, "the sensor's agent still runs on a terminated instance"
        time.sleep(0.1)
    left = investigation_leftovers(cloud, name, inst["instance_id"])
    assert left["mirror_filters"] and left["security_groups"] and left["control_queues"], left  # nobody tore down
    # what the stopped execution left besides the sensor: the janitor's teardown, as the rule would
    # have the janitor function run it, with its role (the member role trusts the stack's roles only)
    from tapcase.localcloud import service_sessions, thread_env

    janitor_role = cloud.client("lambda").get_function(
        FunctionName=cloud.resource("JanitorFunction"))["Configuration"]["Role"]
    with thread_env.overlay(service_sessions.session_of(janitor_role, "janitor").environment()):
        after_execution(lock_table=cloud.resource("LockTable"), execution_arn=arn, wait_seconds=30)
    left = wait_for_no_leftovers(cloud, name, inst["instance_id"], timeout=30)
    assert not any(left.values()), left
