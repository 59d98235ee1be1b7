"""Plan a story and stream its packets into a pcap: plain (the suspect's interface) or VXLAN.

The plain form (default) is what a capture of the suspect's network interface holds, and a bit
more: the suspect's traffic, its traffic with the VPC's own services that Traffic Mirroring never
copies (ARP, DHCP, instance metadata, Time Sync NTP), and the traffic of two neighbouring hosts of
its subnet. The VXLAN form is what an AWS mirror session with an accept-all filter and the
``amazon-dns`` network service delivers to the sensor: the suspect's mirrorable traffic only,
encapsulated as AWS does (the real AWS capture of ../shared is the model).
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path

from scapy.utils import PcapWriter

from tapcase.scenario.host_services import plan_host_services
from tapcase.scenario.model import (
    ACCOUNT_ID,
    AVAILABILITY_ZONE,
    EPOCH,
    INNER_ROUTER_MAC,
    OUTER_ROUTER_MAC,
    REGION,
    RESOLVER_IP,
    SENSOR_ENI_MAC,
    SENSOR_IP,
    SUBNET_CIDR,
    SUBNET_ID,
    VPC_ID,
    Expected,
    ScenarioInfo,
)
from tapcase.scenario.neighbours import plan_neighbours
from tapcase.scenario.packets import Frame, Net, PortAllocator, ip_bytes
from tapcase.scenario.sessions import Ctx, us
from tapcase.scenario.stories import STORIES, Story, plan_background

MIN_DURATION_SECONDS = 120
MAX_DURATION_SECONDS = 3600
DLT_EN10MB = 1
FORMS = ("plain", "vxlan")
VXLAN_OVERHEAD = 50  # outer Ethernet (14) + IPv4 (20) + UDP (8) + VXLAN (8)
ROUTER_IP = "10.0.1.1"  # the subnet's base + 1: the VPC router (ARP, DHCP)

# What each planned frame is (the writer counts them; the VXLAN form keeps MIRRORED only).
MIRRORED, NOT_MIRRORABLE, NEIGHBOUR = 0, 1, 2


class UnknownScenario(ValueError):
    """The name is not one of :data:`STORIES`."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown scenario {name!r}; choose one of: {', '.join(names())}")


def names() -> list[str]:
    return list(STORIES)


def story(name: str) -> Story:
    try:
        return STORIES[name]
    except KeyError:
        raise UnknownScenario(name) from None


def default_vni(name: str, seed: int) -> int:
    """A stable 24-bit VNI per (story, seed), never 0 (AWS would pick a random one if unset)."""
    digest = hashlib.sha256(f"tapcase-vni:{name}:{seed}".encode()).digest()
    return int.from_bytes(digest[:3], "big") or 1


def plan(name: str, *, seed: int = 0, vni: int | None = None, duration_seconds: int = 600) -> tuple[Story, Ctx, Expected]:
    """Plan every session of a story (nothing is built or written yet)."""
    chosen = story(name)
    if not isinstance(duration_seconds, int) or not MIN_DURATION_SECONDS <= duration_seconds <= MAX_DURATION_SECONDS:
        raise ValueError(
            f"duration_seconds must be an integer from {MIN_DURATION_SECONDS} to {MAX_DURATION_SECONDS}, "
            f"got {duration_seconds!r}"
        )
    if vni is None:
        vni = default_vni(name, seed)
    suspect = chosen.suspect
    net = Net(
        suspect_ip=suspect.private_ip,
        suspect_mac=suspect.mac,
        router_mac=INNER_ROUTER_MAC,
        sensor_ip=SENSOR_IP,
        sensor_mac=SENSOR_ENI_MAC,
        outer_src_mac=OUTER_ROUTER_MAC,
        vni=vni,
    )
    rng = random.Random(f"tapcase-scenario:{name}:{seed}")
    start = EPOCH * 1_000_000
    ctx = Ctx(
        net=net,
        suspect=suspect,
        rng=rng,
        start_us=start,
        end_us=start + us(duration_seconds),
        ports=PortAllocator(random.Random(rng.getrandbits(64))),
    )
    expected = Expected()
    chosen.plan(ctx, expected)
    plan_background(ctx, expected, mean_gap_s=chosen.background_gap_s)
    return chosen, ctx, expected


def _dt(ts_us: int) -> datetime:
    return datetime.fromtimestamp(ts_us / 1_000_000, tz=UTC)


def _tagged(frames: Iterator[Frame], kind: int) -> Iterator[tuple[int, int, bytes, int]]:
    for ts, frame, sport in frames:
        yield ts, kind, frame, sport


