"""End-to-end: the real state machine, functions, local sensors and local Athena."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tapcase.investigate import Clients, investigate_once
from tapcase_contract.tags import INVESTIGATION_ID as TAG_KEY

# 600 s capture windows take 3 s; the 900 s sensor timeout 4.5 s.
TIME_SCALE = 0.005


@pytest.fixture(scope="module")
def cloud():
    from tapcase.localcloud import LocalCloud

    with LocalCloud(time_scale=TIME_SCALE) as local:
        yield local


def make_instance(cloud, *, instance_type="m5.large", cidr="10.20", enis=1, account=None) -> dict[str, Any]:
    """A running instance (in ``account``: another simulated account than the stack's)."""
    ec2 = cloud.client("ec2", account=account)
    vpc = ec2.create_vpc(CidrBlock=f"{cidr}.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr}.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    inst = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType=instance_type, SubnetId=subnet)
    instance_id = inst["Instances"][0]["InstanceId"]
    for index in range(1, enis):
        eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
        ec2.attach_network_interface(NetworkInterfaceId=eni, InstanceId=instance_id, DeviceIndex=index)
    desc = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return {"instance_id": instance_id, "vpc": vpc, "subnet": subnet,
            "enis": [n["NetworkInterfaceId"] for n in desc["NetworkInterfaces"]]}


def run(cloud, event: dict[str, Any], tmp_path, pcap=None, **kwargs) -> dict[str, Any]:
    from tapcase.localcloud import sensors

    # each run says what its sensor sees (None: no traffic), and where its window starts in the capture
    sensors.set_capture(pcap, kwargs.pop("rules", None), kwargs.pop("window_start", None))
    return investigate_once(cloud.endpoint, event, out=tmp_path, timeout=120, **kwargs)


def _queue_tags(sqs, url: str) -> dict[str, str]:
    """A queue's tags; none for a queue deleted since it was listed (it is no leftover)."""
    try:
        return sqs.list_queue_tags(QueueUrl=url).get("Tags") or {}
    except sqs.exceptions.QueueDoesNotExist:
        return {}


def created_anything(cloud) -> dict[str, int]:
    """Everything the workflow could create, whatever its tags (for the refusal tests)."""
    c = Clients(cloud.endpoint)
    ec2 = cloud.client("ec2")
    tagged = [{"Name": "tag-key", "Values": [TAG_KEY]}]
    return {
        "security_groups": len(ec2.describe_security_groups(Filters=tagged)["SecurityGroups"]),
        "instances": sum(len(r["Instances"]) for r in ec2.describe_instances(
            Filters=[*tagged, {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
        )["Reservations"]),
        "filters": len(ec2.describe_traffic_mirror_filters(Filters=tagged)["TrafficMirrorFilters"]),
        "targets": len(ec2.describe_traffic_mirror_targets(Filters=tagged)["TrafficMirrorTargets"]),
        "sessions": len(ec2.describe_traffic_mirror_sessions(Filters=tagged)["TrafficMirrorSessions"]),
        "queues": len(cloud.client("sqs").list_queues(QueueNamePrefix="tapcase-").get("QueueUrls", [])),
        "locks": c.ddb.scan(TableName=cloud.resource("LockTable"))["Count"],
    }


def delivery_of(pcap) -> Any:
    """What the mirror data plane delivered to the sensor that read ``pcap`` (its last run)."""
    from pathlib import Path

    from tapcase.localcloud import mirror_dataplane

    found = [d for d in mirror_dataplane.deliveries().values() if d.capture == str(Path(pcap).resolve())]
    assert found, f"no sensor read {pcap}"
    return found[-1]


def load_report(summary: dict[str, Any]) -> dict[str, Any]:
    with open(summary["report"]["local_path"]) as fh:
        return json.load(fh)


def adapted_real_finding() -> dict[str, Any]:
    """A real GuardDuty finding (port probe) adapted to the real AWS mirroring capture of
    ../shared: the mirrored ENI is 172.31.0.238, probed over SSH by 18.196.145.224."""
    import copy

    from tests.conftest import shared

    event = copy.deepcopy(json.loads(shared("guardduty", "hasanakgoz_security_monkey",
                                            "recon_ec2_portprobeunprotectedport_eventbridge.json").read_text()))
    # moved into the local cloud's account, as its instance is (findings of other accounts are refused)
    event["account"] = event["detail"]["accountId"] = "123456789012"
    details = event["detail"]["resource"]["instanceDetails"]
    details["instanceType"] = "m5.large"
    details["availabilityZone"] = "us-east-1b"
    details["networkInterfaces"][0].update({
        "networkInterfaceId": "eni-0aa0bb0cc0dd0ee0f", "privateIpAddress": "172.31.0.238",
        "privateIpAddresses": [{"privateIpAddress": "172.31.0.238"}],
        "subnetId": "subnet-0aa0bb0cc0dd0ee01", "vpcId": "vpc-0aa0bb0cc0dd0ee02",
    })
    action = event["detail"]["service"]["action"]["portProbeAction"]
    probe = action["portProbeDetails"][0]
    probe["remoteIpDetails"]["ipAddressV4"] = "18.196.145.224"
    action["portProbeDetails"] = [probe]
    return event


def emf_metrics(printed: str) -> list[dict[str, Any]]:
    """The CloudWatch embedded metric format (EMF) documents the functions printed (one per line
    with an ``_aws.CloudWatchMetrics`` directive; what the local Lambda runtime sends to stderr,
    as AWS sends a function's output to its log)."""
    found = []
    for line in printed.splitlines():
        line = line.strip()
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        if document.get("_aws", {}).get("CloudWatchMetrics"):
            found.append(document)
    return found


def metric_value(document: dict[str, Any], name: str) -> float:
    value = document[name]
    return float(value[0] if isinstance(value, list) else value)


def investigation_leftovers(cloud, investigation_id: str, instance_id: str, account=None) -> dict[str, int]:
    """What one investigation left behind, counted by its own tag and lock (other investigations
    running at the same time on the same cloud are not counted): mirror sessions, targets,
    filters, sensor instances not terminated, security groups, control queues, the lock on the
    instance, and local sensor agents still running for its sensors."""
    from tapcase.localcloud import sensors
    from tapcase_contract.tags import ROLE

    ec2 = cloud.client("ec2", account=account)  # the suspect's account; the lock is the stack's
    mine = [{"Name": f"tag:{TAG_KEY}", "Values": [investigation_id]}]
    reservations = ec2.describe_instances(Filters=[*mine, {"Name": f"tag:{ROLE}", "Values": ["sensor"]}])["Reservations"]
    sensor_ids = [i["InstanceId"] for r in reservations for i in r["Instances"]]
    live = [i for r in reservations for i in r["Instances"]
            if i["State"]["Name"] in ("pending", "running", "stopping", "stopped", "shutting-down")]
    sqs = cloud.client("sqs", account=account)
    queues = [u for u in sqs.list_queues(QueueNamePrefix=f"tapcase-{investigation_id}-").get("QueueUrls", [])
              if _queue_tags(sqs, u).get(TAG_KEY) == investigation_id]
    from tapcase.localcloud.cloud import ACCOUNT_ID
    from tapcase_workflow.logic.accounts import lock_key

    lock = cloud.client("dynamodb").get_item(TableName=cloud.resource("LockTable"), Key={
        "instance_id": {"S": lock_key(account or ACCOUNT_ID, instance_id)}}).get("Item")
    return {
        "mirror_sessions": len(ec2.describe_traffic_mirror_sessions(Filters=mine)["TrafficMirrorSessions"]),
        "mirror_targets": len(ec2.describe_traffic_mirror_targets(Filters=mine)["TrafficMirrorTargets"]),
        "mirror_filters": len(ec2.describe_traffic_mirror_filters(Filters=mine)["TrafficMirrorFilters"]),
        "sensor_instances": len(live),
        "security_groups": len(ec2.describe_security_groups(Filters=mine)["SecurityGroups"]),
        "control_queues": len(queues),
        "locks": int(lock is not None),
        "sensor_agents": len(set(sensor_ids) & set(sensors.running())),
    }


def wait_for_no_leftovers(cloud, investigation_id: str, instance_id: str, timeout: float = 60.0,
                          account=None) -> dict[str, int]:
    """Poll until the investigation left nothing (the janitor works asynchronously); the last count."""
    import time

    give_up = time.monotonic() + timeout
    while True:
        left = investigation_leftovers(cloud, investigation_id, instance_id, account=account)
        if not any(left.values()) or time.monotonic() > give_up:
            return left
        time.sleep(0.2)
