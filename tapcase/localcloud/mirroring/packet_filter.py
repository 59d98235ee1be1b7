"""What VPC Traffic Mirroring copies, decided per packet like AWS (pure: no moto, no boto3).

The facts, from AWS's documentation:

- A filter's rules are evaluated per direction (ingress: traffic the source ENI receives; egress:
  traffic it sends) "from the lowest value to the highest value. The first rule that matches the
  traffic determines whether the traffic is mirrored. If you don't add any rules, then no traffic
  is mirrored." (Traffic mirror filter concepts.) A rule matches on protocol (unset: all), source
  and destination CIDR blocks, and port ranges, which "apply to the TCP and UDP protocols"
  (CreateTrafficMirrorFilterRule).
- "By default, Amazon DNS network services are not eligible for Traffic Mirror ... When a network
  service is added to the Traffic Mirror filter, all traffic related to that network service will
  be mirrored" (ModifyTrafficMirrorFilterNetworkServices); "all traffic (inbound and outbound)"
  (filter concepts). Amazon DNS is the Route 53 Resolver at the primary VPC CIDR's base plus two,
  169.254.169.253 and fd00:ec2::253 (Amazon VPC user guide, "Understanding Amazon DNS").
- "Traffic Mirroring can't mirror the following traffic types: ARP, DHCP, Instance metadata
  service, NTP, Windows activation" (Traffic Mirroring limitations). NTP here is the Amazon Time
  Sync Service (169.254.169.123, fd00:ec2::123): the real AWS mirroring capture of ../shared
  (suricata-verify vxlan-decoder-03) carries NTP to a public server. Windows activation is the
  KMS at 169.254.169.250/251; instance metadata 169.254.169.254 and fd00:ec2::254.
- "The session number determines the order in which sessions are evaluated when an interface is
  used by multiple sessions. The first session with a matching filter is the one that mirrors the
  packets" (CreateTrafficMirrorSession): each packet is mirrored once per source ENI.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any

from tapcase.localcloud.mirroring.wire import PROTO_TCP, PROTO_UDP, Decoded

INGRESS, EGRESS = "ingress", "egress"
AMAZON_DNS = "amazon-dns"

RESOLVER_LINK_LOCAL = ("169.254.169.253", "fd00:ec2::253")
INSTANCE_METADATA = ("169.254.169.254", "fd00:ec2::254")
TIME_SYNC = ("169.254.169.123", "fd00:ec2::123")
WINDOWS_ACTIVATION = ("169.254.169.250", "169.254.169.251")
DHCP_PORTS = frozenset({67, 68, 546, 547})  # DHCPv4 server/client, DHCPv6 client/server

#: Why a packet is not mirrored (the keys of the data plane's counters).
NOT_IP = "not_ip"  # ARP and any non-IP frame
NOT_ELIGIBLE = "not_eligible"  # DHCP, instance metadata, Time Sync NTP, Windows activation
NO_SOURCE = "no_source"  # neither end is an address of a mirrored ENI
AMAZON_DNS_NOT_ADDED = "amazon_dns_not_added"  # resolver traffic, no filter with amazon-dns
REJECTED = "rejected"  # no session's filter accepts it (rejected or no matching rule)


def packed(ip: str) -> bytes:
    """An IPv4 or IPv6 address as the bytes a packet carries."""
    return ipaddress.ip_address(ip).packed


_NEVER = frozenset(packed(ip) for ip in (*INSTANCE_METADATA, *TIME_SYNC, *WINDOWS_ACTIVATION))


def resolver_addresses(vpc_primary_cidr: str | None) -> frozenset[bytes]:
    """The Amazon DNS server's addresses for a VPC: primary CIDR base + 2, and the link-local ones."""
    found = {packed(ip) for ip in RESOLVER_LINK_LOCAL}
    if vpc_primary_cidr:
        network = ipaddress.ip_network(vpc_primary_cidr, strict=False)
        found.add((network.network_address + 2).packed)
    return frozenset(found)


@dataclass(frozen=True)
class Rule:
    """One filter rule, compiled for matching."""

    number: int
    accept: bool
    protocol: int | None
    version: int
    source: tuple[int, int]  # (network, mask) as integers
    destination: tuple[int, int]
    source_ports: tuple[int, int] | None
    destination_ports: tuple[int, int] | None

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Rule:
        """From the local cloud's rule fields (``rule_number``, ``rule_action``, ``protocol``,
        ``source_cidr_block``, ``destination_cidr_block``, ``*_port_range`` as API dicts)."""
        source = ipaddress.ip_network(str(fields["source_cidr_block"]), strict=False)
        destination = ipaddress.ip_network(str(fields["destination_cidr_block"]), strict=False)

        def ports(value: dict[str, int] | None) -> tuple[int, int] | None:
            return None if not value else (int(value.get("FromPort", 0)), int(value.get("ToPort", 65535)))

        return cls(
            number=int(fields["rule_number"]),
            accept=fields["rule_action"] == "accept",
            protocol=None if fields.get("protocol") is None else int(fields["protocol"]),
            version=source.version,
            source=(int(source.network_address), int(source.netmask)),
            destination=(int(destination.network_address), int(destination.netmask)),
            source_ports=ports(fields.get("source_port_range")),
            destination_ports=ports(fields.get("destination_port_range")),
        )

    def matches(self, packet: Decoded, src: int, dst: int) -> bool:
        if packet.ip != self.version:
            return False
        if self.protocol is not None and self.protocol != packet.proto:
            return False
        if (src & self.source[1]) != self.source[0] or (dst & self.destination[1]) != self.destination[0]:
            return False
        for ports, value in ((self.source_ports, packet.sport), (self.destination_ports, packet.dport)):
            if ports is not None:
                if packet.proto not in (PROTO_TCP, PROTO_UDP) or value < 0:
                    return False
                if not ports[0] <= value <= ports[1]:
                    return False
        return True


