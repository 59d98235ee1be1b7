"""The local mirror data plane delivers to a sensor what AWS Traffic Mirroring would (mirroring.dataplane).

Captures are a story of the scenario generator (plain: the suspect's subnet as captured) and the
real AWS mirroring capture of ../shared; sessions, filters and targets are made with the real EC2
APIs of the local cloud, and what the sensor receives is read back with scapy. Each test names
the AWS behaviour it reproduces.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.dns import DNS
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.layers.vxlan import VXLAN
from scapy.utils import rdpcap

from tapcase.localcloud import sensor_traffic, timescale
from tapcase.localcloud.cloud import LocalCloud
from tapcase.localcloud.mirroring import dataplane as dp
from tapcase.localcloud.mirroring import ledger as mirror_ledger
from tapcase.localcloud.mirroring import packet_filter as mr
from tapcase.localcloud.mirroring import wire
from tapcase.scenario import ScenarioInfo, generate
from tapcase.scenario.model import RESOLVER_IP, SENSOR_ENI_MAC, SENSOR_IP, VPC_CIDR
from tests.conftest import shared

ANY = "0.0.0.0/0"
AWS_CAPTURE = ("suricata-verify", "vxlan-decoder-03", "vxlan.pcap")


# --- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ScenarioInfo]:
    """The c2-dns story, 180 s, as the suspect's subnet holds it and as AWS would mirror it."""
    out = tmp_path_factory.mktemp("story")
    return {form: generate("c2-dns", out / f"{form}.pcap", duration_seconds=180, form=form)
            for form in ("plain", "vxlan")}


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=None, time_scale=0) as running:
        yield running


@pytest.fixture(scope="module")
def ec2(cloud: LocalCloud) -> Any:
    return cloud.client("ec2")


@pytest.fixture(scope="module")
def vpc(ec2: Any) -> dict[str, str]:
    """The story's VPC (10.0.0.0/16, resolver 10.0.0.2) and subnet (10.0.1.0/24)."""
    vpc_id = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")
    return {"vpc": vpc_id, "subnet": subnet["Subnet"]["SubnetId"]}


class Mirror:
    """A source ENI with the story suspect's address and a sensor ENI, made with the EC2 APIs."""

    def __init__(self, ec2: Any, subnet: str, suspect_ip: str, sensor_ip: str) -> None:
        self.ec2 = ec2
        self.source = ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress=suspect_ip)[
            "NetworkInterface"]["NetworkInterfaceId"]
        sensor = ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress=sensor_ip)["NetworkInterface"]
        self.sensor_eni, self.sensor_ip, self.sensor_mac = (
            sensor["NetworkInterfaceId"], sensor_ip, sensor["MacAddress"])
        self.target = ec2.create_traffic_mirror_target(NetworkInterfaceId=self.sensor_eni)[
            "TrafficMirrorTarget"]["TrafficMirrorTargetId"]
        self.created: list[str] = []

    def filter(self, rules: list[dict[str, Any]], services: list[str] | None = None) -> str:
        filter_id = self.ec2.create_traffic_mirror_filter()["TrafficMirrorFilter"]["TrafficMirrorFilterId"]
        for rule in rules:
            self.ec2.create_traffic_mirror_filter_rule(TrafficMirrorFilterId=filter_id, **rule)
        if services:
            self.ec2.modify_traffic_mirror_filter_network_services(TrafficMirrorFilterId=filter_id,
                                                                   AddNetworkServices=services)
        return filter_id

    def session(self, filter_id: str, number: int = 1, target: str | None = None, **kwargs: Any) -> str:
        session = self.ec2.create_traffic_mirror_session(
            NetworkInterfaceId=self.source, TrafficMirrorTargetId=target or self.target,
            TrafficMirrorFilterId=filter_id, SessionNumber=number, **kwargs)["TrafficMirrorSession"]
        self.created.append(session["TrafficMirrorSessionId"])
        return session["TrafficMirrorSessionId"]

    def endpoint(self) -> dp.SensorEndpoint:
        return dp.SensorEndpoint("i-sensor", frozenset({self.sensor_eni}), self.sensor_ip, self.sensor_mac)

    def deliver(self, cloud: LocalCloud, capture: Path, out: Path, **kwargs: Any) -> dp.DeliveryStats:
        backend = ec2_backend(cloud)
        sources = mirror_ledger.sources_targeting(backend, {self.sensor_eni})
        return dp.materialize(capture, out, self.endpoint(), sources, scale=timescale.get_scale(), **kwargs)

    def close(self) -> None:
        for session in self.created:
            try:
                self.ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=session)
            except Exception:  # noqa: BLE001 - already deleted by the test
                pass
        self.ec2.delete_network_interface(NetworkInterfaceId=self.source)


