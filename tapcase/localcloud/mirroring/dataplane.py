"""The local cloud's mirror data plane: what a sensor's network interface receives.

The capture given to the local cloud (``--pcap``, ``local serve --pcap``, ``/_tapcase/capture``)
is the traffic seen on the suspect's network interfaces: plain Ethernet/IP as on the wire. A
capture that is itself VXLAN-mirrored (UDP 4789 with the VXLAN I flag, like the real AWS capture
of ../shared) is unwrapped first, packet by packet. For one sensor, :func:`materialize` writes
what its interface would have carried: only what the mirror sessions whose target is the sensor's
ENI deliver (:mod:`.packet_filter` decides each packet as AWS does), encapsulated
as AWS delivers it (VXLAN to the target ENI's address on UDP 4789 with the session's VNI, copied
from the real AWS capture by :class:`tapcase.scenario.packets.Net`), the mirrored frame cut to the
session's ``PacketLength`` (bytes after the VXLAN header) and to the target's MTU (9001: "We
truncate the packet to the MTU value when ... the traffic mirror target is a standalone instance",
Traffic Mirroring limitations), merged in time order with the sensor's own traffic.

**Timeline.** The capture's timeline is laid on the sessions' lifetime on the local cloud's time
scale: the capture's first packet happens when the earliest session targeting the sensor was
created; a packet ``d`` capture-seconds later happens ``d * scale`` seconds of real time after
that, and a session mirrors it only if it exists then (created <= t < deleted). Sessions on the
same ENI with lower numbers are evaluated at the same instant. At time scale 0 nothing takes real
time: every session that existed is taken to cover the whole capture.

**Before the window.** A capture may also hold what happened before the investigation (the hour
before the finding, for the flow-log context: :mod:`.flowlogs`): with ``window_start`` (Unix
seconds on the capture's clock) the packets before it happened before any session existed and
are never mirrored, at any scale; the timeline above starts at ``window_start`` instead of the
first packet.

Streaming: one pass over the capture with ``struct``; decisions are cached per flow (addresses,
protocol, ports), so a packet costs a dictionary lookup, a time check and the encapsulation.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from tapcase.localcloud.mirroring import packet_filter as mr
from tapcase.localcloud.mirroring.own_stream import NoWriter, OwnStream
from tapcase.localcloud.mirroring.wire import (
    LINKTYPE_ETHERNET,
    Decoded,
    PcapWriter,
    decode,
    read_capture,
    vxlan_inner,
)
from tapcase.scenario.packets import Net, mac_bytes, mirror_source_port

#: MTU of a current-generation instance's ENI in a VPC (the sensor).
TARGET_MTU = 9001
#: Outer IPv4 (20) + UDP (8) + VXLAN (8) headers of a mirrored packet.
ENCAPSULATION_OVERHEAD = 36
#: The VPC's virtual router, as the source MAC of frames delivered to an ENI.
VPC_ROUTER_MAC = "06:3b:77:d0:12:01"

OwnFrame = tuple[int, bytes]  # (timestamp µs, Ethernet frame) of the sensor's own traffic


@dataclass(frozen=True)
class SensorEndpoint:
    """The sensor's side: its ENIs (targets point at them), address, MAC and MTU."""

    instance_id: str
    eni_ids: frozenset[str]
    ip: str
    mac: str
    mtu: int = TARGET_MTU


@dataclass
class DeliveryStats:
    """What one materialization did (kept per sensor for tests and diagnostics)."""

    instance_id: str
    interface_pcap: str
    capture: str | None
    time_scale: float
    anchor: float | None = None  # real time of the capture's first packet (None at scale 0)
    # Sessions to this sensor: (created, deleted) in real time (time.time()).
    lifetimes: dict[str, tuple[float, float | None]] = field(default_factory=dict)
    packets_read: int = 0
    unwrapped: int = 0  # capture packets that were VXLAN and were unwrapped first
    mirrored: int = 0  # packets delivered to this sensor as VXLAN
    mirrored_bytes: int = 0  # bytes of the delivered (outer) frames
    truncated: int = 0
    own_packets: int = 0  # the sensor's own traffic on the interface
    own_bytes: int = 0
    written: int = 0
    by_session: Counter[str] = field(default_factory=Counter)
    vnis: Counter[int] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    # Why the capture ended early (a truncated file, read up to the damage); None: read whole.
    input_damage: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("by_session", "vnis", "skipped"):
            out[key] = dict(getattr(self, key))
        return out


