"""The local sensor fleet: a Network Load Balancer as the mirror target (tapcase.localcloud.fleet).

Each test names the AWS behaviour it reproduces: Traffic Mirroring's "Traffic mirror target
concepts" (a Network Load Balancer with a UDP listener on 4789 as a target, several sessions
sharing one target), the ELB API reference (a target group's ``stickiness.type`` ``source_ip`` for
Network Load Balancers; only healthy registered targets receive traffic), and the data plane
(VXLAN delivered to the member the balancer picks, with each session's VNI).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.vxlan import VXLAN
from scapy.utils import rdpcap

from tapcase.localcloud import timescale
from tapcase.localcloud.cloud import LocalCloud
from tapcase.localcloud.fleet import Balancer, LocalKept, balancer
from tapcase.localcloud.mirroring import ledger
from tapcase.scenario import ScenarioInfo, generate
from tapcase.scenario.model import VPC_CIDR

ANY = "0.0.0.0/0"


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> ScenarioInfo:
    return generate("c2-dns", tmp_path_factory.mktemp("fleet") / "plain.pcap", duration_seconds=180)


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=None, time_scale=0) as running:
        yield running


def backend(cloud: LocalCloud) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[cloud.account_id][cloud.region]


@pytest.fixture(scope="module")
def fleet(cloud: LocalCloud, story: ScenarioInfo) -> dict[str, Any]:
    """Two members (plain instances: no agent) behind an NLB's UDP 4789 listener, a suspect ENI
    with the story's address, a session to the NLB's target."""
    ec2, elbv2 = cloud.client("ec2"), cloud.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    members = sorted(i["InstanceId"] for i in ec2.run_instances(
        ImageId=image, MinCount=2, MaxCount=2, InstanceType="c5.large", SubnetId=subnet)["Instances"])
    nlb = elbv2.create_load_balancer(Name="fleet", Subnets=[subnet], Type="network")["LoadBalancers"][0][
        "LoadBalancerArn"]
    group = elbv2.create_target_group(Name="fleet-vxlan", Protocol="UDP", Port=4789, VpcId=vpc,
                                      TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": m} for m in members])
    elbv2.create_listener(LoadBalancerArn=nlb, Protocol="UDP", Port=4789,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])
    target = ec2.create_traffic_mirror_target(NetworkLoadBalancerArn=nlb)["TrafficMirrorTarget"][
        "TrafficMirrorTargetId"]
    source = ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress=story.suspect_ip)[
        "NetworkInterface"]["NetworkInterfaceId"]
    filter_id = ec2.create_traffic_mirror_filter()["TrafficMirrorFilter"]["TrafficMirrorFilterId"]
    for direction in ("ingress", "egress"):
        ec2.create_traffic_mirror_filter_rule(TrafficMirrorFilterId=filter_id, TrafficDirection=direction,
                                              RuleNumber=100, RuleAction="accept", SourceCidrBlock=ANY,
                                              DestinationCidrBlock=ANY)
    ec2.modify_traffic_mirror_filter_network_services(TrafficMirrorFilterId=filter_id,
                                                      AddNetworkServices=["amazon-dns"])
    session = ec2.create_traffic_mirror_session(NetworkInterfaceId=source, TrafficMirrorTargetId=target,
                                                TrafficMirrorFilterId=filter_id, SessionNumber=1,
                                                VirtualNetworkId=4242)["TrafficMirrorSession"]
    return {"nlb": nlb, "group": group, "members": members, "target": target, "source": source,
            "session": session, "subnet": subnet}


def set_sticky(cloud: LocalCloud, group: str, on: bool) -> None:
    cloud.client("elbv2").modify_target_group_attributes(TargetGroupArn=group, Attributes=[
        {"Key": "stickiness.enabled", "Value": "true" if on else "false"},
        {"Key": "stickiness.type", "Value": "source_ip"}])


def kept(cloud: LocalCloud, member: str, capture: Path, out: Path) -> tuple[LocalKept, Path]:
    holder = LocalKept(backend(cloud), member, lambda: (capture, None))
    return holder, holder.window(None, 0, out, vni=4242)


def test_nlb_udp_4789_listener_members_are_the_healthy_registered_instances(cloud, fleet) -> None:
    """ELB: a listener forwards to its target group's registered targets; only healthy ones (a
    stopped instance is not) receive flows."""
    found = balancer(backend(cloud), fleet["nlb"])
    assert found.members == tuple(fleet["members"])
    cloud.client("ec2").stop_instances(InstanceIds=[fleet["members"][1]])
    try:
        assert balancer(backend(cloud), fleet["nlb"]).members == (fleet["members"][0],)
    finally:
        cloud.client("ec2").start_instances(InstanceIds=[fleet["members"][1]])


def test_source_ip_stickiness_sends_every_flow_of_a_source_to_one_member() -> None:
    """ELB TargetGroupAttribute stickiness.type source_ip (Network Load Balancers): one source
    address, one target; without it each UDP flow (5-tuple) is placed on its own."""
    sticky = Balancer("arn:nlb", ("i-a", "i-b", "i-c"), sticky_source_ip=True)
    assert len({sticky.member_for("10.0.1.25", port) for port in range(49152, 49352)}) == 1
    spread = Balancer("arn:nlb", ("i-a", "i-b", "i-c"), sticky_source_ip=False)
    picks = [spread.member_for("10.0.1.25", port) for port in range(49152, 49352)]
    assert set(picks) == {"i-a", "i-b", "i-c"}
    assert picks == [spread.member_for("10.0.1.25", port) for port in range(49152, 49352)]  # a flow stays put
    assert Balancer("arn:nlb", (), True).member_for("10.0.1.25", 1) is None


def test_sessions_to_an_nlb_target_are_kept_under_the_target(cloud, fleet) -> None:
    """Traffic mirror target concepts: one NLB target serves many sessions; the data plane keys
    them by the target (there is no target ENI)."""
    sources = ledger.sources_targeting(backend(cloud), {fleet["target"]})
    assert [s.eni_id for s in sources] == [fleet["source"]]
    assert {s.target_eni for s in sources[0].sessions} == {fleet["target"]}


def test_the_nlb_delivers_each_flow_to_one_member_as_vxlan_with_the_vni(cloud, fleet, story, tmp_path) -> None:
    """The members together receive every mirrored packet exactly once (no flow on two members),
    as VXLAN to the member's own address with the session's VNI; with source-IP stickiness one
    member receives the whole source."""
    assert timescale.get_scale() == 0
    set_sticky(cloud, fleet["group"], False)
    counts = {}
    for member in fleet["members"]:
        holder, path = kept(cloud, member, Path(story.pcap), tmp_path / f"{member}.pcap")
        assert holder.stats is not None
        counts[member] = holder.stats.mirrored
        vxlan = [p for p in rdpcap(str(path)) if p.haslayer(VXLAN)]
        assert {p[VXLAN].vni for p in vxlan} <= {4242}
        assert {p[IP].dst for p in vxlan} <= {holder.sensor_ip} and {p[UDP].dport for p in vxlan} <= {4789}
    assert sum(counts.values()) == story.mirrored_packets and all(counts.values()), counts
    set_sticky(cloud, fleet["group"], True)
    try:
        sticky = {m: kept(cloud, m, Path(story.pcap), tmp_path / f"s-{m}.pcap")[0].stats.mirrored
                  for m in fleet["members"]}
        assert sorted(sticky.values()) == [0, story.mirrored_packets], sticky
    finally:
        set_sticky(cloud, fleet["group"], False)


def test_a_member_of_no_fleet_target_receives_nothing(cloud, fleet, story, tmp_path) -> None:
    """Only the registered targets of the NLB's UDP 4789 listener receive the target's traffic."""
    ec2 = cloud.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    outsider = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="c5.large",
                                 SubnetId=fleet["subnet"])["Instances"][0]["InstanceId"]
    holder, path = kept(cloud, outsider, Path(story.pcap), tmp_path / "outsider.pcap")
    assert holder.stats is None and not [p for p in rdpcap(str(path)) if p.haslayer(VXLAN)]