def ec2_backend(cloud: LocalCloud) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[cloud.account_id][cloud.region]


_next_sensor = iter(range(200, 250))


@pytest.fixture
def mirror(ec2: Any, vpc: dict[str, str], story: dict[str, ScenarioInfo]) -> Iterator[Mirror]:
    made = Mirror(ec2, vpc["subnet"], story["plain"].suspect_ip, f"10.0.1.{next(_next_sensor)}")
    yield made
    made.close()


def accept_all(direction: str = "both", number: int = 100) -> list[dict[str, Any]]:
    directions = ("ingress", "egress") if direction == "both" else (direction,)
    return [{"TrafficDirection": d, "RuleNumber": number, "RuleAction": "accept", "SourceCidrBlock": ANY,
             "DestinationCidrBlock": ANY} for d in directions]


def inner_packets(path: Path) -> list[tuple[int, Any]]:
    """(VNI, inner frame) of every VXLAN packet, parsed by scapy."""
    out = []
    for packet in rdpcap(str(path)):
        if packet.haslayer(VXLAN):
            out.append((packet[VXLAN].vni, packet[VXLAN].payload))
    return out


def addresses(frame: Any) -> set[str]:
    return {frame[IP].src, frame[IP].dst} if frame.haslayer(IP) else set()


def suspect_frames(plain: Path, suspect_ip: str) -> list[Any]:
    return [p for p in rdpcap(str(plain)) if p.haslayer(IP) and suspect_ip in (p[IP].src, p[IP].dst)]


# --- what is mirrored -------------------------------------------------------------------------
def test_plain_capture_delivers_exactly_what_aws_mirroring_writes(
    cloud: LocalCloud, mirror: Mirror, story: dict[str, ScenarioInfo], tmp_path: Path
) -> None:
    """An accept-all filter with amazon-dns delivers every packet of the source ENI that AWS may
    mirror, encapsulated as the real AWS capture shows: byte for byte the generator's VXLAN form
    (same sensor address, MAC and VNI), neighbours and never-mirrored traffic left out."""
    plain, vxlan = story["plain"], story["vxlan"]
    session = mirror.session(mirror.filter(accept_all(), ["amazon-dns"]), VirtualNetworkId=vxlan.vni)
    # the generator's sensor address and MAC, on the target ENI made here
    sensor = dp.SensorEndpoint("i-sensor", frozenset({mirror.sensor_eni}), SENSOR_IP, SENSOR_ENI_MAC)
    sources = mirror_ledger.sources_targeting(ec2_backend(cloud), {mirror.sensor_eni})
    stats = dp.materialize(plain.pcap, tmp_path / "iface.pcap", sensor, sources, scale=0)
    assert stats.mirrored == plain.mirrored_packets == vxlan.packets
    assert stats.by_session == {session: plain.mirrored_packets} and stats.vnis == {vxlan.vni: vxlan.packets}
    assert stats.skipped[mr.NO_SOURCE] == plain.neighbour_packets
    delivered = [(ts, data) for ts, _lt, data in wire.read_capture(tmp_path / "iface.pcap")]
    expected = [(ts, data) for ts, _lt, data in wire.read_capture(vxlan.pcap)]
    assert delivered == expected


def test_another_hosts_traffic_is_never_mirrored(
    cloud: LocalCloud, mirror: Mirror, story: dict[str, ScenarioInfo], tmp_path: Path
) -> None:
    """A session mirrors one network interface: packets neither to nor from its addresses (the
    neighbours of the subnet, talking to the same peers and to the resolver) never reach the sensor."""
    plain = story["plain"]
    mirror.session(mirror.filter(accept_all(), ["amazon-dns"]))
    mirror.deliver(cloud, Path(plain.pcap), tmp_path / "iface.pcap")
    inner = inner_packets(tmp_path / "iface.pcap")
    seen = set().union(*(addresses(frame) for _vni, frame in inner))
    assert plain.suspect_ip in seen and RESOLVER_IP in seen
    assert not seen & set(plain.neighbour_ips)
    assert all(plain.suspect_ip in addresses(frame) for _vni, frame in inner)
    neighbour_frames = [p for p in rdpcap(plain.pcap) if addresses(p) & set(plain.neighbour_ips)]
    assert len(neighbour_frames) == plain.neighbour_packets > 0


