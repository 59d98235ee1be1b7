"""EC2 sends "EC2 Instance State-change Notification" (source ``aws.ec2``) for every state an
instance enters, shaped as the EC2 user guide's example ("State change events for Amazon EC2
instances": ``resources`` the instance ARN, ``detail`` ``instance-id`` and ``state``; launch and
start go pending -> running, stop stopping -> stopped, terminate shutting-down -> terminated), and
"Tag Change on Resource" (source ``aws.tag``) for tag changes on an instance (Tag Editor user guide,
"Monitor tag changes with serverless workflows and Amazon EventBridge": ``changed-tag-keys``,
``tags`` now, ``service`` ec2, ``resource-type`` instance). A ``DISABLED`` rule matches no event
(PutRule API reference, ``State``: "EventBridge does not match any events against the rule")."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tapcase.localcloud.cloud import LocalCloud


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=None, time_scale=0) as local_cloud:
        yield local_cloud


def _queue_rule(cloud: LocalCloud, pattern: dict[str, Any], state: str = "ENABLED") -> str:
    sqs, events = cloud.client("sqs"), cloud.client("events")
    name = f"ec2-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps(pattern), State=state)
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    return str(url)


def _events(cloud: LocalCloud, url: str, instance_id: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    sqs, found = cloud.client("sqs"), []
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up and len(found) < count:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []):
            event = json.loads(message["Body"])
            if instance_id in json.dumps(event["resources"]):
                found.append(event)
        time.sleep(0.05)
    return found


def _account(cloud: LocalCloud) -> str:
    return str(cloud.client("sts").get_caller_identity()["Account"])


def _launch(cloud: LocalCloud, **tags: str) -> str:
    ec2 = cloud.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}] if tags else []
    return str(ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m5.large",
                                 TagSpecifications=spec)["Instances"][0]["InstanceId"])


def test_each_state_an_instance_enters_is_sent_in_order(cloud):
    url = _queue_rule(cloud, {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]})
    ec2 = cloud.client("ec2")
    iid = _launch(cloud, team="payments")
    ec2.stop_instances(InstanceIds=[iid])
    ec2.start_instances(InstanceIds=[iid])
    ec2.terminate_instances(InstanceIds=[iid])
    events = _events(cloud, url, iid, 8)
    order = ["pending", "running", "stopping", "stopped", "pending", "running", "shutting-down", "terminated"]
    assert [e["detail"]["state"] for e in events] == order
    first = events[0]
    assert first["source"] == "aws.ec2" and first["detail-type"] == "EC2 Instance State-change Notification"
    assert first["resources"] == [f"arn:aws:ec2:{cloud.region}:{_account(cloud)}:instance/{iid}"]
    assert first["detail"] == {"instance-id": iid, "state": "pending"} and first["region"] == cloud.region


def test_stopping_a_stopped_instance_sends_nothing_new(cloud):
    url = _queue_rule(cloud, {"source": ["aws.ec2"], "detail": {"state": ["stopping", "stopped"]}})
    ec2 = cloud.client("ec2")
    iid = _launch(cloud)
    ec2.stop_instances(InstanceIds=[iid])
    ec2.stop_instances(InstanceIds=[iid])
    assert [e["detail"]["state"] for e in _events(cloud, url, iid, 4, timeout=1.5)] == ["stopping", "stopped"]


def test_a_tag_change_on_an_instance_is_sent_with_the_tags_now(cloud):
    url = _queue_rule(cloud, {"source": ["aws.tag"], "detail-type": ["Tag Change on Resource"],
                              "detail": {"service": ["ec2"], "resource-type": ["instance"]}})
    ec2 = cloud.client("ec2")
    iid = _launch(cloud, team="payments", keep="same")
    ec2.create_tags(Resources=[iid], Tags=[{"Key": "coverage", "Value": "on"}, {"Key": "keep", "Value": "same"}])
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "team"}])
    added, removed = _events(cloud, url, iid, 2)
    assert added["detail"]["changed-tag-keys"] == ["coverage"]
    assert added["detail"]["tags"] == {"team": "payments", "keep": "same", "coverage": "on"}
    assert removed["detail"]["changed-tag-keys"] == ["team"] and "team" not in removed["detail"]["tags"]
    assert added["resources"] == [f"arn:aws:ec2:{cloud.region}:{_account(cloud)}:instance/{iid}"]


def test_a_disabled_rule_matches_no_event(cloud):
    url = _queue_rule(cloud, {"source": ["aws.ec2"]}, state="DISABLED")
    enabled = _queue_rule(cloud, {"source": ["aws.ec2"]})
    iid = _launch(cloud)
    assert len(_events(cloud, enabled, iid, 2)) == 2
    assert _events(cloud, url, iid, 1, timeout=0.5) == []
