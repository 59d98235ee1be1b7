"""Captures at wire level (mirroring.wire) and filter rules (mirroring.packet_filter), without the local cloud."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import PcapNgWriter, PcapWriter

from tapcase.localcloud.mirroring import packet_filter as mr
from tapcase.localcloud.mirroring import wire
from tests.conftest import shared

ANY = "0.0.0.0/0"
AWS_CAPTURE = ("suricata-verify", "vxlan-decoder-03", "vxlan.pcap")


def test_reads_classic_pcap_in_both_byte_orders_and_nanoseconds(tmp_path: Path) -> None:
    frames = [bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000 + i, dport=53)) for i in range(5)]
    expected = [(1_717_423_200_000_000 + i * 1_234_567, frames[i]) for i in range(5)]
    for endianness, nano in (("<", False), (">", False), ("<", True), (">", True)):
        path = tmp_path / f"{endianness}{nano}.pcap"
        writer = PcapWriter(str(path), linktype=1, endianness=endianness, nano=nano, sync=True)
        writer.write_header(None)
        for ts, frame in expected:
            sec, frac = divmod(ts, 1_000_000)
            writer.write_packet(frame, sec=sec, usec=frac * 1000 if nano else frac)
        writer.close()
        assert [(ts, data) for ts, _lt, data in wire.read_capture(path)] == expected


def test_reads_pcapng(tmp_path: Path) -> None:
    path = tmp_path / "c.pcapng"
    writer = PcapNgWriter(str(path))
    frames = [Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=40000 + i, dport=443) for i in range(4)]
    for i, frame in enumerate(frames):
        frame.time = 1_717_423_200 + i * 0.25
        writer.write(frame)
    writer.close()
    records = list(wire.read_capture(path))
    assert [data for _ts, _lt, data in records] == [bytes(f) for f in frames]
    assert [ts for ts, _lt, _data in records] == [1_717_423_200_000_000 + i * 250_000 for i in range(4)]
    assert {lt for _ts, lt, _data in records} == {1}


def test_bad_captures_are_refused_with_a_capture_error(tmp_path: Path) -> None:
    data = shared(*AWS_CAPTURE).read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) // 2 + 7])
    with pytest.raises(wire.CaptureError, match="truncated"):
        list(wire.read_capture(cut))
    text = tmp_path / "notes.txt"
    text.write_text("not a capture")
    with pytest.raises(wire.CaptureError, match="not a pcap"):
        list(wire.read_capture(text))
    with pytest.raises(wire.CaptureError, match="not found"):
        list(wire.read_capture(tmp_path / "missing.pcap"))


def test_decode_finds_addresses_and_ports_behind_vlan_tags_and_on_raw_ip_links() -> None:
    from scapy.layers.l2 import Dot1Q

    tagged = bytes(Ether() / Dot1Q(vlan=7) / IP(src="10.0.1.26", dst="198.51.100.23") / TCP(sport=40000, dport=80))
    packet = wire.decode(wire.LINKTYPE_ETHERNET, tagged)
    assert (packet.ip, packet.proto, packet.sport, packet.dport) == (4, 6, 40000, 80)
    assert socket.inet_ntoa(packet.src) == "10.0.1.26" and packet.l3 == 18
    raw = bytes(IP(src="10.0.1.26", dst="10.0.0.2") / UDP(sport=5353, dport=53))
    assert wire.decode(wire.LINKTYPE_RAW, raw).dport == 53
    fragment = bytes(IP(src="10.0.1.26", dst="10.0.0.2", frag=185) / (b"x" * 20))
    assert wire.decode(wire.LINKTYPE_RAW, fragment).sport == -1  # no ports in a later fragment
    assert wire.decode(wire.LINKTYPE_ETHERNET, bytes(Ether() / ARP())).ip == 0



def test_rule_matching_follows_protocol_cidr_and_ports() -> None:
    """CreateTrafficMirrorFilterRule: Protocol (unset: all), Source/DestinationCidrBlock, and port
    ranges that "apply to the TCP and UDP protocols"; an IPv6 block never matches IPv4 traffic."""
    packet = wire.decode(wire.LINKTYPE_RAW, bytes(IP(src="10.0.1.26", dst="198.51.100.23") / TCP(sport=40000, dport=80)))
    src, dst = int.from_bytes(packet.src, "big"), int.from_bytes(packet.dst, "big")

    def rule(**fields: Any) -> mr.Rule:
        return mr.Rule.from_fields({"rule_number": 1, "rule_action": "accept", "source_cidr_block": ANY,
                                    "destination_cidr_block": ANY, **fields})

    assert rule().matches(packet, src, dst)
    assert rule(protocol=6).matches(packet, src, dst) and not rule(protocol=17).matches(packet, src, dst)
    assert rule(destination_cidr_block="198.51.100.0/24").matches(packet, src, dst)
    assert not rule(destination_cidr_block="198.51.101.0/24").matches(packet, src, dst)
    assert not rule(source_cidr_block="::/0", destination_cidr_block="::/0").matches(packet, src, dst)
    assert rule(protocol=6, destination_port_range={"FromPort": 80, "ToPort": 80}).matches(packet, src, dst)
    assert not rule(protocol=6, source_port_range={"FromPort": 1, "ToPort": 1024}).matches(packet, src, dst)
    fragment = wire.decode(wire.LINKTYPE_RAW, bytes(IP(src="10.0.1.26", dst="198.51.100.23", proto=6, frag=100)))
    assert not rule(protocol=6, destination_port_range={"FromPort": 0, "ToPort": 65535}).matches(fragment, src, dst)