def test_arp_dhcp_metadata_and_time_sync_are_never_mirrored(
    cloud: LocalCloud, mirror: Mirror, story: dict[str, ScenarioInfo], tmp_path: Path
) -> None:
    """Traffic Mirroring limitations: "Traffic Mirroring can't mirror the following traffic types:
    ARP, DHCP, Instance metadata service, NTP" (the Amazon Time Sync Service), whatever the rules."""
    plain = story["plain"]
    mirror.session(mirror.filter(accept_all(), ["amazon-dns"]))
    stats = mirror.deliver(cloud, Path(plain.pcap), tmp_path / "iface.pcap")
    on_eni = rdpcap(plain.pcap)
    arp = [p for p in on_eni if p.haslayer(ARP)]
    services = [p for p in on_eni if addresses(p) & {"169.254.169.254", "169.254.169.123"}
                or (p.haslayer(UDP) and {p[UDP].sport, p[UDP].dport} == {67, 68})]
    assert arp and services and len(arp) + len(services) == plain.not_mirrorable_packets
    assert stats.skipped[mr.NOT_IP] == len(arp) and stats.skipped[mr.NOT_ELIGIBLE] == len(services)
    for _vni, frame in inner_packets(tmp_path / "iface.pcap"):
        assert not frame.haslayer(ARP)
        assert not addresses(frame) & {"169.254.169.254", "169.254.169.123"}
        assert not (frame.haslayer(UDP) and frame[UDP].dport in (67, 68))


def test_dns_to_the_vpc_resolver_only_with_amazon_dns(
    cloud: LocalCloud, mirror: Mirror, story: dict[str, ScenarioInfo], tmp_path: Path
) -> None:
    """ModifyTrafficMirrorFilterNetworkServices: "By default, Amazon DNS network services are not
    eligible for Traffic Mirror"; once amazon-dns is added "all traffic related to that network
    service will be mirrored". An accept-all filter without it delivers no DNS to the resolver."""
    plain = story["plain"]
    filter_id = mirror.filter(accept_all())
    mirror.session(filter_id)
    stats = mirror.deliver(cloud, Path(plain.pcap), tmp_path / "without.pcap")
    assert stats.mirrored == plain.mirrored_packets - plain.resolver_packets
    assert stats.skipped[mr.AMAZON_DNS_NOT_ADDED] == plain.resolver_packets > 0
    assert not any(RESOLVER_IP in addresses(f) for _v, f in inner_packets(tmp_path / "without.pcap"))

    mirror.ec2.modify_traffic_mirror_filter_network_services(TrafficMirrorFilterId=filter_id,
                                                             AddNetworkServices=["amazon-dns"])
    stats = mirror.deliver(cloud, Path(plain.pcap), tmp_path / "with.pcap")
    assert stats.mirrored == plain.mirrored_packets
    dns = [f for _v, f in inner_packets(tmp_path / "with.pcap") if RESOLVER_IP in addresses(f)]
    assert len(dns) == plain.resolver_packets and all(f.haslayer(DNS) for f in dns)


def test_amazon_dns_is_mirrored_whatever_the_rules(
    cloud: LocalCloud, mirror: Mirror, story: dict[str, ScenarioInfo], tmp_path: Path
) -> None:
    """Filter concepts: "When you add network services traffic, all traffic (inbound and outbound)
    related to that network service is mirrored": even with rules that accept only TCP."""
    plain = story["plain"]
    tcp_only = [{**rule, "Protocol": 6} for rule in accept_all()]
    mirror.session(mirror.filter(tcp_only, ["amazon-dns"]))
    mirror.deliver(cloud, Path(plain.pcap), tmp_path / "iface.pcap")
    inner = [f for _v, f in inner_packets(tmp_path / "iface.pcap")]
    assert len([f for f in inner if RESOLVER_IP in addresses(f)]) == plain.resolver_packets
    assert all(f.haslayer(TCP) or RESOLVER_IP in addresses(f) for f in inner)


