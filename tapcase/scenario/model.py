"""Fixed identities of the demo environment and the :class:`ScenarioInfo` a generation returns.

Everything a story needs to be reproducible and to match its sample GuardDuty finding lives here:
the account, VPC, subnet, the suspect instance of each story, the sensor, and the external peers.
External peers use the documentation ranges of RFC 5737 (``192.0.2.0/24`` benign sites,
``198.51.100.0/24`` command-and-control and exfiltration servers, ``203.0.113.0/24`` attackers) so
the captures can never be mistaken for traffic to real hosts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# The capture window of every scenario starts here (no wall clock anywhere): 2024-06-03T14:00:00Z.
EPOCH = 1_717_423_200
EPOCH_DT = datetime.fromtimestamp(EPOCH, tz=UTC)

ACCOUNT_ID = "111122223333"
REGION = "us-east-1"
AVAILABILITY_ZONE = "us-east-1a"
DETECTOR_ID = "a2c8e5f1b3d94e6f8a0b1c2d3e4f5a6b"
VPC_ID = "vpc-0f1e2d3c4b5a69780"
VPC_CIDR = "10.0.0.0/16"
SUBNET_ID = "subnet-0f1e2d3c4b5a69781"
SUBNET_CIDR = "10.0.1.0/24"
SECURITY_GROUP_ID = "sg-0f1e2d3c4b5a69782"
SECURITY_GROUP_NAME = "web-app"
# The VPC's Amazon-provided DNS resolver: the VPC base address plus two.
RESOLVER_IP = "10.0.0.2"
INSTANCE_TYPE = "m5.large"  # Nitro, supports traffic mirroring
IMAGE_ID = "ami-0c7217cdde317cfec"
LAUNCH_TIME = "2024-05-20T08:12:41Z"

# The mirror target: a sensor in the suspect's subnet (same AZ, no cross-AZ charge).
SENSOR_IP = "10.0.1.200"
SENSOR_ENI_MAC = "06:5e:2a:9c:41:c8"
# Source MAC of the outer frame as the sensor receives it (the VPC's virtual router).
OUTER_ROUTER_MAC = "06:3b:77:d0:12:01"
# The suspect-side virtual router MAC seen inside the mirrored frames.
INNER_ROUTER_MAC = "02:4a:1f:63:9e:01"


@dataclass(frozen=True)
class Suspect:
    """The EC2 instance a story is about (one ENI)."""

    instance_id: str
    eni_id: str
    private_ip: str
    mac: str
    public_ip: str
    name_tag: str

    @property
    def private_dns_name(self) -> str:
        return "ip-" + self.private_ip.replace(".", "-") + ".ec2.internal"

    @property
    def public_dns_name(self) -> str:
        return "ec2-" + self.public_ip.replace(".", "-") + ".compute-1.amazonaws.com"


@dataclass(frozen=True)
class Site:
    """A benign service the suspect talks to in the background."""

    name: str
    ip: str
    ipv6: str
    port: int = 443
    tls13: bool = True


# Background services of an ordinary Linux web server in us-east-1 (addresses are documentation ones).
BENIGN_SITES: tuple[Site, ...] = (
    Site("ssm.us-east-1.amazonaws.com", "192.0.2.11", "2001:db8:11::1", tls13=False),
    Site("ec2messages.us-east-1.amazonaws.com", "192.0.2.12", "2001:db8:12::1", tls13=False),
    Site("s3.us-east-1.amazonaws.com", "192.0.2.13", "2001:db8:13::1", tls13=False),
    Site("api.github.com", "192.0.2.14", "2001:db8:14::1"),
    Site("pypi.org", "192.0.2.15", "2001:db8:15::1"),
    Site("files.pythonhosted.org", "192.0.2.16", "2001:db8:16::1"),
)
APT_SITE = Site("security.ubuntu.com", "192.0.2.17", "2001:db8:17::1", port=80, tls13=False)


@dataclass
class Expected:
    """What an analysis of the capture should find (the answers tests and the demo check)."""

    # c2-dns
    c2_domain: str | None = None
    c2_ip: str | None = None
    c2_query_count: int | None = None
    txt_query_count: int | None = None
    nxdomain_count: int | None = None
    dga_domains: list[str] = field(default_factory=list)
    dga_resolved_domain: str | None = None
    # beaconing
    beacon_peer_ip: str | None = None
    beacon_port: int | None = None
    beacon_host: str | None = None
    beacon_uri: str | None = None
    beacon_user_agent: str | None = None
    beacon_interval_seconds: float | None = None
    beacon_jitter_seconds: float | None = None
    beacon_count: int | None = None
    beacon_request_bytes: int | None = None
    # ssh-bruteforce
    bruteforce_source_ip: str | None = None
    bruteforce_port: int | None = None
    bruteforce_sessions: int | None = None
    bruteforce_client_banner: str | None = None
    ssh_server_banner: str | None = None
    # exfiltration
    exfil_peer_ip: str | None = None
    exfil_port: int | None = None
    exfil_sni: str | None = None
    exfil_bytes: int | None = None
    exfil_tcp_payload_bytes: int | None = None
    # every story
    suspicious_ips: list[str] = field(default_factory=list)
    suspicious_domains: list[str] = field(default_factory=list)
    benign_domains: list[str] = field(default_factory=list)
    # The local port of the finding's connection (the first malicious session of seed 0).
    finding_local_port: int | None = None
    finding_remote_port: int | None = None


@dataclass
class ScenarioInfo:
    """What :func:`tapcase.scenario.generate` wrote, and what analysing it should find."""

    name: str
    description: str
    finding_type: str
    seed: int
    pcap: str
    suspect_ip: str
    instance_id: str
    eni_id: str
    subnet_id: str
    vpc_id: str
    account_id: str
    region: str
    availability_zone: str
    sensor_ip: str
    vni: int
    duration_seconds: int
    start_time: datetime
    end_time: datetime
    first_packet_time: datetime | None
    last_packet_time: datetime | None
    packets: int
    bytes: int
    file_bytes: int
    sha256: str
    sample_finding: str
    expected: Expected
    # "plain": the suspect's subnet as captured; "vxlan": what an accept-all mirror delivers.
    form: str = "vxlan"
    # Frames on the suspect's ENI (to or from its address, ARP included).
    suspect_packets: int = 0
    # What a mirror session with an accept-all filter and amazon-dns delivers (VXLAN packets),
    # and their bytes once encapsulated (+50 each).
    mirrored_packets: int = 0
    mirrored_bytes: int = 0
    # Of the mirrored packets: DNS between the suspect and the VPC resolver (needs amazon-dns).
    resolver_packets: int = 0
    # The suspect's traffic AWS never mirrors (ARP, DHCP, instance metadata, Time Sync NTP).
    not_mirrorable_packets: int = 0
    # Traffic of other hosts of the subnet, and their addresses (never mirrored from the suspect).
    neighbour_packets: int = 0
    neighbour_ips: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key, value in list(out.items()):
            if isinstance(value, datetime):
                out[key] = value.isoformat().replace("+00:00", "Z")
        return out


def iso(ts: float) -> str:
    """ISO-8601 UTC with milliseconds, the way GuardDuty writes times."""
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