@dataclass(frozen=True)
class FilterSpec:
    """A traffic mirror filter: rules per direction in ascending number, and network services."""

    filter_id: str
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]
    network_services: frozenset[str] = frozenset()

    @classmethod
    def build(cls, filter_id: str, rules: list[tuple[str, Rule]], network_services: list[str]) -> FilterSpec:
        by_direction: dict[str, list[Rule]] = {INGRESS: [], EGRESS: []}
        for direction, rule in rules:
            by_direction[direction].append(rule)
        return cls(
            filter_id,
            tuple(sorted(by_direction[INGRESS], key=lambda r: r.number)),
            tuple(sorted(by_direction[EGRESS], key=lambda r: r.number)),
            frozenset(network_services),
        )

    def accepts(self, direction: str, packet: Decoded, dns_service: bool) -> bool:
        """Whether this filter mirrors the packet (``dns_service``: it is Amazon DNS traffic)."""
        if dns_service:
            return AMAZON_DNS in self.network_services
        src = int.from_bytes(packet.src, "big")
        dst = int.from_bytes(packet.dst, "big")
        for rule in self.ingress if direction == INGRESS else self.egress:
            if rule.matches(packet, src, dst):
                return rule.accept
        return False


@dataclass(frozen=True)
class SessionSpec:
    """A traffic mirror session as the data plane needs it (times are ``time.time()`` seconds)."""

    session_id: str
    number: int
    source_eni: str
    target_id: str
    target_eni: str | None  # None for NLB and GWLB-endpoint targets
    vni: int
    packet_length: int | None
    filter: FilterSpec
    created: float
    deleted: float | None = None

    def alive(self, when: float | None) -> bool:
        """Whether the session exists at ``when`` (None: any time it existed)."""
        if when is None:
            return True
        return self.created <= when and (self.deleted is None or when < self.deleted)


@dataclass(frozen=True)
class SourceSpec:
    """A mirrored network interface: its addresses, MAC, resolver addresses and every session on it
    (whatever their target), lowest session number first."""

    eni_id: str
    primary_ip: str
    mac: str
    addresses: frozenset[bytes]
    resolvers: frozenset[bytes]
    sessions: tuple[SessionSpec, ...] = field(default_factory=tuple)

    def direction(self, packet: Decoded) -> str | None:
        if packet.src in self.addresses:
            return EGRESS
        if packet.dst in self.addresses:
            return INGRESS
        return None


def never_mirrored(packet: Decoded) -> bool:
    """DHCP, instance metadata, Amazon Time Sync NTP and Windows activation are never mirrored."""
    if packet.src in _NEVER or packet.dst in _NEVER:
        return True
    return packet.proto == PROTO_UDP and (packet.sport in DHCP_PORTS and packet.dport in DHCP_PORTS)


def candidates(source: SourceSpec, packet: Decoded) -> tuple[str | None, tuple[SessionSpec, ...], str | None]:
    """For one packet and one source ENI: ``(direction, sessions whose filter accepts it in session
    order, reason)``. The reason says why nothing accepts it; the first session alive when the
    packet passes is the one that mirrors it."""
    direction = source.direction(packet)
    if direction is None:
        return None, (), NO_SOURCE
    if never_mirrored(packet):
        return direction, (), NOT_ELIGIBLE
    peer = packet.dst if direction == EGRESS else packet.src
    dns_service = peer in source.resolvers
    accepting = tuple(s for s in source.sessions if s.filter.accepts(direction, packet, dns_service))
    if accepting:
        return direction, accepting, None
    return direction, (), AMAZON_DNS_NOT_ADDED if dns_service else REJECTED


def ip_text(address: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET if len(address) == 4 else socket.AF_INET6, address)


__all__ = [
    "AMAZON_DNS", "AMAZON_DNS_NOT_ADDED", "DHCP_PORTS", "EGRESS", "FilterSpec", "INGRESS", "INSTANCE_METADATA",
    "NOT_ELIGIBLE", "NOT_IP", "NO_SOURCE", "REJECTED", "RESOLVER_LINK_LOCAL", "Rule", "SessionSpec", "SourceSpec",
    "TIME_SYNC", "WINDOWS_ACTIVATION", "candidates", "ip_text", "never_mirrored", "packed", "resolver_addresses",
]