def test_rules_first_match_wins_and_a_rejected_port_removes_exactly_those_flows(
    cloud: LocalCloud, mirror: Mirror, story: dict[str, ScenarioInfo], tmp_path: Path
) -> None:
    """Filter concepts: rules are evaluated "from the lowest value to the highest value. The first
    rule that matches the traffic determines whether the traffic is mirrored". Reject TCP 443 both
    ways (rule 10), accept the rest (rule 100): exactly the HTTPS packets go missing."""
    plain = story["plain"]
    rules = [
        {"TrafficDirection": "egress", "RuleNumber": 10, "RuleAction": "reject", "Protocol": 6,
         "DestinationPortRange": {"FromPort": 443, "ToPort": 443}, "SourceCidrBlock": ANY, "DestinationCidrBlock": ANY},
        {"TrafficDirection": "ingress", "RuleNumber": 10, "RuleAction": "reject", "Protocol": 6,
         "SourcePortRange": {"FromPort": 443, "ToPort": 443}, "SourceCidrBlock": ANY, "DestinationCidrBlock": ANY},
        *accept_all(),
    ]
    mirror.session(mirror.filter(rules, ["amazon-dns"]))
    stats = mirror.deliver(cloud, Path(plain.pcap), tmp_path / "iface.pcap")
    https = [p for p in suspect_frames(Path(plain.pcap), plain.suspect_ip)
             if p.haslayer(TCP) and 443 in (p[TCP].sport, p[TCP].dport)]
    assert https and stats.mirrored == plain.mirrored_packets - len(https)
    assert stats.skipped[mr.REJECTED] == len(https)
    inner = [f for _v, f in inner_packets(tmp_path / "iface.pcap")]
    assert not any(f.haslayer(TCP) and 443 in (f[TCP].sport, f[TCP].dport) for f in inner)


def test_no_accepting_rule_mirrors_nothing(
    cloud: LocalCloud, mirror: Mirror, story: dict[str, ScenarioInfo], tmp_path: Path
) -> None:
    """Filter concepts: "If you don't add any rules, then no traffic is mirrored"."""
    mirror.session(mirror.filter([]))
    stats = mirror.deliver(cloud, Path(story["plain"].pcap), tmp_path / "none.pcap")
    assert stats.mirrored == 0 and stats.skipped[mr.REJECTED] > 0


def test_egress_rules_mirror_no_inbound_traffic(
    cloud: LocalCloud, mirror: Mirror, story: dict[str, ScenarioInfo], tmp_path: Path
) -> None:
    """Filter concepts: "if you don't add outbound rules, then no outbound traffic is mirrored";
    likewise egress rules alone mirror only what the source ENI sends."""
    plain = story["plain"]
    mirror.session(mirror.filter(accept_all("egress"), ["amazon-dns"]))
    mirror.deliver(cloud, Path(plain.pcap), tmp_path / "egress.pcap")
    inner = [f for _v, f in inner_packets(tmp_path / "egress.pcap") if RESOLVER_IP not in addresses(f)]
    assert inner and all(f[IP].src == plain.suspect_ip for f in inner)


def ec2_subnet(mirror: Mirror) -> str:
    return mirror.ec2.describe_network_interfaces(NetworkInterfaceIds=[mirror.sensor_eni])[
        "NetworkInterfaces"][0]["SubnetId"]


