"""Neighbouring hosts: other instances of the suspect's subnet, in a plain capture of the story.

A capture handed to the local cloud may hold more than the suspect's ENI carried (a span port, a
capture of the whole subnet). Every story therefore includes two neighbours that live an
ordinary life (DNS through the VPC resolver, HTTPS to the same AWS and package sites) and also
touch the story's peers: they resolve the story's suspicious names, make an HTTPS connection to
its suspicious address, or, in the brute-force story, take a few guesses from the same attacker.
Mirroring copies only the suspect's ENI, so none of this may reach the sensor or the report.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace

from tapcase.scenario.model import Expected, Suspect
from tapcase.scenario.packets import Frame, PortAllocator
from tapcase.scenario.sessions import (
    MS,
    Ctx,
    Exchange,
    address_queries,
    dns_session,
    https_session,
    ssh_bruteforce_session,
    us,
)
from tapcase.scenario.stories import ATTACKER_BANNER, SERVER_BANNER, plan_background


@dataclass(frozen=True)
class Neighbour:
    name: str
    ip: str
    mac: str


NEIGHBOURS: tuple[Neighbour, ...] = (
    Neighbour("api-1", "10.0.1.40", "0e:1b:2c:3d:4e:a0"),
    Neighbour("worker-1", "10.0.1.41", "0e:1b:2c:3d:4e:a1"),
)


def _context(ctx: Ctx, neighbour: Neighbour, rng: random.Random, sessions: list[Iterator[Frame]]) -> Ctx:
    net = replace(ctx.net, suspect_ip=neighbour.ip, suspect_mac=neighbour.mac)
    host = Suspect(instance_id="i-neighbour", eni_id="eni-neighbour", private_ip=neighbour.ip, mac=neighbour.mac,
                   public_ip="192.0.2.250", name_tag=neighbour.name)
    return Ctx(net=net, suspect=host, rng=rng, start_us=ctx.start_us, end_us=ctx.end_us,
               ports=PortAllocator(random.Random(rng.getrandbits(64))), sessions=sessions)


def plan_neighbours(ctx: Ctx, expected: Expected, rng: random.Random, out: list[Iterator[Frame]]) -> list[str]:
    """Plan the neighbours' traffic into ``out``; returns their addresses."""
    for index, neighbour in enumerate(NEIGHBOURS):
        nctx = _context(ctx, neighbour, random.Random(rng.getrandbits(64)), out)
        plan_background(nctx, Expected(), mean_gap_s=40.0 + 15 * index)
        _touch_story_peers(nctx, expected, index)
    return [n.ip for n in NEIGHBOURS]


def _touch_story_peers(ctx: Ctx, expected: Expected, index: int) -> None:
    rng = ctx.rng
    window = ctx.end_us - ctx.start_us
    t = ctx.start_us + window * (3 + 3 * index) // 10 + us(rng.uniform(0, 20))
    for domain, ip in zip(expected.suspicious_domains, expected.suspicious_ips, strict=False):
        ctx.add(dns_session(ctx.net, ctx.child(), port=ctx.port(), t_us=t, queries=address_queries(domain, [ip], []),
                            rtt_us=rng.randint(8000, 30000)))
        t += us(rng.uniform(0.2, 2))
    if expected.bruteforce_source_ip:  # scanners try every host of the subnet
        port = rng.randint(33000, 60000)
        ctx.add(ssh_bruteforce_session(
            ctx.net, ctx.child(), attacker=(expected.bruteforce_source_ip, ctx.ports.claim(expected.bruteforce_source_ip,
                                                                                          port)),
            t_us=t, rtt_us=rng.randint(95, 120) * MS, peer_ttl=47, client_banner=ATTACKER_BANNER,
            server_banner=SERVER_BANNER, attempts=2,
        ))
        return
    for ip in expected.suspicious_ips[:1]:
        ctx.add(https_session(
            ctx.net, ctx.child(), port=ctx.port(), server_ip=ip,
            server_name=(expected.suspicious_domains or [f"{ip}.example"])[0], t_us=t + us(0.5),
            rtt_us=rng.randint(40, 90) * MS, peer_ttl=50, tls13=True, profile="openssl", alpn=("http/1.1",),
            exchanges=[Exchange(rng.randint(300, 600), rng.randint(800, 3000), server_think_us=rng.randint(20, 80) * MS)],
        ))
