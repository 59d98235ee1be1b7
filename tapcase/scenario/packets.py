"""Wire encoders: Ethernet/IPv4/TCP/UDP, VXLAN as AWS traffic mirroring delivers it, and TCP/UDP flows.

Headers are packed by hand (with correct checksums) because a story writes tens of thousands of
segments and building each through scapy's layer objects would take minutes; the tests parse every
story back with scapy and with Suricata.

The encapsulation copies the real AWS capture in ``suricata-verify/vxlan-decoder-03``:

* outer Ethernet from the VPC router to the sensor's ENI, outer IPv4 from the *source ENI's* private
  IP to the sensor with ``id 0``, no DF, TTL 255;
* outer UDP to port 4789 from a per-flow source port in 65408-65535 (the same for both directions of
  a flow), UDP checksum 0;
* VXLAN header with only the I flag (0x08) and the session's 24-bit VNI;
* the inner frame exactly as the suspect's ENI sent or received it: inner Ethernet between the ENI's
  MAC and the VPC router's MAC, then IPv4; packets the suspect sends carry TTL 255 as in the capture.
"""

from __future__ import annotations

import random
import socket
import struct
import sys
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

from tapcase_contract.limits import VXLAN_PORT

# One captured packet: (timestamp in microseconds, inner Ethernet frame, outer UDP source port).
Frame = tuple[int, bytes, int]

PROTO_TCP = 6
PROTO_UDP = 17

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

_LITTLE = sys.byteorder == "little"