def test_a_lower_numbered_session_to_another_target_takes_its_packets(
    cloud: LocalCloud, mirror: Mirror, story: dict[str, ScenarioInfo], tmp_path: Path
) -> None:
    """CreateTrafficMirrorSession: "The session number determines the order in which sessions are
    evaluated ... The first session with a matching filter is the one that mirrors the packets."
    Session 1 (HTTPS only, to another appliance) takes the HTTPS packets from session 2 (ours)."""
    plain = story["plain"]
    other_sensor = mirror.ec2.create_network_interface(SubnetId=ec2_subnet(mirror))["NetworkInterface"]
    other_target = mirror.ec2.create_traffic_mirror_target(NetworkInterfaceId=other_sensor["NetworkInterfaceId"])[
        "TrafficMirrorTarget"]["TrafficMirrorTargetId"]
    https_only = [{"TrafficDirection": "egress", "RuleNumber": 1, "RuleAction": "accept", "Protocol": 6,
                   "DestinationPortRange": {"FromPort": 443, "ToPort": 443}, "SourceCidrBlock": ANY,
                   "DestinationCidrBlock": ANY},
                  {"TrafficDirection": "ingress", "RuleNumber": 1, "RuleAction": "accept", "Protocol": 6,
                   "SourcePortRange": {"FromPort": 443, "ToPort": 443}, "SourceCidrBlock": ANY,
                   "DestinationCidrBlock": ANY}]
    first = mirror.session(mirror.filter(https_only), number=1, target=other_target)
    ours = mirror.session(mirror.filter(accept_all(), ["amazon-dns"]), number=2)
    stats = mirror.deliver(cloud, Path(plain.pcap), tmp_path / "iface.pcap")
    https = [p for p in suspect_frames(Path(plain.pcap), plain.suspect_ip)
             if p.haslayer(TCP) and 443 in (p[TCP].sport, p[TCP].dport)]
    assert stats.by_session == {ours: plain.mirrored_packets - len(https)}
    assert stats.skipped["other_session"] == len(https) > 0
    # The other appliance's interface gets exactly those packets, from session 1.
    theirs = dp.SensorEndpoint("i-other", frozenset({other_sensor["NetworkInterfaceId"]}),
                               other_sensor["PrivateIpAddress"], other_sensor["MacAddress"])
    sources = mirror_ledger.sources_targeting(ec2_backend(cloud), theirs.eni_ids)
    other_stats = dp.materialize(plain.pcap, tmp_path / "other.pcap", theirs, sources, scale=0)
    assert other_stats.by_session == {first: len(https)}


def test_session_vni_and_packet_length_are_in_every_delivered_packet(
    cloud: LocalCloud, mirror: Mirror, story: dict[str, ScenarioInfo], tmp_path: Path
) -> None:
    """CreateTrafficMirrorSession: VirtualNetworkId is the VXLAN ID of the session; PacketLength is
    "the number of bytes in each packet to mirror. These are bytes after the VXLAN header". Packets
    go to the target's address on UDP 4789 from the source ENI's address."""
    plain = story["plain"]
    mirror.session(mirror.filter(accept_all(), ["amazon-dns"]), VirtualNetworkId=5569041, PacketLength=96)
    stats = mirror.deliver(cloud, Path(plain.pcap), tmp_path / "iface.pcap")
    packets = rdpcap(str(tmp_path / "iface.pcap"))
    assert len(packets) == stats.mirrored == plain.mirrored_packets
    for packet in packets:
        assert (packet[IP].src, packet[IP].dst, packet[UDP].dport) == (plain.suspect_ip, mirror.sensor_ip, 4789)
        assert packet[VXLAN].vni == 5569041 and len(bytes(packet[VXLAN].payload)) <= 96
        assert packet[Ether].dst == mirror.sensor_mac
    assert stats.truncated == sum(1 for _ts, frame in mirrorable(plain) if len(frame) > 96) > 0


def test_packets_larger_than_the_target_mtu_are_truncated_to_it(tmp_path: Path) -> None:
    """Traffic Mirroring limitations: "We truncate the packet to the MTU value when ... the traffic
    mirror target is a standalone instance [and] the mirrored traffic packet size is greater than
    the traffic mirror target MTU value" (9001 for the sensor)."""
    jumbo = bytes(Ether() / IP(src="10.0.1.26", dst="198.51.100.9") / UDP(sport=5000, dport=6000) / (b"x" * 8990))
    capture = tmp_path / "jumbo.pcap"
    with wire.PcapWriter(capture) as writer:
        writer.write(1_717_423_200_000_000, jumbo)
    rule = mr.Rule.from_fields({"rule_number": 1, "rule_action": "accept", "source_cidr_block": ANY,
                                "destination_cidr_block": ANY})
    session = mr.SessionSpec("tms-1", 1, "eni-1", "tmt-1", "eni-s", 7, None,
                             mr.FilterSpec.build("tmf-1", [("egress", rule)], []), created=0.0)
    source = mr.SourceSpec("eni-1", "10.0.1.26", "0e:00:00:00:00:01", frozenset({mr.packed("10.0.1.26")}),
                           mr.resolver_addresses("10.0.0.0/16"), (session,))
    sensor = dp.SensorEndpoint("i-s", frozenset({"eni-s"}), "10.0.1.200", "06:00:00:00:00:02")
    stats = dp.materialize(capture, tmp_path / "out.pcap", sensor, [source], scale=0)
    ((_ts, _lt, outer),) = list(wire.read_capture(tmp_path / "out.pcap"))
    assert stats.truncated == 1 and len(outer) == 14 + 9001 and len(jumbo) > 9001 - 36
    assert outer[14 + 36 :] == jumbo[: 9001 - 36]


