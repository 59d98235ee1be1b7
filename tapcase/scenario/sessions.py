"""Sessions: DNS lookups, HTTP, HTTPS and SSH conversations as lazy generators of frames.

A story plans its sessions (times, ports, sizes) up front with its own random generator and hands
the generators to the writer, which merges them by timestamp and streams them to the pcap.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tapcase.scenario import protocols as p
from tapcase.scenario.model import EPOCH, RESOLVER_IP, Suspect
from tapcase.scenario.packets import CLIENT, SERVER, Frame, Net, PortAllocator, TcpFlow, UdpFlow

US = 1_000_000
MS = 1_000

# Certificates in the captures are valid around the capture window (fixed, not wall-clock based).
CERT_NOT_BEFORE = EPOCH - 40 * 86400
CERT_NOT_AFTER = EPOCH + 50 * 86400
BENIGN_CA = "Example Trust Services CA 1"


def us(seconds: float) -> int:
    return int(round(seconds * US))


@dataclass
class Ctx:
    """Planning context of one generation."""

    net: Net
    suspect: Suspect
    rng: random.Random
    start_us: int
    end_us: int
    ports: PortAllocator
    sessions: list[Iterator[Frame]] = field(default_factory=list)
    # Called once every session has been written (to record what only the writing revealed).
    after_write: list[Callable[[], None]] = field(default_factory=list)

    def child(self) -> random.Random:
        """An independent generator for one session (keeps sessions reproducible on their own)."""
        return random.Random(self.rng.getrandbits(64))

    def add(self, session: Iterator[Frame]) -> None:
        self.sessions.append(session)

    def port(self) -> int:
        return self.ports.take(self.suspect.private_ip)


# ---------------------------------------------------------------------------------------------------
# DNS
# ---------------------------------------------------------------------------------------------------

Record = tuple[str, str, int, object]


@dataclass
class Query:
    qname: str
    qtype: str
    rcode: str = "NOERROR"
    answers: list[Record] = field(default_factory=list)
    authority: list[Record] = field(default_factory=list)


def zone_of(name: str) -> str:
    labels = name.rstrip(".").split(".")
    return ".".join(labels[-2:])


def zone_soa(zone: str, ttl: int = 900) -> Record:
    tld = zone.rsplit(".", 1)[-1]
    if zone == tld and tld in p.TLD_SOA:
        return (zone, "SOA", ttl, p.TLD_SOA[tld])
    return (zone, "SOA", ttl, (f"ns-1.{zone}", f"hostmaster.{zone}", 2024060301, 7200, 900, 1209600, 300))


def dns_session(net: Net, rng: random.Random, *, port: int, t_us: int, queries: list[Query], rtt_us: int,
                resolver: str = RESOLVER_IP) -> Iterator[Frame]:
    """Queries sent from one socket (like glibc's parallel A and AAAA), answered by the VPC resolver."""
    flow = UdpFlow(
        net, rng, client=(net.suspect_ip, port), server=(resolver, 53), client_ttl=net.egress_ttl, server_ttl=255
    )
    planned = []
    for i, q in enumerate(queries):
        txid = rng.randrange(65536)
        planned.append((t_us + i * rng.randint(20, 60), 2 * i, True, p.dns_message(txid, q.qname, q.qtype)))
        response = p.dns_message(
            txid, q.qname, q.qtype, response=True, rcode=q.rcode, answers=q.answers, authority=q.authority
        )
        planned.append((t_us + rtt_us + i * rng.randint(30, 400), 2 * i + 1, False, response))
    for ts, _, from_client, payload in sorted(planned, key=lambda x: (x[0], x[1])):
        yield flow.packet(ts, from_client, payload)


def address_queries(name: str, ipv4: list[str], ipv6: list[str], *, ttl: int = 60, cname: str | None = None) -> list[Query]:
    """The A and AAAA lookups of ``name``; an empty list of addresses gives NODATA with the zone's SOA."""
    out = []
    for qtype, addrs in (("A", ipv4), ("AAAA", ipv6)):
        answers: list[Record] = []
        owner = name
        if cname and addrs:
            answers.append((name, "CNAME", 300, cname))
            owner = cname
        answers += [(owner, qtype, ttl, a) for a in addrs]
        authority = [] if addrs else [zone_soa(zone_of(cname or name))]
        out.append(Query(name, qtype, answers=answers, authority=authority))
    return out


# ---------------------------------------------------------------------------------------------------
# HTTPS, HTTP
# ---------------------------------------------------------------------------------------------------


@dataclass
class Exchange:
    """One request and its response inside a connection (plaintext sizes for TLS)."""

    request: int | bytes
    response: int | bytes
    client_think_us: int = 0
    server_think_us: int = 0


def https_session(
    net: Net,
    rng: random.Random,
    *,
    port: int,
    server_ip: str,
    server_name: str,
    t_us: int,
    rtt_us: int,
    peer_ttl: int,
    exchanges: list[Exchange],
    tls13: bool,
    profile: str = "openssl",
    issuer: str | None = BENIGN_CA,
    alpn: tuple[str, ...] = ("h2", "http/1.1"),
    teardown: str = "fin",
    cwnd: int = 40,
    server_window: int = 509,
    stats: dict | None = None,
) -> Iterator[Frame]:
    """A TLS connection: handshake (TLS 1.3, or TLS 1.2 with a visible certificate chain), then the
    exchanges as encrypted records, close_notify, FIN or RST teardown."""
    flow = TcpFlow(
        net, rng, client=(net.suspect_ip, port), server=(server_ip, 443), start_us=t_us, rtt_us=rtt_us, peer_ttl=peer_ttl,
        server_window=server_window,
    )
    yield from flow.open()
    hello, client_random = p.client_hello(rng, server_name, profile=profile, alpn=alpn)
    yield from flow.send(CLIENT, hello, think_us=rng.randint(100, 400))
    handshake_think = rng.randint(300, 1500)
    if tls13:
        yield from flow.send(SERVER, p.server_flight_tls13(rng), think_us=handshake_think)
        first = exchanges[0]
        request = p.client_finish_tls13(rng) + p.application_data(rng, _size(first.request), tls13=True)
        yield from flow.send(CLIENT, request, think_us=rng.randint(200, 900))
        # Session tickets arrive right after the handshake.
        tickets = b"".join(p.application_data(rng, rng.randint(180, 260), tls13=True) for _ in range(2))
        yield from flow.send(SERVER, tickets, think_us=rng.randint(50, 300))
        yield from flow.send(SERVER, p.application_data(rng, _size(first.response), tls13=True),
                             think_us=first.server_think_us, cwnd=cwnd)
        rest = exchanges[1:]
    else:
        chain = p.certificate_chain(server_name, issuer, CERT_NOT_BEFORE, CERT_NOT_AFTER)
        alpn_choice = "http/1.1" if "http/1.1" in alpn else alpn[0]
        yield from flow.send(SERVER, p.server_flight_tls12(rng, server_name, client_random, chain, alpn=alpn_choice),
                             think_us=handshake_think)
        yield from flow.send(CLIENT, p.client_finish_tls12(rng), think_us=rng.randint(300, 900))
        yield from flow.send(SERVER, p.server_finish_tls12(rng), think_us=rng.randint(100, 400))
        rest = exchanges
    for ex in rest:
        yield from flow.send(CLIENT, p.application_data(rng, _size(ex.request), tls13=tls13),
                             think_us=ex.client_think_us or rng.randint(100, 600), cwnd=cwnd)
        yield from flow.send(SERVER, p.application_data(rng, _size(ex.response), tls13=tls13),
                             think_us=ex.server_think_us, cwnd=cwnd)
    yield from flow.send(CLIENT, p.close_notify(rng, tls13=tls13), think_us=rng.randint(1000, 30000))
    if teardown == "rst":
        yield from flow.reset(CLIENT, think_us=rng.randint(50, 300))
    else:
        yield from flow.close(CLIENT, think_us=rng.randint(50, 300))
    if stats is not None:
        stats["client_payload_bytes"] = flow.payload_bytes[CLIENT]
        stats["server_payload_bytes"] = flow.payload_bytes[SERVER]


def _size(value: int | bytes) -> int:
    return value if isinstance(value, int) else len(value)


def http_session(
    net: Net,
    rng: random.Random,
    *,
    port: int,
    server_ip: str,
    t_us: int,
    rtt_us: int,
    peer_ttl: int,
    exchanges: list[Exchange],
    server_closes: bool = True,
) -> Iterator[Frame]:
    """A plain HTTP/1.1 connection; ``Connection: close`` makes the server close first."""
    flow = TcpFlow(
        net, rng, client=(net.suspect_ip, port), server=(server_ip, 80), start_us=t_us, rtt_us=rtt_us, peer_ttl=peer_ttl
    )
    yield from flow.open()
    for ex in exchanges:
        assert isinstance(ex.request, bytes) and isinstance(ex.response, bytes)
        yield from flow.send(CLIENT, ex.request, think_us=ex.client_think_us or rng.randint(80, 300))
        yield from flow.send(SERVER, ex.response, think_us=ex.server_think_us)
    if server_closes:
        yield from flow.close(SERVER, think_us=rng.randint(50, 200))
    else:
        yield from flow.close(CLIENT, think_us=rng.randint(200, 2000))


# ---------------------------------------------------------------------------------------------------
# SSH
# ---------------------------------------------------------------------------------------------------


def ssh_handshake(flow: TcpFlow, rng: random.Random, *, client_banner: str, server_banner: str,
                  client_flavour: str, host_label: str) -> Iterator[Frame]:
    """Banners, KEXINIT both ways, curve25519 exchange, NEWKEYS, encrypted service request/accept.
    The suspect is the server (port 22)."""
    yield from flow.send(CLIENT, f"{client_banner}\r\n".encode(), think_us=rng.randint(200, 1500))
    yield from flow.send(SERVER, f"{server_banner}\r\n".encode(), think_us=rng.randint(2000, 6000))
    yield from flow.send(CLIENT, p.ssh_kexinit(rng, client_flavour), think_us=rng.randint(100, 600))
    yield from flow.send(SERVER, p.ssh_kexinit(rng, "server"), think_us=rng.randint(100, 400))
    yield from flow.send(CLIENT, p.ssh_ecdh_init(rng), think_us=rng.randint(200, 900))
    yield from flow.send(SERVER, p.ssh_ecdh_reply_and_newkeys(rng, host_label), think_us=rng.randint(1500, 4000))
    yield from flow.send(CLIENT, p.ssh_newkeys(rng), think_us=rng.randint(300, 1200))
    yield from flow.send(CLIENT, p.ssh_encrypted(rng, 22), think_us=rng.randint(60, 300))  # service request
    yield from flow.send(SERVER, p.ssh_encrypted(rng, 22), think_us=rng.randint(100, 500))


def ssh_bruteforce_session(
    net: Net,
    rng: random.Random,
    *,
    attacker: tuple[str, int],
    t_us: int,
    rtt_us: int,
    peer_ttl: int,
    client_banner: str,
    server_banner: str,
    attempts: int,
) -> Iterator[Frame]:
    """One connection of a password-guessing tool: handshake, ``attempts`` failed passwords (each
    failure delayed ~2 s by PAM), then the tool disconnects (FIN, sometimes RST)."""
    flow = TcpFlow(
        net, rng, client=attacker, server=(net.suspect_ip, 22), start_us=t_us, rtt_us=rtt_us, peer_ttl=peer_ttl,
        client_syn_window=64240, server_syn_window=62643, client_window=502, server_window=489,
    )
    yield from flow.open()
    yield from ssh_handshake(flow, rng, client_banner=client_banner, server_banner=server_banner,
                             client_flavour="libssh2", host_label=net.suspect_ip)
    # "none" auth probe, then password attempts.
    yield from flow.send(CLIENT, p.ssh_encrypted(rng, 38), think_us=rng.randint(200, 800))
    yield from flow.send(SERVER, p.ssh_encrypted(rng, 30), think_us=rng.randint(500, 2000))
    for _ in range(attempts):
        yield from flow.send(CLIENT, p.ssh_encrypted(rng, rng.randint(52, 70)), think_us=rng.randint(500, 3000))
        yield from flow.send(SERVER, p.ssh_encrypted(rng, 30), think_us=rng.randint(1_900_000, 2_300_000))
    yield from flow.send(CLIENT, p.ssh_encrypted(rng, 40), think_us=rng.randint(300, 2000))  # disconnect
    if rng.random() < 0.2:
        yield from flow.reset(CLIENT, think_us=rng.randint(50, 500))
    else:
        yield from flow.close(CLIENT, think_us=rng.randint(50, 500))


def ssh_admin_session(
    net: Net,
    rng: random.Random,
    *,
    admin: tuple[str, int],
    t_us: int,
    duration_us: int,
    client_banner: str,
    server_banner: str,
) -> Iterator[Frame]:
    """An administrator's interactive session from the bastion: public key login, keystrokes with
    echoes, occasional command output, exit."""
    flow = TcpFlow(
        net, rng, client=admin, server=(net.suspect_ip, 22), start_us=t_us, rtt_us=rng.randint(250, 600),
        peer_ttl=64, peer_gap_us=20,
    )
    yield from flow.open()
    yield from ssh_handshake(flow, rng, client_banner=client_banner, server_banner=server_banner,
                             client_flavour="openssh", host_label=net.suspect_ip)
    yield from flow.send(CLIENT, p.ssh_encrypted(rng, 390), think_us=rng.randint(500, 2000))  # publickey
    yield from flow.send(SERVER, p.ssh_encrypted(rng, 14), think_us=rng.randint(2000, 8000))  # success
    yield from flow.send(CLIENT, p.ssh_encrypted(rng, 120), think_us=rng.randint(100, 500))  # session, pty
    yield from flow.send(SERVER, p.ssh_encrypted(rng, 1400), think_us=rng.randint(20000, 60000))  # motd
    end = t_us + duration_us
    while flow.now < end:
        yield from flow.send(CLIENT, p.ssh_encrypted(rng, 10), think_us=rng.randint(120_000, 1_800_000))
        echo = 10 if rng.random() < 0.85 else rng.randint(300, 6000)
        yield from flow.send(SERVER, p.ssh_encrypted(rng, echo), think_us=rng.randint(200, 3000))
    yield from flow.send(CLIENT, p.ssh_encrypted(rng, 30), think_us=rng.randint(300_000, 900_000))  # exit
    yield from flow.send(SERVER, p.ssh_encrypted(rng, 60), think_us=rng.randint(500, 2000))
    yield from flow.close(SERVER, think_us=rng.randint(500, 3000))


__all__ = [
    "Ctx",
    "Exchange",
    "Query",
    "address_queries",
    "dns_session",
    "http_session",
    "https_session",
    "ssh_admin_session",
    "ssh_bruteforce_session",
    "us",
    "zone_of",
    "zone_soa",
    "MS",
    "US",
    "SERVER",
    "CLIENT",
]
