"""``tapcase janitor`` against a local cloud: orphans planted as a crashed or stopped investigation
would leave them (tagged sensor instance, security group, mirror filter, target and session,
control queue, lock) are listed by investigation id on ``--dry-run`` and nothing is removed; the
real run removes them in the safe order and releases the stale lock. What is not tapcase's
(untagged, or tagged with a value that is not an investigation id) is never touched."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from typer.testing import CliRunner

from tapcase.cli import app
from tapcase.localcloud.cloud import ACCOUNT_ID
from tapcase_contract import tags
from tapcase_workflow.logic.accounts import lock_key
from tests.e2e.conftest import investigation_leftovers, make_instance

ORPHAN = "orphan-janitor-1"


def _tag_list(extra: dict[str, str] | None = None) -> list[dict[str, str]]:
    values = {tags.INVESTIGATION_ID: ORPHAN, tags.STARTED_AT: str(int(time.time()) - 7200), **(extra or {})}
    return [{"Key": k, "Value": v} for k, v in values.items()]


def _spec(kind: str, extra: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": _tag_list(extra)}]


@pytest.fixture(scope="module")
def planted(cloud) -> dict[str, Any]:
    """An investigation's resources with no execution running it (as StopExecution before the rule
    fired, or a Teardown that never ran, leaves them), plus resources that are not tapcase's."""
    suspect = make_instance(cloud, cidr="10.61")
    ec2, sqs = cloud.client("ec2"), cloud.client("sqs")
    sg = ec2.create_security_group(GroupName=f"tapcase-{ORPHAN}", Description="planted", VpcId=suspect["vpc"],
                                   TagSpecifications=_spec("security-group"))["GroupId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    sensor = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=suspect["subnet"], SecurityGroupIds=[sg],
                               TagSpecifications=_spec("instance", {tags.ROLE: tags.ROLE_SENSOR,
                                                                    tags.INSTANCE_ID: suspect["instance_id"]})
                               )["Instances"][0]
    sensor_eni = sensor["NetworkInterfaces"][0]["NetworkInterfaceId"]
    flt = ec2.create_traffic_mirror_filter(TagSpecifications=_spec("traffic-mirror-filter"))
    filter_id = flt["TrafficMirrorFilter"]["TrafficMirrorFilterId"]
    target = ec2.create_traffic_mirror_target(NetworkInterfaceId=sensor_eni,
                                              TagSpecifications=_spec("traffic-mirror-target"))
    target_id = target["TrafficMirrorTarget"]["TrafficMirrorTargetId"]
    ec2.create_traffic_mirror_session(NetworkInterfaceId=suspect["enis"][0], TrafficMirrorTargetId=target_id,
                                      TrafficMirrorFilterId=filter_id, SessionNumber=1, VirtualNetworkId=4242,
                                      TagSpecifications=_spec("traffic-mirror-session"))
    sqs.create_queue(QueueName=f"tapcase-{ORPHAN}-control", tags={tags.INVESTIGATION_ID: ORPHAN})
    cloud.client("dynamodb").put_item(TableName=cloud.resource("LockTable"), Item={
        "instance_id": {"S": lock_key(ACCOUNT_ID, suspect["instance_id"])}, "investigation_id": {"S": ORPHAN},
        "execution_arn": {"S": cloud.stack.outputs["InvestigationStateMachineArn"].replace(
            ":stateMachine:", ":execution:") + ":gone"},
        "expires_at": {"N": str(int(time.time()) + 3600)}})
    # not tapcase's: an untagged group, and one whose tag is not an investigation id
    foreign = [ec2.create_security_group(GroupName="someone-elses", Description="x", VpcId=suspect["vpc"])["GroupId"],
               ec2.create_security_group(GroupName="crafted", Description="x", VpcId=suspect["vpc"], TagSpecifications=[
                   {"ResourceType": "security-group",
                    "Tags": [{"Key": tags.INVESTIGATION_ID, "Value": "x'; DROP TABLE locks;--"}]}])["GroupId"]]
    return {"instance_id": suspect["instance_id"], "foreign": foreign}


def _janitor(cloud, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["janitor", "--endpoint", cloud.endpoint, "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_dry_run_lists_orphans_by_investigation_and_removes_nothing(cloud, planted):
    before = investigation_leftovers(cloud, ORPHAN, planted["instance_id"])
    assert {k: v for k, v in before.items() if k != "sensor_agents"} == {
        "mirror_sessions": 1, "mirror_targets": 1, "mirror_filters": 1, "sensor_instances": 1,
        "security_groups": 1, "control_queues": 1, "locks": 1}
    listed = _janitor(cloud, "--dry-run", "--older-than", "1h")
    assert listed["dry_run"] is True
    assert listed["investigations"] == {ORPHAN: {
        "mirror_sessions": 1, "mirror_targets": 1, "mirror_filters": 1, "sensor_instances": 1,
        "security_groups": 1, "control_queues": 1}}
    assert listed["stale_locks"] == [f"{ACCOUNT_ID}/{planted['instance_id']} ({ORPHAN})"]
    assert any("DROP TABLE" in note for note in listed["skipped"])  # reported, never used
    assert investigation_leftovers(cloud, ORPHAN, planted["instance_id"]) == before


def test_older_than_leaves_younger_runs_alone(cloud, planted):
    listed = _janitor(cloud, "--dry-run", "--older-than", "3h")
    assert listed["investigations"] == {}


def test_bad_duration_is_refused(cloud):
    result = CliRunner().invoke(app, ["janitor", "--endpoint", cloud.endpoint, "--older-than", "soon"])
    assert result.exit_code == 2 and "--older-than" in result.output


def test_janitor_removes_orphans_and_releases_the_stale_lock(cloud, planted):
    removed = _janitor(cloud, "--older-than", "1h")
    assert removed["dry_run"] is False
    assert set(removed["investigations"]) == {ORPHAN}
    assert removed["stale_locks"] == [f"{ACCOUNT_ID}/{planted['instance_id']} ({ORPHAN})"]
    left = investigation_leftovers(cloud, ORPHAN, planted["instance_id"])
    assert not any(left.values()), left
    groups = cloud.client("ec2").describe_security_groups(GroupIds=planted["foreign"])["SecurityGroups"]
    assert len(groups) == 2  # not tapcase's: untouched
    assert _janitor(cloud, "--older-than", "1h")["investigations"] == {}  # nothing more to do