def checksum(data: bytes) -> int:
    """RFC 1071 internet checksum (summed in native word order, swapped once at the end)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(array("H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    total = ~total & 0xFFFF
    if _LITTLE:
        total = ((total & 0xFF) << 8) | (total >> 8)
    return total


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def ip_bytes(ip: str) -> bytes:
    return socket.inet_aton(ip)


def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, *, ident: int, ttl: int, df: bool = True) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000 if df else 0, ttl, proto, 0, src, dst
    )
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + payload


def tcp(
    src: bytes,
    dst: bytes,
    sport: int,
    dport: int,
    seq: int,
    ack: int,
    flags: int,
    window: int,
    options: bytes,
    payload: bytes,
) -> bytes:
    offset = (20 + len(options)) // 4
    header = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, offset << 4, flags, window, 0, 0)
    segment = header + options + payload
    pseudo = src + dst + struct.pack("!BBH", 0, PROTO_TCP, len(segment))
    csum = checksum(pseudo + segment)
    return segment[:16] + struct.pack("!H", csum) + segment[18:]


def udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    length = 8 + len(payload)
    datagram = struct.pack("!HHHH", sport, dport, length, 0) + payload
    pseudo = src + dst + struct.pack("!BBH", 0, PROTO_UDP, length)
    csum = checksum(pseudo + datagram) or 0xFFFF
    return datagram[:6] + struct.pack("!H", csum) + datagram[8:]


def mirror_source_port(proto: int, a_ip: str, a_port: int, b_ip: str, b_port: int) -> int:
    """The outer UDP source port of a mirrored flow: a hash of the flow, in the 65408-65535 range
    seen in the real capture, identical for both directions."""
    lo, hi = sorted([(a_ip, a_port), (b_ip, b_port)])
    return 65408 + zlib.crc32(f"{proto}|{lo[0]}:{lo[1]}|{hi[0]}:{hi[1]}".encode()) % 128


@dataclass(frozen=True)
class Net:
    """One mirror session: the source ENI, the sensor, the VNI."""

    suspect_ip: str
    suspect_mac: str
    router_mac: str
    sensor_ip: str
    sensor_mac: str
    outer_src_mac: str
    vni: int
    egress_ttl: int = 255

    def __post_init__(self) -> None:
        if not 0 <= self.vni < 1 << 24:
            raise ValueError(f"VNI must be a 24-bit number, got {self.vni}")
        object.__setattr__(self, "_suspect", ip_bytes(self.suspect_ip))
        object.__setattr__(self, "_egress_eth", mac_bytes(self.router_mac) + mac_bytes(self.suspect_mac) + b"\x08\x00")
        object.__setattr__(self, "_ingress_eth", mac_bytes(self.suspect_mac) + mac_bytes(self.router_mac) + b"\x08\x00")
        object.__setattr__(self, "_outer_eth", mac_bytes(self.sensor_mac) + mac_bytes(self.outer_src_mac) + b"\x08\x00")
        object.__setattr__(self, "_outer_ips", ip_bytes(self.suspect_ip) + ip_bytes(self.sensor_ip))
        object.__setattr__(self, "_vxlan", struct.pack("!II", 0x08000000, self.vni << 8))

    def frame(self, ip_packet: bytes) -> bytes:
        """The inner Ethernet frame: suspect -> router when the suspect sent it, else router -> suspect."""
        egress = ip_packet[12:16] == self._suspect  # type: ignore[attr-defined]
        return (self._egress_eth if egress else self._ingress_eth) + ip_packet  # type: ignore[attr-defined]

    def encapsulate(self, inner_frame: bytes, sport: int) -> bytes:
        payload = self._vxlan + inner_frame  # type: ignore[attr-defined]
        length = 8 + len(payload)
        outer_udp = struct.pack("!HHHH", sport, VXLAN_PORT, length, 0) + payload
        header = struct.pack("!BBHHHBBH", 0x45, 0, 20 + length, 0, 0, 255, PROTO_UDP, 0) + self._outer_ips  # type: ignore[attr-defined]
        header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
        return self._outer_eth + header + outer_udp  # type: ignore[attr-defined]


class PortAllocator:
    """Ephemeral ports (Linux range 32768-60999), never reused within one capture."""

    def __init__(self, rng: random.Random, low: int = 32768, high: int = 60999) -> None:
        self.rng = rng
        self.low = low
        self.high = high
        self.used: set[tuple[str, int]] = set()

    def take(self, ip: str) -> int:
        while True:
            port = self.rng.randint(self.low, self.high)
            if (ip, port) not in self.used:
                self.used.add((ip, port))
                return port

    def claim(self, ip: str, port: int) -> int:
        if (ip, port) in self.used:
            raise ValueError(f"port {ip}:{port} already used in this capture")
        self.used.add((ip, port))
        return port


class UdpFlow:
    """A UDP conversation between the suspect and a peer (DNS)."""

    def __init__(
        self,
        net: Net,
        rng: random.Random,
        *,
        client: tuple[str, int],
        server: tuple[str, int],
        client_ttl: int,
        server_ttl: int,
        server_ip_id_zero: bool = True,
    ) -> None:
        self.net = net
        self.client = (ip_bytes(client[0]), client[1])
        self.server = (ip_bytes(server[0]), server[1])
        self.client_ttl = client_ttl
        self.server_ttl = server_ttl
        self.client_id = rng.randrange(65536)
        self.server_id = 0 if server_ip_id_zero else rng.randrange(65536)
        self.server_id_step = 0 if server_ip_id_zero else 1
        self.sport = mirror_source_port(PROTO_UDP, client[0], client[1], server[0], server[1])

    def packet(self, ts_us: int, from_client: bool, payload: bytes) -> Frame:
        if from_client:
            (src, sport), (dst, dport), ttl = self.client, self.server, self.client_ttl
            ident, self.client_id = self.client_id, (self.client_id + 1) & 0xFFFF
        else:
            (src, sport), (dst, dport), ttl = self.server, self.client, self.server_ttl
            ident, self.server_id = self.server_id, (self.server_id + self.server_id_step) & 0xFFFF
        packet = ipv4(src, dst, PROTO_UDP, udp(src, dst, sport, dport, payload), ident=ident, ttl=ttl)
        return ts_us, self.net.frame(packet), self.sport


@dataclass
class _Side:
    ip: bytes
    port: int
    suspect: bool
    ttl: int
    syn_window: int
    window: int
    wscale: int
    mss: int
    timestamps: bool
    ip_id: int
    seq: int
    ts_base: int
    last_tsval: int = 0


CLIENT, SERVER = 0, 1


class TcpFlow:
    """A TCP connection as seen at the suspect's ENI: causally ordered, sequence numbers, ACKs,
    window scaling and timestamp options like a Linux stack.

    Time model: the capture point is the suspect. A packet from the suspect is seen when sent; the
    peer's reaction to it is seen one round-trip later; the suspect reacts to a peer's packet after
    ``proc_us``. Methods are generators of :data:`Frame` in non-decreasing time.
    """

    def __init__(
        self,
        net: Net,
        rng: random.Random,
        *,
        client: tuple[str, int],
        server: tuple[str, int],
        start_us: int,
        rtt_us: int,
        peer_ttl: int,
        client_window: int = 502,
        server_window: int = 509,
        client_syn_window: int = 64240,
        server_syn_window: int = 65160,
        wscale: int = 7,
        timestamps: bool = True,
        proc_us: int = 60,
        peer_gap_us: int = 120,
        local_gap_us: int = 15,
    ) -> None:
        self.net = net
        self.rng = rng
        self.rtt_us = rtt_us
        self.proc_us = proc_us
        self.peer_gap_us = peer_gap_us
        self.local_gap_us = local_gap_us
        self.sport = mirror_source_port(PROTO_TCP, client[0], client[1], server[0], server[1])
        sides = []
        for (ip, port), syn_window, window in (
            (client, client_syn_window, client_window),
            (server, server_syn_window, server_window),
        ):
            suspect = ip == net.suspect_ip
            sides.append(
                _Side(
                    ip=ip_bytes(ip),
                    port=port,
                    suspect=suspect,
                    ttl=net.egress_ttl if suspect else peer_ttl,
                    syn_window=syn_window,
                    window=window,
                    wscale=wscale,
                    mss=1460,
                    timestamps=timestamps,
                    ip_id=rng.randrange(65536),
                    seq=rng.getrandbits(32),
                    ts_base=rng.getrandbits(32),
                )
            )
        if sides[0].suspect == sides[1].suspect:
            raise ValueError("exactly one end of a mirrored flow must be the suspect")
        self.sides = sides
        self.now = start_us
        self.last: int | None = None  # side of the last packet
        self.payload_bytes = [0, 0]  # TCP payload bytes sent by client, server
        self._pending: list[tuple[int, int, int, int, int, int, bytes]] = []

    # -- timing -----------------------------------------------------------------------------------
    def _react(self, side: int, think_us: int = 0) -> int:
        """When ``side``'s next packet is seen, given what was seen last."""
        if self.last is None:
            return self.now + think_us
        if self.last == side:
            gap = self.local_gap_us if self.sides[side].suspect else self.peer_gap_us
            return self.now + gap + think_us
        if self.sides[side].suspect:
            return self.now + self.proc_us + think_us
        return self.now + self.rtt_us + think_us

    # -- packet building ---------------------------------------------------------------------------
    def _plan(self, ts: int, side: int, flags: int, payload: bytes = b"") -> None:
        me, peer = self.sides[side], self.sides[1 - side]
        self._pending.append((ts, len(self._pending), side, flags, me.seq, peer.seq if flags & ACK else 0, payload))
        me.seq += len(payload) + (1 if flags & (SYN | FIN) else 0)
        self.payload_bytes[side] += len(payload)

    def _flush(self) -> Iterator[Frame]:
        pending, self._pending = sorted(self._pending), []
        for ts, _, side, flags, seq, ack, payload in pending:
            me, peer = self.sides[side], self.sides[1 - side]
            options = b""
            if me.timestamps:
                tsval = (me.ts_base + ts // 1000) & 0xFFFFFFFF
                tsecr = 0 if (flags & SYN and not flags & ACK) else peer.last_tsval
                me.last_tsval = tsval
                ts_opt = struct.pack("!BBII", 8, 10, tsval, tsecr)
            if flags & SYN:
                if me.timestamps:
                    options = struct.pack("!BBH", 2, 4, me.mss) + b"\x04\x02" + ts_opt + b"\x01" + struct.pack("!BBB", 3, 3, me.wscale)
                else:
                    options = struct.pack("!BBH", 2, 4, me.mss) + b"\x01" + struct.pack("!BBB", 3, 3, me.wscale) + b"\x01\x01\x04\x02"
                window = me.syn_window
            else:
                if me.timestamps:
                    options = b"\x01\x01" + ts_opt
                window = me.window
            segment = tcp(me.ip, peer.ip, me.port, peer.port, seq, ack, flags, window, options, payload)
            packet = ipv4(me.ip, peer.ip, PROTO_TCP, segment, ident=me.ip_id, ttl=me.ttl)
            me.ip_id = (me.ip_id + 1) & 0xFFFF
            self.now = max(self.now, ts)
            self.last = side
            yield ts, self.net.frame(packet), self.sport

    @property
    def _seg_size(self) -> int:
        return 1460 - (12 if self.sides[0].timestamps else 0)

    # -- connection life cycle ----------------------------------------------------------------------
    def open(self) -> Iterator[Frame]:
        """SYN, SYN/ACK, ACK."""
        self._plan(self._react(CLIENT), CLIENT, SYN)
        yield from self._flush()
        self._plan(self._react(SERVER), SERVER, SYN | ACK)
        yield from self._flush()
        self._plan(self._react(CLIENT), CLIENT, ACK)
        yield from self._flush()

    def send(self, side: int, data: bytes, *, think_us: int = 0, cwnd: int = 40) -> Iterator[Frame]:
        """``side`` sends ``data`` in MSS-sized segments, ``cwnd`` per round trip; the receiver
        acknowledges every second segment and the last one."""
        if not data:
            return
        size = self._seg_size
        receiver = 1 - side
        # Never put more in flight than the receiver's advertised (scaled) window.
        rwnd = self.sides[receiver].window << self.sides[receiver].wscale
        cwnd = max(1, min(cwnd, rwnd // size))
        sender_local = self.sides[side].suspect
        gap = self.local_gap_us if sender_local else self.peer_gap_us
        offset = 0
        start = self._react(side, think_us)
        while offset < len(data):
            segments = []
            for i in range(cwnd):
                if offset >= len(data):
                    break
                chunk = data[offset : offset + size]
                offset += len(chunk)
                segments.append((start + i * gap, chunk))
            for i, (ts, chunk) in enumerate(segments):
                last_of_data = offset >= len(data) and i == len(segments) - 1
                self._plan(ts, side, ACK | (PSH if last_of_data else 0), chunk)
                if i % 2 == 1 or i == len(segments) - 1:
                    ack_ts = ts + (self.proc_us if not sender_local else self.rtt_us)
                    self._plan(ack_ts, receiver, ACK)
            yield from self._flush()
            start = self._react(side)

    def close(self, side: int, *, think_us: int = 0) -> Iterator[Frame]:
        """Orderly teardown started by ``side``: FIN/ACK, FIN/ACK, ACK."""
        self._plan(self._react(side, think_us), side, FIN | ACK)
        yield from self._flush()
        self._plan(self._react(1 - side), 1 - side, FIN | ACK)
        yield from self._flush()
        self._plan(self._react(side), side, ACK)
        yield from self._flush()

    def reset(self, side: int, *, think_us: int = 0) -> Iterator[Frame]:
        """Abortive close by ``side``: RST/ACK."""
        self._plan(self._react(side, think_us), side, RST | ACK)
        yield from self._flush()
