"""The sensor's own traffic: what its network interface carries besides the mirrored stream.

A real sensor's ENI is not a pure mirror port: its agent long-polls the investigation's SQS queue
(``ReceiveMessage`` with a 20 s wait, boto3 over TLS), answers Step Functions task tokens, looks
the service endpoints up through the VPC resolver (A and AAAA, 60 s TTL), and chrony keeps time
with the Amazon Time Sync Service (169.254.169.123, every 64 s). :func:`own_traffic` writes that
traffic as Ethernet frames in time order, endlessly from ``start_us`` (the data plane reads it only
up to the capture's last packet), with the wire encoders of :mod:`tapcase.scenario`. The engines'
capture filter (UDP 4789 to the sensor's own address) is what keeps it out of the evidence.

Endpoint addresses are documentation addresses (RFC 5737, like the scenarios' benign sites).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from operator import itemgetter

from tapcase.scenario.host_services import ntp_exchange
from tapcase.scenario.packets import Net, PortAllocator
from tapcase.scenario.sessions import Exchange, address_queries, dns_session, https_session, us

LONG_POLL_SECONDS = 20.0
NTP_POLL_SECONDS = 64.0
DNS_TTL_SECONDS = 60.0
ROUTER_MAC = "06:3b:77:d0:12:01"

OwnFrame = tuple[int, bytes]


def endpoints(region: str) -> dict[str, tuple[str, str]]:
    """Service endpoints the agent calls: service -> (DNS name, IPv4 address)."""
    return {
        "sqs": (f"sqs.{region}.amazonaws.com", "192.0.2.21"),
        "states": (f"states.{region}.amazonaws.com", "192.0.2.22"),
    }


def own_traffic(
    *, start_us: int, sensor_ip: str, sensor_mac: str, resolver_ip: str, region: str, seed: str = ""
) -> Iterator[OwnFrame]:
    """The sensor's own frames from ``start_us`` on, in time order, without end."""
    rng = random.Random(f"tapcase-sensor-traffic:{seed}:{sensor_ip}")
    net = Net(suspect_ip=sensor_ip, suspect_mac=sensor_mac, router_mac=ROUTER_MAC, sensor_ip=sensor_ip,
              sensor_mac=sensor_mac, outer_src_mac=ROUTER_MAC, vni=0, egress_ttl=64)
    ports = PortAllocator(random.Random(rng.getrandbits(64)))
    names = endpoints(region)
    resolved_until: dict[str, int] = {}
    next_ntp = start_us + us(rng.uniform(0.5, 8.0))
    t = start_us + us(rng.uniform(0.05, 0.5))
    first = True
    while True:
        cycle: list[list[OwnFrame]] = []
        calls = [("states", 1_200, 420, 35)] if first else []  # SendTaskSuccess for WaitForSensor
        calls.append(("sqs", 610, 290, int(LONG_POLL_SECONDS * 1000) - rng.randint(0, 150)))  # long poll
        at = t
        for service, request, response, think_ms in calls:
            name, ip = names[service]
            if resolved_until.get(name, -1) < at:
                rtt = rng.randint(300, 900)
                queries = address_queries(name, [ip], [], ttl=int(DNS_TTL_SECONDS))
                cycle.append([(ts, f) for ts, f, _ in dns_session(
                    net, random.Random(rng.getrandbits(64)), port=ports.take(sensor_ip), t_us=at, queries=queries,
                    rtt_us=rtt, resolver=resolver_ip)])
                resolved_until[name] = at + us(DNS_TTL_SECONDS)
                at += rtt + rng.randint(200, 600)
            session = https_session(
                net, random.Random(rng.getrandbits(64)), port=ports.take(sensor_ip), server_ip=ip, server_name=name,
                t_us=at, rtt_us=rng.randint(900, 1600), peer_ttl=242, tls13=True, profile="openssl",
                alpn=("http/1.1",), exchanges=[Exchange(request, response, server_think_us=think_ms * 1000)],
            )
            frames = [(ts, f) for ts, f, _ in session]
            cycle.append(frames)
            at = frames[-1][0] + rng.randint(500, 3000)
        while next_ntp < at:
            cycle.append([(ts, f) for ts, f, _ in ntp_exchange(net, rng, ports.take(sensor_ip), next_ntp)])
            next_ntp += us(NTP_POLL_SECONDS)
        merged = list(heapq.merge(*cycle, key=itemgetter(0)))
        yield from merged
        t = max(at, merged[-1][0] + 1)
        first = False
