"""Streaming validation of capture files (pcap and pcapng) before an engine sees them.

Suricata exits 0 on a truncated or unreadable pcap (it logs ``E: pcap: ...`` and stops early),
so the agent checks the file itself first: the header, every record's length, and the end of
the file. It also counts packets, the first and last timestamps, and how many packets are
VXLAN (UDP destination port 4789), the encapsulation of VPC Traffic Mirroring, and, given a
:class:`~tapcase_sensor.capture_filter.CaptureFilter`, how many packets the engines' capture
filter passes (what they must report having seen).
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from tapcase_contract.limits import VXLAN_PORT
from tapcase_sensor.capture_filter import CaptureFilter
from tapcase_sensor.errors import SensorBadCapture

# Classic pcap magic numbers (as read little-endian) -> (endianness, timestamp divisor).
_PCAP_MAGICS: dict[bytes, tuple[str, int]] = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000_000),
    b"\xa1\xb2\xc3\xd4": (">", 1_000_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1_000_000_000),
    b"\xa1\xb2\x3c\x4d": (">", 1_000_000_000),
}
_PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
_MAX_RECORD = 0x4000000  # 64 MiB: no sane capture holds a larger frame

# Link types whose packets we can look into for VXLAN.
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229


@dataclass
class PcapInfo:
    """What a valid capture file holds."""

    path: str
    format: str  # "pcap" | "pcapng"
    bytes: int
    sha256: str
    packets: int
    first_ts: float | None
    last_ts: float | None
    vxlan_packets: int
    linktypes: list[int] = field(default_factory=list)
    # VXLAN packets by VNI (those the capture filter passes, when one is given).
    vnis: dict[int, int] = field(default_factory=dict)
    matched_packets: int | None = None  # packets the capture filter passes (None: no filter given)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _udp_dport(linktype: int, data: bytes) -> int | None:
    """The UDP destination port of an IPv4/IPv6 packet, or None."""
    udp = _udp(linktype, data)
    return udp[0] if udp else None


def vxlan_vni(linktype: int, data: bytes) -> int | None:
    """The VNI of a VXLAN packet (UDP destination port 4789, I flag set), or None."""
    udp = _udp(linktype, data)
    if udp is None or udp[0] != VXLAN_PORT or len(data) < udp[1] + 16 or not data[udp[1] + 8] & 0x08:
        return None
    return int.from_bytes(data[udp[1] + 12 : udp[1] + 15], "big")


def _udp(linktype: int, data: bytes) -> tuple[int, int] | None:
    """(destination port, offset of the UDP header) of an IPv4/IPv6 UDP packet, or None."""
    offset = 0
    ethertype: int | None = None
    if linktype == LINKTYPE_ETHERNET:
        if len(data) < 14:
            return None
        ethertype = struct.unpack_from("!H", data, 12)[0]
        offset = 14
        while ethertype in (0x8100, 0x88A8, 0x9100) and len(data) >= offset + 4:
            ethertype = struct.unpack_from("!H", data, offset + 2)[0]
            offset += 4
    elif linktype == LINKTYPE_LINUX_SLL:
        if len(data) < 16:
            return None
        ethertype = struct.unpack_from("!H", data, 14)[0]
        offset = 16
    elif linktype == LINKTYPE_NULL:
        if len(data) < 4:
            return None
        family = struct.unpack_from("<I", data, 0)[0]
        if family > 0xFFFF:
            family = struct.unpack_from(">I", data, 0)[0]
        ethertype = 0x0800 if family == 2 else 0x86DD if family in (10, 24, 28, 30) else None
        offset = 4
    elif linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
        if not data:
            return None
        version = data[0] >> 4
        ethertype = 0x0800 if version == 4 else 0x86DD if version == 6 else None
    if ethertype == 0x0800:
        if len(data) < offset + 20 or data[offset + 9] != 17:
            return None
        ihl = (data[offset] & 0x0F) * 4
        frag = struct.unpack_from("!H", data, offset + 6)[0] & 0x1FFF
        if frag or len(data) < offset + ihl + 4:
            return None
        return int(struct.unpack_from("!H", data, offset + ihl + 2)[0]), offset + ihl
    if ethertype == 0x86DD:
        if len(data) < offset + 44 or data[offset + 6] != 17:
            return None
        return int(struct.unpack_from("!H", data, offset + 42)[0]), offset + 40
    return None


class _Scanner:
    def __init__(self, path: Path, capture_filter: CaptureFilter | None = None) -> None:
        self.path = path
        self.capture_filter = capture_filter
        self.matched = 0
        self.size = path.stat().st_size
        self.digest = hashlib.sha256()
        self.offset = 0
        self.packets = 0
        self.vxlan = 0
        self.vnis: Counter[int] = Counter()
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self.linktypes: list[int] = []

    def read(self, fh: BinaryIO, n: int, what: str) -> bytes:
        data = fh.read(n)
        self.digest.update(data)
        if len(data) != n:
            raise SensorBadCapture(
                f"{self.path}: truncated capture: {what} at byte offset {self.offset} needs "
                f"{n} bytes but only {len(data)} remain (file size {self.size})"
            )
        self.offset += n
        return data

    def packet(self, ts: float, linktype: int, data: bytes) -> None:
        self.packets += 1
        if self.first_ts is None or ts < self.first_ts:
            self.first_ts = ts
        if self.last_ts is None or ts > self.last_ts:
            self.last_ts = ts
        self.classify(linktype, data)

    def classify(self, linktype: int, data: bytes) -> None:
        if _udp_dport(linktype, data) == VXLAN_PORT:
            self.vxlan += 1
        passes = self.capture_filter is None or self.capture_filter.matches(linktype, data)
        if self.capture_filter is not None and passes:
            self.matched += 1
        vni = vxlan_vni(linktype, data) if passes else None
        if vni is not None:
            self.vnis[vni] += 1

    # -- classic pcap ---------------------------------------------------------------------
    def scan_pcap(self, fh: BinaryIO, magic: bytes) -> None:
        endian, divisor = _PCAP_MAGICS[magic]
        header = self.read(fh, 20, "the pcap file header")
        major, _minor, _zone, _sigfigs, snaplen, linktype = struct.unpack(endian + "HHiIII", header)
        if major != 2:
            raise SensorBadCapture(f"{self.path}: unsupported pcap version {major}")
        linktype &= 0x0FFFFFFF
        self.linktypes = [linktype]
        limit = max(snaplen, 262_144)
        record = struct.Struct(endian + "IIII")
        while True:
            head = fh.read(16)
            if not head:
                return
            self.digest.update(head)
            if len(head) < 16:
                raise SensorBadCapture(
                    f"{self.path}: truncated capture: packet {self.packets + 1} header at byte "
                    f"offset {self.offset} has {len(head)} of 16 bytes"
                )
            self.offset += 16
            sec, frac, incl_len, _orig_len = record.unpack(head)
            if incl_len > limit or incl_len > _MAX_RECORD:
                raise SensorBadCapture(
                    f"{self.path}: corrupt capture: packet {self.packets + 1} at byte offset "
                    f"{self.offset - 16} declares {incl_len} captured bytes (snaplen {snaplen})"
                )
            data = self.read(fh, incl_len, f"packet {self.packets + 1}")
            self.packet(sec + frac / divisor, linktype, data)

    # -- pcapng ---------------------------------------------------------------------------
    def scan_pcapng(self, fh: BinaryIO) -> None:
        endian = "<"
        interfaces: list[tuple[int, float]] = []  # (linktype, seconds per tick)
        first = True
        while True:
            head = fh.read(8)
            if not head:
                if first:
                    raise SensorBadCapture(f"{self.path}: empty pcapng file")
                return
            self.digest.update(head)
            if len(head) < 8:
                raise SensorBadCapture(
                    f"{self.path}: truncated capture: block header at byte offset {self.offset}"
                )
            self.offset += 8
            btype_raw = head[:4]
            if btype_raw == _PCAPNG_SHB:
                bom = self.read(fh, 4, "section header byte-order magic")
                if bom == b"\x4d\x3c\x2b\x1a":
                    endian = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    endian = ">"
                else:
                    raise SensorBadCapture(f"{self.path}: bad pcapng byte-order magic {bom.hex()}")
                interfaces = []
                body_start = bom
            elif first:
                raise SensorBadCapture(f"{self.path}: pcapng file does not start with a section header")
            else:
                body_start = b""
            first = False
            btype = struct.unpack(endian + "I", btype_raw)[0]
            total = struct.unpack(endian + "I", head[4:8])[0]
            if total < 12 or total % 4 or total > _MAX_RECORD:
                raise SensorBadCapture(
                    f"{self.path}: corrupt pcapng block of length {total} at byte offset {self.offset - 8}"
                )
            rest = total - 12 - len(body_start)
            if rest < 0:
                raise SensorBadCapture(f"{self.path}: corrupt pcapng section header at byte offset {self.offset - 12}")
            body = body_start + self.read(fh, rest, f"pcapng block type {btype:#x}")
            trailer = self.read(fh, 4, "pcapng block trailer")
            if struct.unpack(endian + "I", trailer)[0] != total:
                raise SensorBadCapture(
                    f"{self.path}: corrupt pcapng block at byte offset {self.offset - total}: "
                    "trailing length differs"
                )
            if btype == 1:  # Interface Description Block
                linktype = struct.unpack_from(endian + "H", body, 0)[0]
                interfaces.append((linktype, _if_tsresol(body[8:], endian)))
                if linktype not in self.linktypes:
                    self.linktypes.append(linktype)
            elif btype in (6, 2):  # Enhanced / obsolete Packet Block
                if btype == 6:
                    iface, ts_high, ts_low, caplen = struct.unpack_from(endian + "IIII", body, 0)
                else:
                    iface, _drops, ts_high, ts_low, caplen = struct.unpack_from(endian + "HHIII", body, 0)
                if iface >= len(interfaces) or caplen > len(body) - 20:
                    raise SensorBadCapture(
                        f"{self.path}: corrupt pcapng packet block at byte offset {self.offset - total}"
                    )
                linktype, tick = interfaces[iface]
                self.packet(((ts_high << 32) | ts_low) * tick, linktype, body[20 : 20 + caplen])
            elif btype == 3:  # Simple Packet Block: no timestamp
                if not interfaces:
                    raise SensorBadCapture(f"{self.path}: pcapng simple packet before any interface")
                linktype, _tick = interfaces[0]
                self.packets += 1
                self.classify(linktype, body[4:])


def _if_tsresol(options: bytes, endian: str) -> float:
    """Seconds per timestamp tick from an IDB's options (default microseconds)."""
    pos = 0
    while pos + 4 <= len(options):
        code, length = struct.unpack_from(endian + "HH", options, pos)
        if code == 0:
            break
        if code == 9 and length >= 1:
            value = options[pos + 4]
            return float(2 ** -(value & 0x7F)) if value & 0x80 else float(10 ** -(value & 0x7F))
        pos += 4 + length + (-length % 4)
    return 1e-6