#: The last materialization per sensor instance (diagnostics and tests).
_deliveries: dict[str, DeliveryStats] = {}


def deliveries() -> dict[str, DeliveryStats]:
    return dict(_deliveries)


def reset() -> None:
    _deliveries.clear()


@dataclass
class _Flow:
    """The cached decision for one flow: per source ENI, the sessions that accept it."""

    choices: list[tuple[mr.SourceSpec, tuple[mr.SessionSpec, ...]]]
    reason: str | None
    sport: int


class _Encapsulators:
    """One AWS-faithful VXLAN encapsulation per (source ENI, session)."""

    def __init__(self, sensor: SensorEndpoint) -> None:
        self.sensor = sensor
        self._nets: dict[tuple[str, str], Net] = {}

    def get(self, source: mr.SourceSpec, session: mr.SessionSpec) -> Net:
        key = (source.eni_id, session.session_id)
        net = self._nets.get(key)
        if net is None:
            net = Net(
                suspect_ip=source.primary_ip, suspect_mac=source.mac, router_mac=VPC_ROUTER_MAC,
                sensor_ip=self.sensor.ip, sensor_mac=self.sensor.mac, outer_src_mac=VPC_ROUTER_MAC,
                vni=session.vni,
            )
            self._nets[key] = net
        return net


def _ethernet(linktype: int, frame: bytes, packet: Decoded, source: mr.SourceSpec, direction: str) -> bytes:
    """The frame as the source ENI sent or received it (Ethernet, synthesized for raw IP links)."""
    if linktype == LINKTYPE_ETHERNET:
        return frame
    eni, router = mac_bytes(source.mac), mac_bytes(VPC_ROUTER_MAC)
    macs = router + eni if direction == mr.EGRESS else eni + router
    return macs + packet.ethertype.to_bytes(2, "big") + frame[packet.l3 :]


def _timeline(sensor: SensorEndpoint, sources: list[mr.SourceSpec], scale: float,
              anchor_vni: int | None = None) -> float | None:
    """Real time of the capture's first packet (None at scale 0: lifetimes are unbounded). A
    fleet's target outlives investigations: its timeline starts with ``anchor_vni``'s sessions."""
    if scale <= 0:
        return None
    ours = [s.created for src in sources for s in src.sessions if s.target_eni in sensor.eni_ids
            and (anchor_vni is None or s.vni == anchor_vni)]
    return min(ours) if ours else None


