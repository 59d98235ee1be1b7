"""Investigations mirrored to an existing sensor fleet behind a Network Load Balancer (issue 14 item 2).

The fleet is built the way sensor_image/fleet/fleet.yaml builds it on AWS: members tagged
``tapcase:role=fleet-member`` running the real agent in fleet mode, a target group (UDP 4789,
source-IP stickiness) behind an NLB's UDP 4789 listener, a traffic mirror target on the NLB and
the fleet's control queue; the stack gets ``FleetTargetId``/``FleetControlQueueUrl``. The local
data plane delivers each session's VXLAN to the member the NLB picks (tapcase/localcloud/fleet.py),
and that member's real Suricata analyses only the investigation's VNI.
"""

from __future__ import annotations

import heapq
import json
import struct
import threading
from operator import itemgetter
from pathlib import Path
from typing import Any

import pytest

from tapcase.investigate import investigate_once
from tapcase.localcloud import LocalCloud, local_work, sensors
from tapcase.localcloud.deploy import deploy_template
from tapcase.localcloud.seed import seed_instance
from tapcase.scenario import ScenarioInfo, generate
from tapcase_contract.tags import ROLE, ROLE_FLEET_MEMBER
from tests.conftest import REPO
from tests.e2e.conftest import TIME_SCALE, load_report
from tests.e2e.test_investigation import records, sections

STORIES = ("beaconing", "c2-dns")
FLEET_CIDR = "10.0.9.0/24"  # the fleet's subnet, in the suspects' VPC


def finding(story: str) -> dict[str, Any]:
    return json.loads((REPO / "samples" / "findings" / f"{story}.json").read_text())


def merge(captures: list[Path], out: Path) -> Path:
    """One capture of several instances' interfaces (classic pcap, same link type), in time order."""
    def records(path: Path):
        data = path.read_bytes()
        offset = 24
        while offset + 16 <= len(data):
            sec, usec, incl, _ = struct.unpack_from("<IIII", data, offset)
            yield sec + usec / 1e6, data[offset:offset + 16 + incl]
            offset += 16 + incl

    with out.open("wb") as fh:
        fh.write(captures[0].read_bytes()[:24])
        for _, record in heapq.merge(*(records(p) for p in captures), key=itemgetter(0)):
            fh.write(record)
    return out


def build_fleet(cloud: LocalCloud, vpc: str, members: int = 2) -> dict[str, Any]:
    """The fleet as the operator's own stack leaves it (before tapcase is deployed)."""
    ec2, elbv2, sqs = cloud.client("ec2"), cloud.client("elbv2"), cloud.client("sqs")
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=FLEET_CIDR, AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    nlb = elbv2.create_load_balancer(Name="sensor-fleet", Subnets=[subnet], Type="network",
                                     Scheme="internal")["LoadBalancers"][0]["LoadBalancerArn"]
    group = elbv2.create_target_group(
        Name="sensor-fleet-vxlan", Protocol="UDP", Port=4789, VpcId=vpc, TargetType="instance",
        HealthCheckProtocol="TCP", HealthCheckPort="8080")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(TargetGroupArn=group, Attributes=[
        {"Key": "stickiness.enabled", "Value": "true"}, {"Key": "stickiness.type", "Value": "source_ip"}])
    elbv2.create_listener(LoadBalancerArn=nlb, Protocol="UDP", Port=4789,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])
    target = ec2.create_traffic_mirror_target(NetworkLoadBalancerArn=nlb, Description="sensor fleet")
    queue = sqs.create_queue(QueueName="sensor-fleet-control")["QueueUrl"]
    return {"subnet": subnet, "nlb": nlb, "group": group, "queue": queue, "members": members,
            "target_id": target["TrafficMirrorTarget"]["TrafficMirrorTargetId"]}