def inspect_capture(
    path: str | os.PathLike[str], *, allow_empty: bool = False, capture_filter: CaptureFilter | None = None
) -> PcapInfo:
    """Validate a capture file completely (streaming) and describe it.

    Raises :class:`SensorBadCapture` with a precise reason when the file is missing, not a
    pcap/pcapng, truncated or corrupt, or (unless ``allow_empty``) holds no packets. With a
    ``capture_filter``, ``matched_packets`` counts the packets it passes.
    """
    p = Path(path)
    if not p.is_file():
        raise SensorBadCapture(f"{p}: capture file not found")
    scanner = _Scanner(p, capture_filter)
    with p.open("rb") as fh:
        magic = fh.read(4)
        scanner.digest.update(magic)
        scanner.offset = len(magic)
        if len(magic) < 4:
            raise SensorBadCapture(f"{p}: not a capture file ({len(magic)} bytes)")
        if magic in _PCAP_MAGICS:
            fmt = "pcap"
            scanner.scan_pcap(fh, magic)
        elif magic == _PCAPNG_SHB:
            fmt = "pcapng"
            fh.seek(0)
            scanner.digest = hashlib.sha256()
            scanner.offset = 0
            scanner.scan_pcapng(fh)
        else:
            raise SensorBadCapture(f"{p}: not a pcap or pcapng file (starts with {magic.hex()})")
    if scanner.packets == 0 and not allow_empty:
        raise SensorBadCapture(f"{p}: capture holds no packets")
    return PcapInfo(
        path=str(p),
        format=fmt,
        bytes=scanner.size,
        sha256=scanner.digest.hexdigest(),
        packets=scanner.packets,
        first_ts=scanner.first_ts,
        last_ts=scanner.last_ts,
        vxlan_packets=scanner.vxlan,
        linktypes=scanner.linktypes,
        matched_packets=scanner.matched if capture_filter is not None else None,
        vnis=dict(sorted(scanner.vnis.items())),
    )
