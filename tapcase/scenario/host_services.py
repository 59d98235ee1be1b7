"""Traffic every EC2 instance has with its VPC's own services, which Traffic Mirroring never copies.

"Traffic Mirroring can't mirror the following traffic types: ARP, DHCP, Instance metadata
service, NTP, Windows activation" (Traffic Mirroring limitations). A plain capture of the
suspect's interface carries them all the same: the local data plane must leave them out.

- ARP for the VPC router (the subnet's base + 1), answered by the router;
- a DHCP lease renewal (unicast DHCPREQUEST to the router's address, DHCPACK);
- instance metadata (IMDSv2, 169.254.169.254): a token, then the role's credentials, as the SSM
  agent and the AWS SDKs fetch them;
- chrony with the Amazon Time Sync Service (169.254.169.123) every 64 s.
"""

from __future__ import annotations

import ipaddress
import random
import struct
from collections.abc import Iterator

from tapcase.scenario import protocols as p
from tapcase.scenario.model import RESOLVER_IP
from tapcase.scenario.packets import Frame, Net, UdpFlow, ip_bytes, mac_bytes
from tapcase.scenario.sessions import Ctx, Exchange, http_session, us

IMDS_IP = "169.254.169.254"
TIME_SYNC_IP = "169.254.169.123"
NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)
NTP_POLL_SECONDS = 64.0
ARP_INTERVAL_SECONDS = 75.0
IMDS_INTERVAL_SECONDS = 300.0
ROLE = "web-app-role"


def ntp_message(ts_us: int, mode: int, origin: bytes = b"\0" * 8) -> bytes:
    """An NTPv4 client request (mode 3, chrony style) or the Time Sync Service's reply (mode 4)."""
    seconds, micros = divmod(ts_us, 1_000_000)
    stamp = struct.pack("!II", seconds + NTP_EPOCH_OFFSET, (micros << 32) // 1_000_000)
    if mode == 3:
        return struct.pack("!BBbbII4s", 0x23, 0, 6, -20, 0, 0, b"\0" * 4) + b"\0" * 24 + stamp
    header = struct.pack("!BBbbII4s", 0x24, 3, 6, -25, 0x0000000A, 0x00000014, bytes([169, 254, 169, 123]))
    return header + stamp + origin + stamp + stamp


def ntp_exchange(net: Net, rng: random.Random, port: int, t_us: int, *, ttl: int = 64) -> list[Frame]:
    """One chrony poll of the Time Sync Service and its reply."""
    flow = UdpFlow(net, rng, client=(net.suspect_ip, port), server=(TIME_SYNC_IP, 123), client_ttl=ttl,
                   server_ttl=255)
    request = ntp_message(t_us, 3)
    reply_at = t_us + rng.randint(120, 400)
    return [flow.packet(t_us, True, request), flow.packet(reply_at, False, ntp_message(reply_at, 4, request[40:48]))]


def arp_exchange(net: Net, router_ip: str, t_us: int) -> list[Frame]:
    """Who-has the router, tell the instance; the router's reply (Ethernet, ARP over IPv4)."""
    me, router = mac_bytes(net.suspect_mac), mac_bytes(net.router_mac)

    def arp(op: int, sha: bytes, spa: str, tha: bytes, tpa: str) -> bytes:
        return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, sha, ip_bytes(spa), tha, ip_bytes(tpa))

    request = b"\xff" * 6 + me + b"\x08\x06" + arp(1, me, net.suspect_ip, b"\0" * 6, router_ip)
    reply = me + router + b"\x08\x06" + arp(2, router, router_ip, me, net.suspect_ip)
    return [(t_us, request, 0), (t_us + 180, reply, 0)]