def test_a_vxlan_capture_is_unwrapped_then_mirrored_again(
    cloud: LocalCloud, ec2: Any, tmp_path: Path
) -> None:
    """The real AWS capture (source 172.31.0.238, VNI 5569041) given as the capture: its inner
    frames are what the source ENI carried; our session delivers them with our VNI to our sensor.
    It holds NTP to a public server (mirrored by AWS: only the Time Sync Service is never mirrored)
    and DNS to the VPC resolver 172.31.0.2 (mirrored with amazon-dns)."""
    vpc = ec2.create_vpc(CidrBlock="172.31.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="172.31.0.0/20")["Subnet"]["SubnetId"]
    mirror = Mirror(ec2, subnet, "172.31.0.238", "172.31.9.9")
    try:
        mirror.session(mirror.filter(accept_all(), ["amazon-dns"]), VirtualNetworkId=77)
        capture = shared(*AWS_CAPTURE)
        stats = mirror.deliver(cloud, capture, tmp_path / "iface.pcap")
        assert (stats.packets_read, stats.unwrapped, stats.mirrored) == (100, 100, 100)
        original = [bytes(p[VXLAN].payload) for p in rdpcap(str(capture))]
        again = rdpcap(str(tmp_path / "iface.pcap"))
        assert [bytes(p[VXLAN].payload) for p in again] == original
        assert {(p[IP].src, p[IP].dst, p[VXLAN].vni) for p in again} == {("172.31.0.238", "172.31.9.9", 77)}
        ports = Counter(p[VXLAN].payload[UDP].dport for p in again if p[VXLAN].payload.haslayer(UDP))
        assert ports[123] == 1 and ports[53] == 8
    finally:
        mirror.close()


def test_packets_after_the_session_is_deleted_are_absent(
    cloud: LocalCloud, mirror: Mirror, story: dict[str, ScenarioInfo], tmp_path: Path
) -> None:
    """A session mirrors only while it exists: the capture's first packet happens when the session
    is created, a packet d capture-seconds later d * scale seconds after; once DeleteTrafficMirrorSession
    has run, later packets are not delivered."""
    import time

    plain = story["plain"]
    saved = timescale.get_scale()
    scale = 0.02  # the 180 s capture lasts 3.6 s: a loaded machine's slow DeleteTrafficMirrorSession stays inside it
    timescale.set_scale(scale)
    try:
        session = mirror.session(mirror.filter(accept_all(), ["amazon-dns"]))
        time.sleep(0.15)
        mirror.ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=session)
        stats = mirror.deliver(cloud, Path(plain.pcap), tmp_path / "iface.pcap")
    finally:
        timescale.set_scale(saved)
    (source,) = mirror_ledger.sources_targeting(ec2_backend(cloud), {mirror.sensor_eni})
    (spec,) = source.sessions
    assert spec.deleted is not None
    lifetime_us = (spec.deleted - spec.created) / scale * 1_000_000  # in capture time
    first = next(ts for ts, _lt, _f in wire.read_capture(plain.pcap))
    delivered = [ts for ts, _lt, _f in wire.read_capture(tmp_path / "iface.pcap")]
    assert delivered and max(delivered) - first < lifetime_us
    assert 0 < stats.mirrored < plain.mirrored_packets
    # Every mirrorable packet before the deletion was delivered, none after it.
    eligible = [ts for ts, _frame in mirrorable(plain)]
    assert stats.mirrored == sum(1 for ts in eligible if ts - first < lifetime_us)
    assert stats.skipped["outside_lifetime"] == sum(1 for ts in eligible if ts - first >= lifetime_us)


def mirrorable(plain: ScenarioInfo) -> list[tuple[int, bytes]]:
    """The suspect's packets an accept-all + amazon-dns session mirrors (timestamp, frame)."""
    suspect = mr.packed(plain.suspect_ip)
    out = []
    for ts, lt, frame in wire.read_capture(plain.pcap):
        packet = wire.decode(lt, frame)
        if packet.ip and suspect in (packet.src, packet.dst) and not mr.never_mirrored(packet):
            out.append((ts, frame))
    return out


