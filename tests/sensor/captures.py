"""Captures of what a sensor's interface receives, built for the capture-filter and pcap tests.

The mirrored part is the real AWS Traffic Mirroring capture (suricata-verify vxlan-decoder-03:
VXLAN from 172.31.0.238 to the sensor 172.31.17.188); the sensor's own traffic is written here
with scapy, the way a sensor's ENI carries it next to the mirrored stream: DNS for an AWS
endpoint through the VPC resolver, an HTTPS connection to SQS, NTP to the Amazon Time Sync
Service. Large captures for the size cap are VXLAN frames built from one scapy template.
"""

from __future__ import annotations

import struct
from pathlib import Path

from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.layers.ntp import NTP
from scapy.layers.vxlan import VXLAN
from scapy.packet import Packet, Raw
from scapy.utils import rdpcap, wrpcap

from .conftest import SV

VXLAN03 = SV / "vxlan-decoder-03" / "vxlan.pcap"
SENSOR_IP = "172.31.17.188"  # the VXLAN destination of the real capture: the sensor's ENI
SOURCE_IP = "172.31.0.238"  # the mirrored instance
RESOLVER = "172.31.0.2"
SQS_IP = "52.119.188.10"
OWN_DNS_NAME = "sqs.eu-central-1.amazonaws.com"


def own_traffic(start: float) -> list[Packet]:
    """The sensor's own packets: DNS through the VPC resolver, an HTTPS connection to SQS, NTP."""

    def out(dst: str) -> Packet:
        return Ether(src="02:aa:00:00:00:01", dst="02:bb:00:00:00:01") / IP(src=SENSOR_IP, dst=dst)

    def back(src: str) -> Packet:
        return Ether(src="02:bb:00:00:00:01", dst="02:aa:00:00:00:01") / IP(src=src, dst=SENSOR_IP)

    client, server = {"sport": 43210, "dport": 443}, {"sport": 443, "dport": 43210}
    packets = [
        out(RESOLVER) / UDP(sport=53001, dport=53) / DNS(id=7, rd=1, qd=DNSQR(qname=OWN_DNS_NAME)),
        back(RESOLVER) / UDP(sport=53, dport=53001) / DNS(id=7, qr=1, rd=1, ra=1, qd=DNSQR(qname=OWN_DNS_NAME)),
        out(SQS_IP) / TCP(flags="S", seq=1000, **client),
        back(SQS_IP) / TCP(flags="SA", seq=5000, ack=1001, **server),
        out(SQS_IP) / TCP(flags="A", seq=1001, ack=5001, **client),
        out(SQS_IP) / TCP(flags="PA", seq=1001, ack=5001, **client) / Raw(b"\x16\x03\x01" + b"x" * 200),
        back(SQS_IP) / TCP(flags="A", seq=5001, ack=1204, **server),
        out("169.254.169.123") / UDP(sport=123, dport=123) / NTP(),
    ]
    built = []
    for n, packet in enumerate(packets):
        frame = Ether(bytes(packet))
        frame.time = start + 0.5 * n
        built.append(frame)
    return built


def mixed_capture(path: Path) -> tuple[int, int]:
    """The real mirrored capture with the sensor's own traffic interleaved: (mirrored, own) packets."""
    mirrored = list(rdpcap(str(VXLAN03)))
    own = own_traffic(float(mirrored[10].time) + 0.001)
    merged = sorted(mirrored + own, key=lambda p: float(p.time))
    wrpcap(str(path), merged)
    return len(mirrored), len(own)


def _vxlan_template(sensor_ip: str, payload: int) -> bytes:
    inner = (
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / IP(src="10.0.1.10", dst="198.51.100.7")
        / TCP(sport=40000, dport=443, flags="A", seq=1)
        / Raw(b"\x00" * payload)
    )
    outer = (
        Ether(src="02:00:00:00:00:03", dst="02:00:00:00:00:04")
        / IP(src="10.0.1.10", dst=sensor_ip)
        / UDP(sport=50000, dport=4789)
        / VXLAN(vni=4242)
        / inner
    )
    return bytes(outer)


def large_vxlan_capture(path: Path, megabytes: float, *, sensor_ip: str = SENSOR_IP, start: float = 1_700_000_000.0) -> int:
    """A capture of ~``megabytes`` MiB: one inner TCP stream in VXLAN to the sensor, 1 ms apart."""
    frame = bytearray(_vxlan_template(sensor_ip, 1400))
    seq_offset = 14 + 20 + 8 + 8 + 14 + 20 + 4  # outer Ethernet/IP/UDP/VXLAN, inner Ethernet/IP, TCP seq
    count = int(megabytes * 1024 * 1024 // (len(frame) + 16))
    with path.open("wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for n in range(count):
            struct.pack_into("!I", frame, seq_offset, 1 + n * 1400)
            ts = start + n / 1000
            fh.write(struct.pack("<IIII", int(ts), round((ts % 1) * 1_000_000) % 1_000_000, len(frame), len(frame)))
            fh.write(frame)
    return count


def records(path: Path) -> list[tuple[int, int, bytes]]:
    """(seconds, microseconds, frame) of every record of a classic little-endian pcap file, to
    compare captures packet by packet (read directly: scapy is too slow for 10 MiB)."""
    data = path.read_bytes()
    assert data[:4] == b"\xd4\xc3\xb2\xa1", f"{path}: not a little-endian microsecond pcap"
    out, offset = [], 24
    while offset < len(data):
        sec, usec, caplen, _ = struct.unpack_from("<IIII", data, offset)
        out.append((sec, usec, data[offset + 16 : offset + 16 + caplen]))
        offset += 16 + caplen
    return out