def materialize(
    capture: str | os.PathLike[str] | None,
    out: str | os.PathLike[str],
    sensor: SensorEndpoint,
    sources: list[mr.SourceSpec],
    *,
    scale: float,
    own_traffic: Callable[[int], Iterable[OwnFrame]] | None = None,
    mirrored_out: str | os.PathLike[str] | None = None,
    window_start: float | None = None,
    member: Callable[[mr.SourceSpec, int], bool] | None = None,
    anchor_vni: int | None = None,
) -> DeliveryStats:
    """Write the sensor's interface capture to ``out`` and return what it holds.

    ``sources``: every mirrored ENI with a session whose target is one of the sensor's ENIs,
    each with all its sessions. ``own_traffic``: called with the capture's first timestamp, the
    sensor's own frames in time order (an endless generator is fine: it is read only up to the
    capture's last packet). ``mirrored_out``: also write the mirrored stream alone there (what
    a capture filter "UDP 4789 to the sensor's address" keeps of the interface). ``member``: the
    sensor is one member of a fleet behind a load balancer: called with the source ENI and the
    outer UDP source port of a packet for the target, whether the balancer sends that flow here
    (:mod:`tapcase.localcloud.fleet`); ``anchor_vni``: the investigation whose sessions start the
    timeline (a fleet's target serves many). Raises
    :class:`tapcase.localcloud.mirroring.wire.CaptureError` for a capture that cannot be read.
    """
    started = time.perf_counter()
    stats = DeliveryStats(sensor.instance_id, str(out), str(capture) if capture else None, scale)
    anchor = stats.anchor = _timeline(sensor, sources, scale, anchor_vni)
    stats.lifetimes = {s.session_id: (s.created, s.deleted) for src in sources for s in src.sessions
                       if s.target_eni in sensor.eni_ids}
    ours = bool(stats.lifetimes)
    own = OwnStream(own_traffic, stats)
    encapsulators = _Encapsulators(sensor)
    flows: dict[tuple[bytes, bytes, int, int, int], _Flow] = {}
    max_inner = sensor.mtu - ENCAPSULATION_OVERHEAD
    first_ts = last_ts = 0
    window_us = None if window_start is None else int(window_start * 1_000_000)

    with PcapWriter(out) as writer, (PcapWriter(mirrored_out) if mirrored_out else NoWriter()) as stream:
        damage: list[str] = []
        for ts, linktype, frame in read_capture(capture, damage) if capture else ():
            if window_us is not None and ts < window_us:
                stats.packets_read += 1
                stats.skipped["before_sessions"] += 1  # before the investigation: no session existed
                continue
            if not last_ts:
                first_ts = last_ts = ts if window_us is None else window_us
                own.begin(first_ts)
            stats.packets_read += 1
            last_ts = max(last_ts, ts)
            own.until(ts, writer)
            packet = decode(linktype, frame)
            inner = vxlan_inner(linktype, frame, packet) if packet.ip else None
            if inner is not None:
                stats.unwrapped += 1
                linktype, frame = LINKTYPE_ETHERNET, inner[1]
                packet = decode(linktype, frame)
            if not packet.ip or not ours:
                stats.skipped[mr.NOT_IP if not packet.ip else mr.NO_SOURCE] += 1
                continue
            key = (packet.src, packet.dst, packet.proto, packet.sport, packet.dport)
            flow = flows.get(key)
            if flow is None:
                flow = flows[key] = _decide(sources, packet)
            if not flow.choices:
                stats.skipped[flow.reason or mr.REJECTED] += 1
                continue
            when = None if anchor is None else anchor + (ts - first_ts) / 1_000_000 * scale
            for source, accepting in flow.choices:
                chosen = next((s for s in accepting if s.alive(when)), None)
                if chosen is None:
                    stats.skipped["outside_lifetime"] += 1
                    continue
                if chosen.target_eni not in sensor.eni_ids:
                    stats.skipped["other_session"] += 1
                    continue
                if member is not None and not member(source, flow.sport):
                    stats.skipped["other_fleet_member"] += 1
                    continue
                direction = mr.EGRESS if packet.src in source.addresses else mr.INGRESS
                mirrored = _ethernet(linktype, frame, packet, source, direction)
                limit = min(chosen.packet_length or max_inner, max_inner)
                if len(mirrored) > limit:
                    mirrored = mirrored[:limit]
                    stats.truncated += 1
                outer = encapsulators.get(source, chosen).encapsulate(mirrored, flow.sport)
                writer.write(ts, outer)
                stream.write(ts, outer)
                stats.mirrored += 1
                stats.mirrored_bytes += len(outer)
                stats.by_session[chosen.session_id] += 1
                stats.vnis[chosen.vni] += 1
        if last_ts:
            own.until(last_ts, writer)
        stats.written = writer.packets
        stats.input_damage = damage[0] if damage else None
    stats.seconds = time.perf_counter() - started
    _deliveries[sensor.instance_id] = stats
    return stats


def _decide(sources: list[mr.SourceSpec], packet: Decoded) -> _Flow:
    choices = []
    reasons = []
    for source in sources:
        direction, accepting, reason = mr.candidates(source, packet)
        if direction is None:
            continue
        if accepting:
            choices.append((source, accepting))
        else:
            reasons.append(reason)
    sport = mirror_source_port(
        packet.proto, mr.ip_text(packet.src), max(packet.sport, 0), mr.ip_text(packet.dst), max(packet.dport, 0)
    )
    reason = None if choices else (reasons[0] if reasons else mr.NO_SOURCE)
    return _Flow(choices, reason, sport)


__all__ = [
    "ENCAPSULATION_OVERHEAD", "TARGET_MTU", "VPC_ROUTER_MAC", "DeliveryStats", "OwnFrame", "SensorEndpoint",
    "deliveries", "materialize", "reset",
]
