"""A sensor fleet target Plan cannot use is refused before anything is created (issue 14 item 2).

The stack's FleetTargetId names a traffic mirror target on an ENI (one sensor's, not a fleet
behind a load balancer), then a target that was deleted: each investigation ends refused by Plan,
and nothing the workflow creates exists (no security group, sensor, filter, session, queue, lock).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tapcase.investigate import investigate_once
from tapcase.localcloud import LocalCloud
from tests.e2e.conftest import TIME_SCALE, created_anything
from tests.e2e.test_fleet import deploy


@pytest.fixture(scope="module")
def refusing_cloud():
    with LocalCloud(time_scale=TIME_SCALE, template=None) as cloud:
        ec2 = cloud.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]
        eni = ec2.create_network_interface(SubnetId=subnet["SubnetId"])["NetworkInterface"]["NetworkInterfaceId"]
        eni_target = ec2.create_traffic_mirror_target(NetworkInterfaceId=eni)["TrafficMirrorTarget"]
        queue = cloud.client("sqs").create_queue(QueueName="sensor-fleet-control")["QueueUrl"]
        deploy(cloud, FleetTargetId=eni_target["TrafficMirrorTargetId"], FleetControlQueueUrl=queue)
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        suspect = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m5.large",
                                    SubnetId=subnet["SubnetId"])["Instances"][0]["InstanceId"]
        yield cloud, eni_target["TrafficMirrorTargetId"], suspect


def refusal(cloud: LocalCloud, instance_id: str, tmp_path: Path) -> dict[str, Any]:
    before = created_anything(cloud)
    summary = investigate_once(cloud.endpoint, {"instance_id": instance_id, "duration_seconds": 120}, out=tmp_path,
                               timeout=120)
    assert summary["status"] == "FAILED", summary
    assert created_anything(cloud) == before == {k: 0 for k in before}
    return summary


def test_a_fleet_target_on_an_eni_is_refused_creating_nothing(refusing_cloud, tmp_path: Path) -> None:
    """DescribeTrafficMirrorTargets Type network-interface: one sensor's ENI, not a fleet behind an
    NLB or a GWLB endpoint; Plan refuses before anything is created."""
    cloud, target_id, suspect = refusing_cloud
    summary = refusal(cloud, suspect, tmp_path)
    assert "UnsupportedFleetTarget" in json.dumps(summary) and target_id in json.dumps(summary)


def test_a_missing_fleet_target_is_refused_creating_nothing(refusing_cloud, tmp_path: Path) -> None:
    """DescribeTrafficMirrorTargets answers InvalidTrafficMirrorTargetId.NotFound for a deleted
    target: Plan refuses (FleetTargetNotFound) before anything is created."""
    cloud, target_id, suspect = refusing_cloud
    cloud.client("ec2").delete_traffic_mirror_target(TrafficMirrorTargetId=target_id)
    summary = refusal(cloud, suspect, tmp_path)
    assert "FleetTargetNotFound" in json.dumps(summary)