def dhcp_renewal(net: Net, rng: random.Random, router_ip: str, subnet_cidr: str, t_us: int) -> list[Frame]:
    """A DHCPREQUEST renewing the lease (unicast to the DHCP server, as in RENEWING) and the DHCPACK."""
    xid = rng.getrandbits(32)
    mac = mac_bytes(net.suspect_mac)
    network = ipaddress.ip_network(subnet_cidr)

    def bootp(op: int, yiaddr: str, options: bytes) -> bytes:
        fixed = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", op, 1, 6, 0, xid, 0, 0, ip_bytes(net.suspect_ip),
                            ip_bytes(yiaddr), b"\0" * 4, b"\0" * 4, mac + b"\0" * 10, b"", b"")
        return fixed + b"\x63\x82\x53\x63" + options + b"\xff"

    request = bootp(1, "0.0.0.0", b"\x35\x01\x03" + b"\x37\x04\x01\x03\x06\x0f")
    ack_options = (b"\x35\x01\x05" + b"\x36\x04" + ip_bytes(router_ip) + b"\x33\x04" + struct.pack("!I", 3600)
                   + b"\x01\x04" + network.netmask.packed + b"\x03\x04" + ip_bytes(router_ip)
                   + b"\x06\x04" + ip_bytes(RESOLVER_IP))
    ack = bootp(2, net.suspect_ip, ack_options)
    flow = UdpFlow(net, rng, client=(net.suspect_ip, 68), server=(router_ip, 67), client_ttl=64, server_ttl=64)
    return [flow.packet(t_us, True, request), flow.packet(t_us + rng.randint(300, 900), False, ack)]


def imds_session(ctx: Ctx, rng: random.Random, t_us: int) -> Iterator[Frame]:
    """IMDSv2: PUT a session token, then GET the instance role's credentials (one connection)."""
    agent = "aws-sdk-go/1.44.327 (go1.20.6; linux; amd64)"
    token = rng.randbytes(42).hex()
    put = p.http_request("PUT", "/latest/api/token", IMDS_IP, agent,
                         headers=[("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")])
    credentials = (
        '{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIA' + rng.randbytes(8).hex().upper()
        + '","SecretAccessKey":"' + rng.randbytes(20).hex() + '","Token":"' + rng.randbytes(300).hex()
        + '","Expiration":"2024-06-03T20:00:00Z"}'
    ).encode()
    get = p.http_request("GET", f"/latest/meta-data/iam/security-credentials/{ROLE}", IMDS_IP, agent,
                         headers=[("X-Aws-Ec2-Metadata-Token", token)])
    ts = t_us / 1e6
    exchanges = [
        Exchange(put, p.http_response(200, "OK", ts, token.encode(), headers=[("X-Aws-Ec2-Metadata-Token-Ttl-Seconds",
                                                                               "21600")], server="EC2ws"),
                 server_think_us=rng.randint(200, 600)),
        Exchange(get, p.http_response(200, "OK", ts, credentials, headers=[("Content-Type", "text/plain")],
                                      server="EC2ws"),
                 client_think_us=rng.randint(300, 900), server_think_us=rng.randint(300, 900)),
    ]
    return http_session(ctx.net, rng, port=ctx.port(), server_ip=IMDS_IP, t_us=t_us, rtt_us=rng.randint(80, 200),
                        peer_ttl=255, exchanges=exchanges, server_closes=False)


def plan_host_services(ctx: Ctx, rng: random.Random, out: list[Iterator[Frame]], *, router_ip: str,
                       subnet_cidr: str) -> None:
    """The instance's traffic with the VPC's own services over the window, appended to ``out``."""
    t = ctx.start_us + us(rng.uniform(1, 20))
    while t < ctx.end_us:
        out.append(iter(arp_exchange(ctx.net, router_ip, t)))
        t += us(ARP_INTERVAL_SECONDS + rng.uniform(-10, 10))
    t = ctx.start_us + us(rng.uniform(1, 30))
    while t < ctx.end_us:
        out.append(iter(ntp_exchange(ctx.net, random.Random(rng.getrandbits(64)), ctx.port(), t, ttl=ctx.net.egress_ttl)))
        t += us(NTP_POLL_SECONDS)
    t = ctx.start_us + us(rng.uniform(5, 60))
    while t < ctx.end_us - us(5):
        out.append(imds_session(ctx, random.Random(rng.getrandbits(64)), t))
        t += us(IMDS_INTERVAL_SECONDS + rng.uniform(-20, 20))
    renew = ctx.start_us + (ctx.end_us - ctx.start_us) // 2 + us(rng.uniform(0, 30))
    out.append(iter(dhcp_renewal(ctx.net, random.Random(rng.getrandbits(64)), router_ip, subnet_cidr, renew)))