def launch_members(cloud: LocalCloud, fleet: dict[str, Any]) -> list[str]:
    ec2 = cloud.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    config = {"control_queue_url": fleet["queue"], "bucket": cloud.resource("EvidenceBucket"), "region": cloud.region}
    ids = [i["InstanceId"] for i in ec2.run_instances(
        ImageId=image, MinCount=fleet["members"], MaxCount=fleet["members"], InstanceType="c5.large",
        SubnetId=fleet["subnet"], UserData=json.dumps(config),
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": ROLE, "Value": ROLE_FLEET_MEMBER}]}],
    )["Instances"]]
    cloud.client("elbv2").register_targets(TargetGroupArn=fleet["group"], Targets=[{"Id": i} for i in ids])
    return ids


def deploy(cloud: LocalCloud, **parameters: str) -> None:
    """The tapcase stack, deployed after the fleet exists (its target id is a parameter)."""
    cloud.template = REPO / "template.yaml"
    cloud.parameters = parameters
    cloud.stack = deploy_template(cloud, cloud.template, cloud.local_parameters())


@pytest.fixture(scope="module")
def stories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ScenarioInfo]:
    out = tmp_path_factory.mktemp("fleet-stories")
    return {s: generate(s, out / f"{s}.pcap") for s in STORIES}


@pytest.fixture(scope="module")
def fleet_cloud(stories: dict[str, ScenarioInfo]):
    with LocalCloud(time_scale=TIME_SCALE, template=None) as cloud:
        ec2 = cloud.client("ec2")
        seeded = {s: seed_instance(ec2, finding(s)["detail"]["resource"]["instanceDetails"], cloud.region)
                  for s in STORIES}
        vpc = ec2.describe_instances(InstanceIds=[seeded["beaconing"]["instance_id"]])[
            "Reservations"][0]["Instances"][0]["VpcId"]
        fleet = build_fleet(cloud, vpc)
        deploy(cloud, FleetTargetId=fleet["target_id"], FleetControlQueueUrl=fleet["queue"])
        fleet["member_ids"] = launch_members(cloud, fleet)
        yield cloud, fleet


def instances(cloud: LocalCloud) -> set[str]:
    return {i["InstanceId"] for r in cloud.client("ec2").describe_instances()["Reservations"] for i in r["Instances"]}


def fleet_untouched(cloud: LocalCloud, fleet: dict[str, Any]) -> None:
    ec2 = cloud.client("ec2")
    targets = ec2.describe_traffic_mirror_targets(TrafficMirrorTargetIds=[fleet["target_id"]])["TrafficMirrorTargets"]
    assert targets and targets[0]["NetworkLoadBalancerArn"] == fleet["nlb"]
    assert cloud.client("elbv2").describe_load_balancers(LoadBalancerArns=[fleet["nlb"]])["LoadBalancers"]
    states = {i["InstanceId"]: i["State"]["Name"] for r in ec2.describe_instances(InstanceIds=fleet["member_ids"])[
        "Reservations"] for i in r["Instances"]}
    assert set(states.values()) == {"running"}, states
    assert cloud.client("sqs").get_queue_url(QueueName="sensor-fleet-control")["QueueUrl"]
    assert not ec2.describe_traffic_mirror_sessions(Filters=[
        {"Name": "traffic-mirror-target-id", "Values": [fleet["target_id"]]}])["TrafficMirrorSessions"]


def eve(cloud: LocalCloud, report: dict[str, Any]) -> list[dict[str, Any]]:
    keys = [f["key"] for f in report["context"]["evidence"]["files"] if f["key"].endswith("/eve.json")]
    assert len(keys) == 1, report["context"]["evidence"]["files"]
    body = cloud.client("s3").get_object(Bucket=cloud.resource("EvidenceBucket"), Key=keys[0])["Body"].read()
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def addresses(events: list[dict[str, Any]]) -> set[str]:
    return {e[k] for e in events if e.get("event_type") == "flow" and e.get("dest_port") != 4789
            for k in ("src_ip", "dest_ip")}


