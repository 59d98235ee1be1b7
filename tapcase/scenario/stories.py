"""The incident stories and the benign background every story carries.

Each story plans its sessions on a :class:`~tapcase.scenario.sessions.Ctx` and fills in the
:class:`~tapcase.scenario.model.Expected` answers. Peers, domains and instance identities are fixed
per story (they are what the sample GuardDuty finding names); the seed varies timing, ports, ids,
random names and payload bytes.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass

from tapcase.scenario import protocols as p
from tapcase.scenario.model import APT_SITE, BENIGN_SITES, Expected, Site, Suspect
from tapcase.scenario.sessions import (
    MS,
    Ctx,
    Exchange,
    Query,
    address_queries,
    dns_session,
    http_session,
    https_session,
    ssh_admin_session,
    ssh_bruteforce_session,
    us,
    zone_soa,
)

# ---------------------------------------------------------------------------------------------------
# Benign background
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteProfile:
    weight: int
    rtt_ms: float
    ttl: int
    profile: str
    request: tuple[int, int]
    response: tuple[int, int]
    server_think_ms: tuple[int, int]
    requests: tuple[int, int] = (1, 1)
    cname: str | None = None


SITE_PROFILES = {
    # The SSM agent (Go) polls its endpoints; ec2messages is a long poll.
    "ssm.us-east-1.amazonaws.com": SiteProfile(3, 1.2, 242, "go", (700, 1300), (300, 900), (20, 90), (1, 3)),
    "ec2messages.us-east-1.amazonaws.com": SiteProfile(2, 1.1, 242, "go", (500, 900), (200, 600), (12000, 19000)),
    "s3.us-east-1.amazonaws.com": SiteProfile(2, 1.6, 242, "openssl", (400, 800), (4000, 250000), (15, 60), (1, 2)),
    "api.github.com": SiteProfile(1, 9.0, 52, "openssl", (300, 500), (1500, 9000), (30, 120)),
    "pypi.org": SiteProfile(1, 12.0, 57, "openssl", (250, 400), (6000, 60000), (10, 40), (1, 2),
                            cname="dualstack.python.map.fastly.net"),
    "files.pythonhosted.org": SiteProfile(1, 12.0, 57, "openssl", (300, 400), (80000, 600000), (10, 40),
                                          cname="dualstack.python.map.fastly.net"),
}

APT_USER_AGENT = "Debian APT-HTTP/1.3 (2.4.12) non-interactive"


def _resolver_rtt(ctx: Ctx, cached: bool = True) -> int:
    return ctx.rng.randint(300, 900) if cached else ctx.rng.randint(8000, 45000)


def plan_background(ctx: Ctx, expected: Expected, *, mean_gap_s: float = 18.0) -> None:
    """Ordinary traffic of a Linux web server: DNS lookups (A and AAAA, cached for their TTL) and
    HTTPS to AWS endpoints and package sites, one apt update over HTTP."""
    rng = ctx.rng
    sites = {site.name: site for site in BENIGN_SITES}
    names = list(SITE_PROFILES)
    weights = [SITE_PROFILES[n].weight for n in names]
    cache_until: dict[str, int] = {}
    t = ctx.start_us + us(rng.uniform(0.5, 3.0))
    last_start = ctx.end_us - us(30)
    while t < last_start:
        name = rng.choices(names, weights)[0]
        _visit(ctx, t, sites[name], SITE_PROFILES[name], cache_until)
        t += us(min(60.0, max(1.5, rng.expovariate(1.0 / mean_gap_s))))
    apt_at = ctx.start_us + (ctx.end_us - ctx.start_us) * 3 // 10 + us(rng.uniform(0, 5))
    _apt_update(ctx, apt_at, APT_SITE)
    expected.benign_domains = sorted(set(names) | {APT_SITE.name})


def _visit(ctx: Ctx, t: int, site: Site, prof: SiteProfile, cache_until: dict[str, int]) -> None:
    rng = ctx.rng
    if cache_until.get(site.name, -1) < t:
        rtt = _resolver_rtt(ctx, cached=rng.random() < 0.6)
        queries = address_queries(site.name, [site.ip], [site.ipv6], ttl=60, cname=prof.cname)
        ctx.add(dns_session(ctx.net, ctx.child(), port=ctx.port(), t_us=t, queries=queries, rtt_us=rtt))
        cache_until[site.name] = t + us(60)
        t += rtt + rng.randint(300, 800) * 2
    exchanges = [
        Exchange(
            request=rng.randint(*prof.request),
            response=rng.randint(*prof.response),
            server_think_us=rng.randint(*prof.server_think_ms) * MS,
            client_think_us=rng.randint(200, 2000) * MS if i else 0,
        )
        for i in range(rng.randint(*prof.requests))
    ]
    ctx.add(
        https_session(
            ctx.net,
            ctx.child(),
            port=ctx.port(),
            server_ip=site.ip,
            server_name=site.name,
            t_us=t,
            rtt_us=int(prof.rtt_ms * MS * rng.uniform(0.9, 1.2)),
            peer_ttl=prof.ttl,
            exchanges=exchanges,
            tls13=site.tls13,
            profile=prof.profile,
            alpn=("http/1.1",) if prof.profile == "go" else ("h2", "http/1.1"),
            teardown="rst" if rng.random() < 0.3 else "fin",
        )
    )


def _apt_update(ctx: Ctx, t: int, site: Site) -> None:
    rng = ctx.rng
    rtt = _resolver_rtt(ctx, cached=False)
    queries = address_queries(site.name, [site.ip], [site.ipv6], ttl=60)
    ctx.add(dns_session(ctx.net, ctx.child(), port=ctx.port(), t_us=t, queries=queries, rtt_us=rtt))
    body_rng = ctx.child()
    exchanges = []
    for i, path in enumerate(("/ubuntu/dists/jammy-security/InRelease", "/ubuntu/dists/jammy-security/main/i18n/Translation-en.xz")):
        request = p.http_request(
            "GET", path, site.name, APT_USER_AGENT,
            headers=[("Cache-Control", "max-age=0"), ("Accept", "text/*"),
                     ("If-Modified-Since", "Mon, 03 Jun 2024 09:12:11 GMT")],
        )
        body = _text(body_rng, body_rng.randint(60000, 130000)) if i == 0 else body_rng.randbytes(body_rng.randint(20000, 60000))
        response = p.http_response(
            200, "OK", (t / 1e6) + 1, body,
            headers=[("Content-Type", "text/plain" if i == 0 else "application/x-xz"),
                     ("Last-Modified", "Mon, 03 Jun 2024 13:41:02 GMT"), ("Accept-Ranges", "bytes")],
            server="Apache/2.4.29 (Ubuntu)",
        )
        exchanges.append(Exchange(request, response, client_think_us=rng.randint(1, 20) * MS if i else 0,
                                  server_think_us=rng.randint(80, 160) * MS))
    ctx.add(http_session(ctx.net, ctx.child(), port=ctx.port(), server_ip=site.ip,
                         t_us=t + rtt + rng.randint(500, 1500), rtt_us=rng.randint(70, 95) * MS, peer_ttl=47,
                         exchanges=exchanges, server_closes=False))


def _text(rng, size: int) -> bytes:
    words = ["Package:", "Version:", "SHA256:", "main/binary-amd64/Packages", "Release", "jammy-security",
             "Architectures:", "amd64", "i386", "Components:", "universe", "restricted", "multiverse"]
    out = []
    length = 0
    while length < size:
        line = " " + rng.choice(words) + " " + "".join(rng.choices(string.hexdigits.lower(), k=64)) + "\n"
        out.append(line)
        length += len(line)
    return "".join(out).encode()[:size]


# ---------------------------------------------------------------------------------------------------
# Stories
# ---------------------------------------------------------------------------------------------------

C2_DOMAIN = "c2.guarddutyc2activityb.com"  # awslabs/amazon-guardduty-tester: Backdoor:EC2/C&CActivity.B!DNS
C2_IP = "198.51.100.53"
DGA_HIT_IP = "198.51.100.54"
DGA_TLDS = ("com", "net", "org", "info", "biz")

BEACON_IP = "198.51.100.23"
BEACON_HOST = "telemetry.cdn-sync.example"
BEACON_PATH = "/api/v2/status"
BEACON_USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Trident/7.0; rv:11.0) like Gecko"
BEACON_INTERVAL_S = 60.0
BEACON_JITTER_S = 1.5

ATTACKER_IP = "203.0.113.77"
ATTACKER_BANNER = "SSH-2.0-libssh2_1.10.0"
SERVER_BANNER = "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10"
BASTION_IP = "10.0.0.10"
ADMIN_BANNER = "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5"

EXFIL_IP = "198.51.100.140"
EXFIL_HOST = "upload.files-relay.example"
EXFIL_BYTES = 20 * 1024 * 1024


def _hexlabel(rng, nbytes: int) -> str:
    return rng.randbytes(nbytes).hex()


def _dga_name(rng) -> str:
    consonants, vowels = "bcdfghjklmnpqrstvwxz", "aeiouy"
    length = rng.randint(10, 18)
    label = "".join(rng.choice(consonants if rng.random() < 0.7 else vowels) for _ in range(length))
    return f"{label}.{rng.choice(DGA_TLDS)}"


def story_c2_dns(ctx: Ctx, expected: Expected) -> None:
    """DNS command and control: the implant resolves its C2 domain every ~30 s, tunnels data in TXT
    queries under it, and walks a DGA list (NXDOMAIN) until one name resolves, which it then
    contacts over TLS."""
    rng = ctx.rng
    net = ctx.net
    start, end = ctx.start_us, ctx.end_us
    window = end - start

    # 1. Periodic resolution of the C2 domain (A only, the implant's own resolver call).
    t = start + us(rng.uniform(4, 8))
    count = 0
    first = True
    while t < end - us(5):
        q = Query(C2_DOMAIN, "A", answers=[(C2_DOMAIN, "A", 60, C2_IP)])
        ctx.add(dns_session(net, ctx.child(), port=ctx.port(), t_us=t, queries=[q],
                            rtt_us=_resolver_rtt(ctx, cached=not first)))
        first = False
        count += 1
        t += us(rng.uniform(25, 35))

    # 2. TXT tunnel: data encoded in labels under the C2 domain, commands in TXT answers.
    t = start + us(rng.uniform(10, 15))
    txt = 0
    sequence = rng.randrange(0x1000)
    while t < end - us(5):
        for _ in range(rng.randint(1, 3)):
            sequence = (sequence + 1) & 0xFFFF
            qname = f"{_hexlabel(rng, rng.randint(12, 28))}.{sequence:04x}.{C2_DOMAIN}"
            reply = "".join(rng.choices(string.ascii_letters + string.digits + "+/", k=rng.randint(40, 180)))
            q = Query(qname, "TXT", answers=[(qname, "TXT", 0, [reply])])
            ctx.add(dns_session(net, ctx.child(), port=ctx.port(), t_us=t, queries=[q],
                                rtt_us=rng.randint(15000, 60000)))
            txt += 1
            t += us(rng.uniform(0.2, 0.9))
        t += us(rng.uniform(8, 15))

    # 3. DGA walk: bursts of random names, NXDOMAIN, one hit around 60 % of the window.
    dga: list[str] = []
    nx = 0
    hit_at = start + window * 6 // 10
    hit_name = None
    t = start + us(rng.uniform(20, 30))
    while t < end - us(10):
        burst = rng.randint(3, 8)
        for i in range(burst):
            name = _dga_name(rng)
            while name in dga:
                name = _dga_name(rng)
            dga.append(name)
            tld = name.rsplit(".", 1)[1]
            if hit_name is None and t >= hit_at and i == burst - 1:
                hit_name = name
                q = Query(name, "A", answers=[(name, "A", 300, DGA_HIT_IP)])
                ctx.add(dns_session(net, ctx.child(), port=ctx.port(), t_us=t, queries=[q],
                                    rtt_us=rng.randint(20000, 60000)))
                _dga_contact(ctx, t + us(0.15), name)
            else:
                q = Query(name, "A", rcode="NXDOMAIN", authority=[zone_soa(tld, ttl=900)])
                ctx.add(dns_session(net, ctx.child(), port=ctx.port(), t_us=t, queries=[q],
                                    rtt_us=rng.randint(10000, 50000)))
                nx += 1
            t += us(rng.uniform(0.05, 0.4))
        t += us(rng.uniform(25, 45))

    expected.c2_domain = C2_DOMAIN
    expected.c2_ip = C2_IP
    expected.c2_query_count = count
    expected.txt_query_count = txt
    expected.nxdomain_count = nx
    expected.dga_domains = dga
    expected.dga_resolved_domain = hit_name
    expected.suspicious_domains = [C2_DOMAIN] + ([hit_name] if hit_name else [])
    expected.suspicious_ips = [C2_IP] + ([DGA_HIT_IP] if hit_name else [])
    expected.finding_remote_port = 53


def _dga_contact(ctx: Ctx, t: int, name: str) -> None:
    rng = ctx.rng
    ctx.add(https_session(
        ctx.net, ctx.child(), port=ctx.port(), server_ip=DGA_HIT_IP, server_name=name, t_us=t,
        rtt_us=rng.randint(60, 90) * MS, peer_ttl=49, tls13=False, issuer=None, profile="go",
        alpn=("http/1.1",), exchanges=[Exchange(rng.randint(300, 400), rng.randint(2000, 6000), server_think_us=120 * MS)],
    ))


def story_beaconing(ctx: Ctx, expected: Expected) -> None:
    """An implant beacons over plain HTTP every 60 s (± 1.5 s jitter) to one IP: a new connection
    each time, the same small request, a 200 with a small body (one beacon receives a task)."""
    rng = ctx.rng
    net = ctx.net
    start, end = ctx.start_us, ctx.end_us
    bot_id = _hexlabel(rng, 8)
    uri = f"{BEACON_PATH}?id={bot_id}"
    request = p.http_request(
        "GET", uri, BEACON_HOST, BEACON_USER_AGENT,
        headers=[("Accept", "*/*"), ("Cache-Control", "no-cache"), ("Connection", "close")],
    )
    first = start + us(rng.uniform(5, 15))
    times = []
    k = 0
    while True:
        t = first + us(k * BEACON_INTERVAL_S + rng.uniform(-BEACON_JITTER_S, BEACON_JITTER_S))
        if t > end - us(5):
            break
        times.append(t)
        k += 1
    task_index = len(times) // 2
    resolved_until = -1
    first_port = None
    for i, t in enumerate(times):
        if t > resolved_until:
            rtt = _resolver_rtt(ctx, cached=False)
            queries = address_queries(BEACON_HOST, [BEACON_IP], [], ttl=300)
            ctx.add(dns_session(net, ctx.child(), port=ctx.port(), t_us=t - us(0.05) - rtt, queries=queries,
                                rtt_us=rtt))
            resolved_until = t + us(300)
        body = rng.randbytes(1184) if i == task_index else rng.randbytes(48)
        response = p.http_response(200, "OK", t / 1e6, body, headers=[("Content-Type", "application/octet-stream"),
                                                                        ("Connection", "close")])
        port = ctx.port()
        first_port = first_port or port
        ctx.add(http_session(net, ctx.child(), port=port, server_ip=BEACON_IP, t_us=t,
                             rtt_us=rng.randint(38, 46) * MS, peer_ttl=51,
                             exchanges=[Exchange(request, response, server_think_us=rng.randint(5, 25) * MS)]))

    expected.beacon_peer_ip = BEACON_IP
    expected.beacon_port = 80
    expected.beacon_host = BEACON_HOST
    expected.beacon_uri = uri
    expected.beacon_user_agent = BEACON_USER_AGENT
    expected.beacon_interval_seconds = BEACON_INTERVAL_S
    expected.beacon_jitter_seconds = BEACON_JITTER_S
    expected.beacon_count = len(times)
    expected.beacon_request_bytes = len(request)
    expected.suspicious_ips = [BEACON_IP]
    expected.suspicious_domains = [BEACON_HOST]
    expected.finding_local_port = first_port
    expected.finding_remote_port = 80


def story_ssh_bruteforce(ctx: Ctx, expected: Expected) -> None:
    """Password guessing against the suspect's SSH port from one external IP: two parallel workers,
    one short connection after another, each with banners, key exchange and three failed
    passwords; plus one legitimate administrator session from the bastion host."""
    rng = ctx.rng
    net = ctx.net
    start, end = ctx.start_us, ctx.end_us
    sessions = 0
    first_port = None
    attacker_ports = PortCursor(rng.randint(33000, 52000))
    starts = []
    for worker in range(2):
        t = start + us(rng.uniform(3, 8) + worker * rng.uniform(0.3, 1.5))
        while t < end - us(15):
            starts.append(t)
            # handshake ~0.5 s, 3 failures ~2 s each, then a short pause before the next connection
            t += us(7.0 + rng.uniform(0.3, 1.8))
    for t in sorted(starts):
        port = ctx.ports.claim(ATTACKER_IP, attacker_ports.next())
        first_port = first_port or port
        ctx.add(ssh_bruteforce_session(
            net, ctx.child(), attacker=(ATTACKER_IP, port), t_us=t, rtt_us=rng.randint(95, 120) * MS, peer_ttl=47,
            client_banner=ATTACKER_BANNER, server_banner=SERVER_BANNER, attempts=3,
        ))
        sessions += 1
    admin_start = start + (end - start) // 5
    ctx.add(ssh_admin_session(
        net, ctx.child(), admin=(BASTION_IP, ctx.ports.take(BASTION_IP)), t_us=admin_start,
        duration_us=min(us(240), (end - admin_start) // 2), client_banner=ADMIN_BANNER, server_banner=SERVER_BANNER,
    ))

    expected.bruteforce_source_ip = ATTACKER_IP
    expected.bruteforce_port = 22
    expected.bruteforce_sessions = sessions
    expected.bruteforce_client_banner = ATTACKER_BANNER
    expected.ssh_server_banner = SERVER_BANNER
    expected.suspicious_ips = [ATTACKER_IP]
    expected.finding_local_port = 22
    expected.finding_remote_port = first_port


class PortCursor:
    """Source ports of an attacking tool: increasing, as a busy Linux client hands them out."""

    def __init__(self, first: int) -> None:
        self.current = first

    def next(self) -> int:
        self.current += 1
        if self.current > 60999:
            self.current = 32768
        return self.current


def story_exfiltration(ctx: Ctx, expected: Expected) -> None:
    """One large upload (20 MiB) over HTTPS to an external server with a self-signed certificate,
    by a Go client, in the middle of ordinary traffic."""
    rng = ctx.rng
    net = ctx.net
    start, end = ctx.start_us, ctx.end_us
    t = start + (end - start) * 3 // 10 + us(rng.uniform(0, 10))
    rtt = _resolver_rtt(ctx, cached=False)
    ctx.add(dns_session(net, ctx.child(), port=ctx.port(), t_us=t, queries=address_queries(EXFIL_HOST, [EXFIL_IP], [], ttl=60),
                        rtt_us=rtt))
    put_headers = p.http_request(
        "PUT", f"/v1/objects/{_hexlabel(rng, 12)}.tar.gz", EXFIL_HOST, "Go-http-client/1.1",
        headers=[("Content-Type", "application/octet-stream"), ("Accept-Encoding", "gzip")],
    )
    stats: dict = {}
    port = ctx.port()
    ctx.add(https_session(
        net, ctx.child(), port=port, server_ip=EXFIL_IP, server_name=EXFIL_HOST, t_us=t + rtt + us(0.002),
        rtt_us=rng.randint(40, 46) * MS, peer_ttl=50, tls13=False, issuer=None, profile="go", alpn=("http/1.1",),
        exchanges=[Exchange(len(put_headers) + EXFIL_BYTES, rng.randint(280, 340), server_think_us=rng.randint(60, 140) * MS)],
        cwnd=48, server_window=1024, stats=stats,
    ))

    expected.exfil_peer_ip = EXFIL_IP
    expected.exfil_port = 443
    expected.exfil_sni = EXFIL_HOST
    expected.exfil_bytes = EXFIL_BYTES
    expected.suspicious_ips = [EXFIL_IP]
    expected.suspicious_domains = [EXFIL_HOST]
    expected.finding_local_port = port
    expected.finding_remote_port = 443

    def record_payload() -> None:
        expected.exfil_tcp_payload_bytes = stats["client_payload_bytes"]

    ctx.after_write.append(record_payload)


@dataclass(frozen=True)
class Story:
    name: str
    description: str
    finding_type: str
    severity: float
    resource_role: str
    suspect: Suspect
    plan: Callable[[Ctx, Expected], None]
    background_gap_s: float = 18.0


def _suspect(n: int, public_last: int, name: str) -> Suspect:
    return Suspect(
        instance_id=f"i-0a1b2c3d4e5f6071{n:x}",
        eni_id=f"eni-0a1b2c3d4e5f6071{n:x}",
        private_ip=f"10.0.1.{25 + n - 8}",
        mac=f"0e:1b:2c:3d:4e:{0x50 + n:02x}",
        public_ip=f"192.0.2.{public_last}",
        name_tag=name,
    )


STORIES: dict[str, Story] = {
    s.name: s
    for s in (
        Story(
            "c2-dns",
            "Command and control over DNS: periodic lookups of the GuardDuty tester C2 domain "
            "c2.guarddutyc2activityb.com, data tunnelled in TXT queries under it, a DGA walk with NXDOMAINs "
            "and one resolved DGA name contacted over TLS.",
            "Backdoor:EC2/C&CActivity.B!DNS", 8, "ACTOR", _suspect(8, 101, "web-app-1"), story_c2_dns,
        ),
        Story(
            "beaconing",
            "HTTP beaconing: a new connection to 198.51.100.23 every 60 s (+/- 1.5 s) with the same small GET "
            "and a spoofed Internet Explorer User-Agent, among ordinary traffic.",
            "Backdoor:EC2/C&CActivity.B", 8, "ACTOR", _suspect(9, 102, "web-app-2"), story_beaconing,
        ),
        Story(
            "ssh-bruteforce",
            "SSH brute force: 203.0.113.77 opens short SSH sessions to port 22 one after another (banners, key "
            "exchange, three failed passwords each), beside one legitimate admin session from the bastion.",
            "UnauthorizedAccess:EC2/SSHBruteForce", 2, "TARGET", _suspect(10, 103, "web-app-3"),
            story_ssh_bruteforce,
        ),
        Story(
            "exfiltration",
            "Exfiltration: one 20 MiB HTTPS upload (TLS 1.2, self-signed certificate) to 198.51.100.140, "
            "among ordinary traffic.",
            "Behavior:EC2/TrafficVolumeUnusual", 5, "ACTOR", _suspect(11, 104, "web-app-4"), story_exfiltration,
        ),
    )
}