def generate(
    name: str, out: Path, *, seed: int = 0, vni: int | None = None, duration_seconds: int = 600, form: str = "plain"
) -> ScenarioInfo:
    """Write the story ``name`` to ``out``: ``form="plain"`` as seen on the suspect's subnet
    (default), ``form="vxlan"`` as AWS mirroring delivers it to a sensor (UDP 4789).

    Deterministic: the same arguments give byte-identical files, and the suspect's traffic is the
    same in both forms. Raises :class:`UnknownScenario` or :class:`ValueError` for bad arguments.
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(FORMS)}, got {form!r}")
    chosen, ctx, expected = plan(name, seed=seed, vni=vni, duration_seconds=duration_seconds)
    # Extra traffic of the plain form, from generators of their own: the suspect's traffic and
    # the expected answers are those of plan(), whatever the form.
    extra_rng = random.Random(f"tapcase-scenario-extra:{name}:{seed}")
    unmirrorable: list[Iterator[Frame]] = []
    neighbours: list[Iterator[Frame]] = []
    neighbour_ips: list[str] = []
    if form == "plain":
        plan_host_services(ctx, random.Random(extra_rng.getrandbits(64)), unmirrorable, router_ip=ROUTER_IP,
                           subnet_cidr=SUBNET_CIDR)
        neighbour_ips = plan_neighbours(ctx, expected, random.Random(extra_rng.getrandbits(64)), neighbours)
    streams = [_tagged(s, MIRRORED) for s in ctx.sessions]
    streams += [_tagged(s, NOT_MIRRORABLE) for s in unmirrorable] + [_tagged(s, NEIGHBOUR) for s in neighbours]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    counts = [0, 0, 0]
    packets = total = mirrored_bytes = resolver_packets = 0
    resolver = ip_bytes(RESOLVER_IP)
    first = last = None
    previous = ctx.start_us
    encapsulate = ctx.net.encapsulate
    writer = PcapWriter(str(out), linktype=DLT_EN10MB, endianness="<", sync=False)
    try:
        writer.write_header(None)
        for ts, kind, inner, sport in heapq.merge(*streams, key=itemgetter(0)):
            if ts < previous:
                raise AssertionError(f"{name}: packet at {ts} precedes {previous}")
            if ts > ctx.end_us:  # the capture window has closed
                continue
            previous = ts
            if kind == MIRRORED:
                mirrored_bytes += len(inner) + VXLAN_OVERHEAD
                if resolver in (inner[26:30], inner[30:34]):
                    resolver_packets += 1
            frame = encapsulate(inner, sport) if form == "vxlan" else inner
            writer.write_packet(frame, sec=ts // 1_000_000, usec=ts % 1_000_000)
            counts[kind] += 1
            packets += 1
            total += len(frame)
            first = ts if first is None else first
            last = ts
    finally:
        writer.close()
    for hook in ctx.after_write:
        hook()
    digest = hashlib.sha256()
    with out.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    suspect = chosen.suspect
    return ScenarioInfo(
        name=name,
        description=chosen.description,
        finding_type=chosen.finding_type,
        seed=seed,
        pcap=str(out),
        suspect_ip=suspect.private_ip,
        instance_id=suspect.instance_id,
        eni_id=suspect.eni_id,
        subnet_id=SUBNET_ID,
        vpc_id=VPC_ID,
        account_id=ACCOUNT_ID,
        region=REGION,
        availability_zone=AVAILABILITY_ZONE,
        sensor_ip=ctx.net.sensor_ip,
        vni=ctx.net.vni,
        duration_seconds=duration_seconds,
        start_time=_dt(ctx.start_us),
        end_time=_dt(ctx.end_us),
        first_packet_time=_dt(first) if first is not None else None,
        last_packet_time=_dt(last) if last is not None else None,
        packets=packets,
        bytes=total,
        file_bytes=out.stat().st_size,
        sha256=digest.hexdigest(),
        sample_finding=f"samples/findings/{name}.json",
        expected=expected,
        form=form,
        suspect_packets=counts[MIRRORED] + counts[NOT_MIRRORABLE],
        mirrored_packets=counts[MIRRORED],
        mirrored_bytes=mirrored_bytes,
        resolver_packets=resolver_packets,
        not_mirrorable_packets=counts[NOT_MIRRORABLE],
        neighbour_packets=counts[NEIGHBOUR],
        neighbour_ips=neighbour_ips,
    )
