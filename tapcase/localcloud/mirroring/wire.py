"""Capture files and frames at wire level, with ``struct`` only (pure, streaming, no scapy).

The local mirror data plane reads captures of any size packet by packet: :func:`read_capture`
yields ``(timestamp in microseconds, link type, frame bytes)`` from classic pcap (either byte
order, microsecond or nanosecond timestamps) or pcapng (Enhanced, Simple and obsolete Packet
Blocks, several interfaces), reading the file in 1 MiB chunks; :func:`decode` finds the IP header
of a frame (Ethernet with VLAN tags, Linux SLL, BSD loopback, raw IP); :func:`vxlan_inner` tells
whether an Ethernet frame is VXLAN (UDP 4789) and returns the encapsulated frame; :class:`PcapWriter`
streams a classic pcap back out.

A file that is not a capture, or that ends inside a record, raises :class:`CaptureError`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

CHUNK = 1 << 20
VXLAN_PORT = 4789

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_IPV6 = 0x86DD
_VLAN_TAGS = (0x8100, 0x88A8, 0x9100)
_IPV6_EXTENSIONS = (0, 43, 60)  # hop-by-hop, routing, destination options (fragment: 44)

PROTO_TCP = 6
PROTO_UDP = 17

_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1),  # microseconds
    b"\xa1\xb2\xc3\xd4": (">", 1),
    b"\x4d\x3c\xb2\xa1": ("<", 1000),  # nanoseconds
    b"\xa1\xb2\x3c\x4d": (">", 1000),
}
_PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
_MAX_RECORD = 0x4000000

Record = tuple[int, int, bytes]  # (timestamp µs, link type, frame)


class CaptureError(ValueError):
    """The file is not a pcap/pcapng capture or is truncated or corrupt."""


class Decoded(NamedTuple):
    """What the data plane needs of a frame. ``ip`` is 4 or 6 for IP, 0 otherwise."""

    ip: int
    ethertype: int
    l3: int  # offset of the IP header in the frame
    src: bytes
    dst: bytes
    proto: int
    sport: int  # -1 when not a first TCP/UDP fragment
    dport: int
    l4: int  # offset of the TCP/UDP header (-1 when there is none)


NOT_IP = Decoded(0, 0, 0, b"", b"", -1, -1, -1, -1)


# --- reading ------------------------------------------------------------------------------------
def read_capture(path: str | os.PathLike[str]) -> Iterator[Record]:
    """Every packet of a pcap or pcapng file, in file order (streaming)."""
    p = Path(path)
    if not p.is_file():
        raise CaptureError(f"{p}: capture file not found")
    with p.open("rb", buffering=0) as fh:
        magic = fh.read(4)
        if magic in _PCAP_MAGICS:
            yield from _pcap(p, fh, magic)
        elif magic == _PCAPNG_SHB:
            yield from _pcapng(p, fh, magic)
        else:
            raise CaptureError(f"{p}: not a pcap or pcapng file (starts with {magic.hex() or 'nothing'})")


def _pcap(path: Path, fh: BinaryIO, magic: bytes) -> Iterator[Record]:
    endian, per_us = _PCAP_MAGICS[magic]
    header = fh.read(20)
    if len(header) < 20:
        raise CaptureError(f"{path}: truncated pcap file header")
    major, _minor, _zone, _sigfigs, _snaplen, linktype = struct.unpack(endian + "HHiIII", header)
    if major != 2:
        raise CaptureError(f"{path}: unsupported pcap version {major}")
    linktype &= 0x0FFFFFFF
    unpack = struct.Struct(endian + "IIII").unpack_from
    buf = b""
    pos = 0
    index = 0
    while True:
        if len(buf) - pos < 16:
            buf = buf[pos:] + fh.read(CHUNK)
            pos = 0
            if not buf:
                return
            if len(buf) < 16:
                raise CaptureError(f"{path}: truncated capture: record {index + 1} header has {len(buf)} of 16 bytes")
        sec, frac, incl, _orig = unpack(buf, pos)
        if incl > _MAX_RECORD:
            raise CaptureError(f"{path}: corrupt capture: record {index + 1} declares {incl} bytes")
        end = pos + 16 + incl
        if end > len(buf):
            buf = buf[pos:] + fh.read(max(CHUNK, end - len(buf)))
            end -= pos
            pos = 0
            if end > len(buf):
                raise CaptureError(
                    f"{path}: truncated capture: record {index + 1} needs {incl} bytes, {len(buf) - 16} remain"
                )
        yield sec * 1_000_000 + frac // per_us, linktype, buf[pos + 16 : end]
        pos = end
        index += 1


def _pcapng(path: Path, fh: BinaryIO, first: bytes) -> Iterator[Record]:
    endian = "<"
    interfaces: list[tuple[int, int, int]] = []  # (link type, ticks per second numerator, denominator)
    pending = first
    while True:
        head = pending + fh.read(8 - len(pending))
        pending = b""
        if not head:
            return
        if len(head) < 8:
            raise CaptureError(f"{path}: truncated pcapng block header")
        if head[:4] == _PCAPNG_SHB:
            bom = fh.read(4)
            if bom == b"\x4d\x3c\x2b\x1a":
                endian = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                endian = ">"
            else:
                raise CaptureError(f"{path}: bad pcapng byte-order magic {bom.hex()}")
            interfaces = []
            prefix = bom
        else:
            prefix = b""
        btype, total = struct.unpack(endian + "II", head)
        if total < 12 or total % 4 or total > _MAX_RECORD:
            raise CaptureError(f"{path}: corrupt pcapng block of length {total}")
        body = prefix + fh.read(total - 12 - len(prefix))
        trailer = fh.read(4)
        if len(body) != total - 12 or len(trailer) != 4:
            raise CaptureError(f"{path}: truncated pcapng block (type {btype:#x})")
        if btype == 1:  # Interface Description Block
            linktype = struct.unpack_from(endian + "H", body, 0)[0]
            interfaces.append((linktype, *_tsresol(body[8:], endian)))
        elif btype in (6, 2):  # Enhanced / obsolete Packet Block
            if btype == 6:
                iface, high, low, caplen = struct.unpack_from(endian + "IIII", body, 0)
            else:
                iface, _drops, high, low, caplen = struct.unpack_from(endian + "HHIII", body, 0)
            if iface >= len(interfaces) or caplen > len(body) - 20:
                raise CaptureError(f"{path}: corrupt pcapng packet block")
            linktype, num, den = interfaces[iface]
            yield ((high << 32) | low) * num // den, linktype, body[20 : 20 + caplen]
        elif btype == 3:  # Simple Packet Block: no timestamp
            if not interfaces:
                raise CaptureError(f"{path}: pcapng simple packet before any interface")
            caplen = min(struct.unpack_from(endian + "I", body, 0)[0], len(body) - 4)
            yield 0, interfaces[0][0], body[4 : 4 + caplen]


def _tsresol(options: bytes, endian: str) -> tuple[int, int]:
    """Microseconds per tick of an IDB as a fraction (default: one tick is one microsecond)."""
    pos = 0
    while pos + 4 <= len(options):
        code, length = struct.unpack_from(endian + "HH", options, pos)
        if code == 0:
            break
        if code == 9 and length >= 1:
            value = options[pos + 4]
            exponent = value & 0x7F
            if value & 0x80:
                return 1_000_000, 2**exponent
            return (10 ** (6 - exponent), 1) if exponent <= 6 else (1, 10 ** (exponent - 6))
        pos += 4 + length + (-length % 4)
    return 1, 1


# --- decoding -----------------------------------------------------------------------------------
def l3_of(linktype: int, frame: bytes) -> tuple[int, int]:
    """(ethertype, offset of the network header); ethertype 0 when unknown."""
    if linktype == LINKTYPE_ETHERNET:
        if len(frame) < 14:
            return 0, 0
        ethertype = (frame[12] << 8) | frame[13]
        offset = 14
        while ethertype in _VLAN_TAGS and len(frame) >= offset + 4:
            ethertype = (frame[offset + 2] << 8) | frame[offset + 3]
            offset += 4
        return ethertype, offset
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
        version = frame[0] >> 4 if frame else 0
        return (ETH_IPV4 if version == 4 else ETH_IPV6 if version == 6 else 0), 0
    if linktype == LINKTYPE_LINUX_SLL:
        return ((frame[14] << 8) | frame[15], 16) if len(frame) >= 16 else (0, 0)
    if linktype == LINKTYPE_NULL and len(frame) >= 4:
        family = struct.unpack_from("<I", frame, 0)[0]
        if family > 0xFFFF:
            family = struct.unpack_from(">I", frame, 0)[0]
        return (ETH_IPV4 if family == 2 else ETH_IPV6 if family in (10, 24, 28, 30) else 0), 4
    return 0, 0


def decode(linktype: int, frame: bytes) -> Decoded:
    """Addresses, protocol and ports of an IP packet (``NOT_IP`` for ARP and everything else)."""
    ethertype, l3 = l3_of(linktype, frame)
    if ethertype == ETH_IPV4:
        if len(frame) < l3 + 20 or frame[l3] >> 4 != 4:
            return NOT_IP._replace(ethertype=ethertype)
        ihl = (frame[l3] & 0x0F) * 4
        proto = frame[l3 + 9]
        src, dst = frame[l3 + 12 : l3 + 16], frame[l3 + 16 : l3 + 20]
        fragment_offset = ((frame[l3 + 6] & 0x1F) << 8) | frame[l3 + 7]
        l4 = l3 + ihl
        if proto in (PROTO_TCP, PROTO_UDP) and not fragment_offset and len(frame) >= l4 + 4:
            sport, dport = struct.unpack_from("!HH", frame, l4)
            return Decoded(4, ethertype, l3, src, dst, proto, sport, dport, l4)
        return Decoded(4, ethertype, l3, src, dst, proto, -1, -1, -1)
    if ethertype == ETH_IPV6:
        if len(frame) < l3 + 40:
            return NOT_IP._replace(ethertype=ethertype)
        src, dst = frame[l3 + 8 : l3 + 24], frame[l3 + 24 : l3 + 40]
        proto = frame[l3 + 6]
        l4 = l3 + 40
        first_fragment = True
        while proto in (*_IPV6_EXTENSIONS, 44) and len(frame) >= l4 + 8:
            if proto == 44:
                first_fragment = not (((frame[l4 + 2] << 8) | frame[l4 + 3]) & 0xFFF8)
                proto, l4 = frame[l4], l4 + 8
            else:
                proto, l4 = frame[l4], l4 + 8 + frame[l4 + 1] * 8
        if proto in (PROTO_TCP, PROTO_UDP) and first_fragment and len(frame) >= l4 + 4:
            sport, dport = struct.unpack_from("!HH", frame, l4)
            return Decoded(6, ethertype, l3, src, dst, proto, sport, dport, l4)
        return Decoded(6, ethertype, l3, src, dst, proto, -1, -1, -1)
    return NOT_IP._replace(ethertype=ethertype)


def vxlan_inner(linktype: int, frame: bytes, decoded: Decoded) -> tuple[int, bytes] | None:
    """``(VNI, inner Ethernet frame)`` when the packet is VXLAN on UDP 4789 with the I flag."""
    if decoded.proto != PROTO_UDP or decoded.dport != VXLAN_PORT or decoded.l4 < 0:
        return None
    start = decoded.l4 + 8
    if len(frame) < start + 8 + 14 or not frame[start] & 0x08:
        return None
    vni = (frame[start + 4] << 16) | (frame[start + 5] << 8) | frame[start + 6]
    return vni, frame[start + 8 :]


# --- writing ------------------------------------------------------------------------------------
class PcapWriter:
    """A classic little-endian microsecond pcap of Ethernet frames, written through a buffer."""

    _record = struct.Struct("<IIII")

    def __init__(self, path: str | os.PathLike[str], snaplen: int = 262_144) -> None:
        self.path = Path(path)
        self._fh = self.path.open("wb", buffering=CHUNK)
        self._fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, LINKTYPE_ETHERNET))
        self.packets = 0
        self.bytes = 0

    def write(self, ts_us: int, frame: bytes) -> None:
        sec, usec = divmod(ts_us, 1_000_000)
        self._fh.write(self._record.pack(sec, usec, len(frame), len(frame)))
        self._fh.write(frame)
        self.packets += 1
        self.bytes += len(frame)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "CHUNK", "CaptureError", "Decoded", "ETH_ARP", "ETH_IPV4", "ETH_IPV6", "LINKTYPE_ETHERNET", "LINKTYPE_IPV4",
    "LINKTYPE_IPV6", "LINKTYPE_LINUX_SLL", "LINKTYPE_NULL", "LINKTYPE_RAW", "NOT_IP", "PROTO_TCP", "PROTO_UDP",
    "PcapWriter", "Record", "VXLAN_PORT", "decode", "l3_of", "read_capture", "vxlan_inner",
]