def test_an_investigation_mirrored_to_the_fleet_launches_no_sensor(fleet_cloud, stories, tmp_path: Path) -> None:
    """Traffic mirror target concepts: an NLB with a UDP 4789 listener as the target; the sessions
    deliver to the fleet member the NLB picks; nothing is launched, the report names the target
    and the VNI, the story's highlights are found, nothing is left and the fleet is as it was."""
    cloud, fleet = fleet_cloud
    info = stories["beaconing"]
    before = instances(cloud)
    sensors.set_capture(info.pcap)
    worked = local_work.work_by_kind().get("sensor", 0.0)
    summary = investigate_once(cloud.endpoint, finding("beaconing"), out=tmp_path, timeout=180)
    assert summary["status"] == "SUCCEEDED", summary
    assert instances(cloud) == before  # no RunInstances during the execution
    # the member's engines ran as local work (as an AWS instance of its own computes, deadlines
    # do not count it): no sensor of the investigation's own could have done it
    assert local_work.work_by_kind().get("sensor", 0.0) > worked
    report = load_report(summary)
    mirroring = report["context"]["mirroring"]
    assert mirroring["target"]["kind"] == "fleet" and mirroring["target"]["target_id"] == fleet["target_id"]
    vni = mirroring["vni"]
    assert all(s["vni"] == vni for s in mirroring["sessions"])
    assert fleet["target_id"] in report["capture"]["target"] and f"VNI {vni}" in report["capture"]["target"]
    page = Path(summary["report"]["local_path"]).read_text()
    assert fleet["target_id"] in page and f"VNI {vni}" in page
    assert report["context"]["sensor"]["mode"] == "fleet" and report["context"]["sensor"]["instance_id"] is None
    assert report["context"]["capture_filter"]["vni"] == vni
    assert report["context"]["packets"]["seen"] == info.mirrored_packets  # all of the suspect's mirrored traffic
    beacon = records(sections(report)["beaconing"])
    assert beacon and (beacon[0]["src"], beacon[0]["dst"]) == (info.suspect_ip, info.expected.beacon_peer_ip)
    assert any(info.expected.beacon_peer_ip in h["text"] for h in report["highlights"])
    assert summary["leftovers"] and not any(summary["leftovers"].values()), summary["leftovers"]
    fleet_untouched(cloud, fleet)


def test_two_investigations_on_the_fleet_at_once_get_their_own_vni_only(fleet_cloud, stories, tmp_path: Path) -> None:
    """One capture holds both suspects; both are mirrored to the fleet at once with their own VNI
    (unique among the target's live sessions); each report's evidence holds only its suspect."""
    cloud, fleet = fleet_cloud
    sensors.set_capture(merge([Path(stories[s].pcap) for s in STORIES], tmp_path / "both.pcap"))
    results: dict[str, dict[str, Any]] = {}

    def one(story: str) -> None:
        event = {"instance_id": finding(story)["detail"]["resource"]["instanceDetails"]["instanceId"],
                 "duration_seconds": 600, "reason": f"fleet {story}", "target": "fleet"}
        results[story] = investigate_once(cloud.endpoint, event, out=tmp_path / story, timeout=240)

    threads = [threading.Thread(target=one, args=(s,)) for s in STORIES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reports = {s: load_report(results[s]) for s in STORIES}
    for story in STORIES:
        assert results[story]["status"] == "SUCCEEDED", results[story]
    vnis = {s: reports[s]["context"]["mirroring"]["vni"] for s in STORIES}
    assert vnis["beaconing"] != vnis["c2-dns"]
    for story, other in (STORIES, STORIES[::-1]):
        seen = addresses(eve(cloud, reports[story]))
        assert stories[story].suspect_ip in seen and stories[other].suspect_ip not in seen, (story, seen)
        assert reports[story]["context"]["packets"]["seen"] == stories[story].mirrored_packets
        assert not any(results[story]["leftovers"].values())
    fleet_untouched(cloud, fleet)