# --- the sensor's own traffic -----------------------------------------------------------------
def test_the_sensor_interface_also_carries_the_sensors_own_traffic(
    cloud: LocalCloud, mirror: Mirror, story: dict[str, ScenarioInfo], tmp_path: Path
) -> None:
    """A real sensor ENI carries its own traffic beside the mirrored stream: its agent's HTTPS to
    SQS and Step Functions, DNS lookups of those endpoints through the VPC resolver, NTP with the
    Time Sync Service. The mirrored stream alone is what a capture filter (UDP 4789 to the
    sensor's address) keeps."""
    plain = story["plain"]
    mirror.session(mirror.filter(accept_all(), ["amazon-dns"]))

    def own(first_us: int) -> Iterator[tuple[int, bytes]]:
        return sensor_traffic.own_traffic(start_us=first_us - 2_000_000, sensor_ip=mirror.sensor_ip,
                                          sensor_mac=mirror.sensor_mac, resolver_ip=RESOLVER_IP, region="us-east-1")

    stats = mirror.deliver(cloud, Path(plain.pcap), tmp_path / "iface.pcap", own_traffic=own,
                           mirrored_out=tmp_path / "stream.pcap")
    packets = rdpcap(str(tmp_path / "iface.pcap"))
    assert len(packets) == stats.written == stats.mirrored + stats.own_packets
    mine = [p for p in packets if not p.haslayer(VXLAN)]
    assert len(mine) == stats.own_packets > 50  # ~1 packet per second of capture
    assert all(mirror.sensor_ip in addresses(p) for p in mine)
    queries = {p[DNS].qd[0].qname.decode() for p in mine if p.haslayer(DNS) and p[IP].dst == RESOLVER_IP}
    assert queries == {"sqs.us-east-1.amazonaws.com.", "states.us-east-1.amazonaws.com."}
    assert any(p.haslayer(UDP) and p[IP].dst == "169.254.169.123" and p[UDP].dport == 123 for p in mine)
    tls = [bytes(p[TCP].payload) for p in mine if p.haslayer(TCP) and p[TCP].dport == 443]
    assert any(b"sqs.us-east-1.amazonaws.com" in payload for payload in tls)  # SNI of the ClientHello
    times = [float(p.time) for p in packets]
    assert times == sorted(times)  # one interface, one clock
    stream = [(ts, f) for ts, _lt, f in wire.read_capture(tmp_path / "stream.pcap")]
    assert stream == [(int(round(float(p.time) * 1e6)), bytes(p)) for p in packets if p.haslayer(VXLAN)]


def test_a_deleted_session_is_forgotten_once_no_sensor_can_read_its_packets(
        cloud: LocalCloud, ec2: Any, vpc: dict[str, str], mirror: Mirror) -> None:
    """AWS keeps nothing of a deleted session (DeleteTrafficMirrorSession; DescribeTrafficMirrorSessions
    no longer lists it); the local data plane keeps it while a sensor may still read packets of its
    lifetime, then forgets it: a long-running local cloud does not keep every session of every run."""
    filter_id = mirror.filter(accept_all())
    old = mirror.session(filter_id)
    ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=old)
    assert old in mirror_ledger.session_ids()  # its sensor may still collect
    ec2.delete_traffic_mirror_target(TrafficMirrorTargetId=mirror.target)
    ec2.delete_network_interface(NetworkInterfaceId=mirror.sensor_eni)  # that sensor is gone

    sensor = ec2.create_network_interface(SubnetId=vpc["subnet"], PrivateIpAddress="10.0.1.251")["NetworkInterface"]
    target = ec2.create_traffic_mirror_target(NetworkInterfaceId=sensor["NetworkInterfaceId"])[
        "TrafficMirrorTarget"]["TrafficMirrorTargetId"]
    new = mirror.session(filter_id, target=target)
    ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=new)  # a deletion forgets what nobody reads
    kept = mirror_ledger.session_ids()
    assert old not in kept and new in kept
    (source,) = mirror_ledger.sources_targeting(ec2_backend(cloud), {sensor["NetworkInterfaceId"]})
    assert [s.session_id for s in source.sessions] == [new]
    ec2.delete_traffic_mirror_target(TrafficMirrorTargetId=target)
    ec2.delete_network_interface(NetworkInterfaceId=sensor["NetworkInterfaceId"])
