"""Deterministic synthetic Zeek (stock JSON) and Suricata EVE logs with planted patterns.

Used by the lake tests (small, with known answers) and by the benchmark (hundreds of MB of
background traffic around the same planted patterns). Everything comes from ``random.Random(seed)``.

Planted (see :data:`PLANTED`):

* a 60 s beacon (small jitter, near-constant sizes) from the suspect to a C2 address, with
  Suricata alerts carrying the Zeek connection's community ID, a rare JA3 and a rare user agent;
* a DGA burst: one client looks up 40 random-looking names in 30 s, 36 of them NXDOMAIN;
* DNS tunnelling: 60 long hex labels (TXT) under one domain;
* a long SSH session (1.5 h), a 500 MB upload to a public address, an HTTP POST of 5 MB,
  HTTP to a raw IP, an executable download, a self-signed certificate without SNI.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any, TextIO

T0 = 1_700_000_000.0
SPAN = 3600.0


@dataclass(frozen=True)
class Planted:
    suspect: str = "10.0.0.23"
    c2: str = "185.100.87.202"
    dga_client: str = "10.0.0.66"
    tunnel_client: str = "10.0.0.44"
    tunnel_domain: str = "tunnel-example.net"
    long_src: str = "10.0.0.31"
    long_dst: str = "203.0.113.50"
    exfil_src: str = "10.0.0.12"
    exfil_dst: str = "198.51.100.77"
    rare_ua: str = "python-requests/2.31.0"
    rare_ja3: str = "e7d705a3286e19ea42f587b344ee6865"
    exe_sha256: str = hashlib.sha256(b"planted update.exe").hexdigest()
    alert_signature: str = "ET MALWARE Planted Beacon Check-in"


PLANTED = Planted()

COMMON_UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
]
COMMON_DOMAINS = [
    "www.example.com", "api.github.com", "updates.ubuntu.com", "s3.amazonaws.com", "www.google.com",
    "login.microsoftonline.com", "cdn.jsdelivr.net", "pypi.org", "files.pythonhosted.org", "ntp.ubuntu.com",
    "www.wikipedia.org", "registry.npmjs.org", "dl.google.com", "static.example.org", "mail.example.net",
]
COMMON_JA3 = "cd08e31494f9531f560d64c695473da9"


class Writer:
    """One JSON-lines file per log, counting bytes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.handles: dict[str, TextIO] = {}
        self.bytes = 0

    def write(self, name: str, record: dict[str, Any]) -> None:
        fh = self.handles.get(name)
        if fh is None:
            fh = self.handles[name] = (self.directory / name).open("w", encoding="utf-8")
        line = json.dumps(record, separators=(",", ":")) + "\n"
        self.bytes += len(line)
        fh.write(line)

    def close(self) -> None:
        for fh in self.handles.values():
            fh.close()


def _public_ip(rng: random.Random) -> str:
    while True:
        a = rng.choice([13, 23, 34, 52, 93, 104, 142, 151, 172, 185, 199, 216])
        if a == 172:
            continue
        return f"{a}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _uid(rng: random.Random) -> str:
    return "C" + "".join(rng.choices(string.ascii_letters + string.digits, k=17))


def _community_id(rng: random.Random) -> str:
    return "1:" + "".join(rng.choices(string.ascii_letters + string.digits + "+/", k=27)) + "="


def _iso(ts: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "+0000"


def _conn(rng: random.Random, ts: float, src: str, dst: str, dport: int, proto: str, service: str | None,
          duration: float, ob: int, rb: int, cid: str | None = None, uid: str | None = None) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "ts": round(ts, 6), "uid": uid or _uid(rng), "id.orig_h": src, "id.orig_p": rng.randint(32768, 60999),
        "id.resp_h": dst, "id.resp_p": dport, "proto": proto,
    }
    if service:
        rec["service"] = service
    rec.update({
        "duration": round(duration, 6), "orig_bytes": ob, "resp_bytes": rb, "conn_state": "SF",
        "local_orig": src.startswith("10."), "local_resp": dst.startswith("10."), "missed_bytes": 0,
        "history": "ShADadFf", "orig_pkts": max(1, ob // 1000), "orig_ip_bytes": ob + 40,
        "resp_pkts": max(1, rb // 1000), "resp_ip_bytes": rb + 40, "ip_proto": 6 if proto == "tcp" else 17,
        "community_id": cid or _community_id(rng),
    })
    return rec


def _dns(rng: random.Random, ts: float, client: str, query: str, qtype: str, rcode: str,
         answers: list[str] | None) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "ts": round(ts, 6), "uid": _uid(rng), "id.orig_h": client, "id.orig_p": rng.randint(32768, 60999),
        "id.resp_h": "10.0.0.2", "id.resp_p": 53, "proto": "udp", "trans_id": rng.randint(1, 65535),
        "rtt": round(rng.uniform(0.001, 0.05), 6), "query": query, "qclass": 1, "qclass_name": "C_INTERNET",
        "qtype": {"A": 1, "TXT": 16, "AAAA": 28}.get(qtype, 1), "qtype_name": qtype,
        "rcode": 3 if rcode == "NXDOMAIN" else 0, "rcode_name": rcode, "AA": False, "TC": False, "RD": True,
        "RA": True, "Z": 0, "rejected": False,
    }
    if answers:
        rec["answers"] = answers
        rec["TTLs"] = [300.0] * len(answers)
    return rec


def background(rng: random.Random, w: Writer, *, conns: int, internals: list[str], externals: list[str]) -> None:
    """Ordinary traffic: web, DNS, TLS, files, notices/weirds, Suricata flows, DNS and TLS events."""
    for _ in range(conns):
        ts = T0 + rng.uniform(0, SPAN)
        src = rng.choice(internals)
        dst = rng.choice(externals)
        kind = rng.random()
        cid = _community_id(rng)
        uid = _uid(rng)
        if kind < 0.55:
            ob, rb = int(rng.lognormvariate(7, 1)), int(rng.lognormvariate(10, 1.5))
            w.write("conn.log", _conn(rng, ts, src, dst, 443, "tcp", "ssl", rng.expovariate(1 / 20), ob, rb, cid, uid))
            w.write("ssl.log", {
                "ts": round(ts + 0.01, 6), "uid": uid, "id.orig_h": src, "id.orig_p": 50000, "id.resp_h": dst,
                "id.resp_p": 443, "version": "TLSv13", "cipher": "TLS_AES_128_GCM_SHA256",
                "server_name": rng.choice(COMMON_DOMAINS), "resumed": False, "established": True,
                "ssl_history": "CsiI", "cert_chain_fps": [], "validation_status": "ok",
            })
            w.write("eve.json", {
                "timestamp": _iso(ts + 0.01), "flow_id": rng.randint(1, 2**50), "event_type": "tls",
                "src_ip": src, "src_port": 50000, "dest_ip": dst, "dest_port": 443, "proto": "TCP",
                "community_id": cid, "tls": {"sni": rng.choice(COMMON_DOMAINS), "version": "TLS 1.3",
                                             "ja3": {"hash": COMMON_JA3, "string": "771,4865-4866,0-23,29,0"}},
            })
        elif kind < 0.8:
            host = rng.choice(COMMON_DOMAINS)
            ob, rb = int(rng.lognormvariate(6, 1)), int(rng.lognormvariate(9, 1.5))
            w.write("conn.log", _conn(rng, ts, src, dst, 80, "tcp", "http", rng.expovariate(1 / 5), ob, rb, cid, uid))
            fuid = "F" + uid[1:]
            w.write("http.log", {
                "ts": round(ts + 0.01, 6), "uid": uid, "id.orig_h": src, "id.orig_p": 50001, "id.resp_h": dst,
                "id.resp_p": 80, "trans_depth": 1, "method": "GET", "host": host,
                "uri": "/" + "".join(rng.choices(string.ascii_lowercase, k=8)), "version": "1.1",
                "user_agent": rng.choice(COMMON_UAS), "request_body_len": 0, "response_body_len": rb,
                "status_code": 200, "status_msg": "OK", "tags": [], "resp_fuids": [fuid],
                "resp_mime_types": ["text/html"],
            })
            w.write("files.log", {
                "ts": round(ts + 0.02, 6), "fuid": fuid, "uid": uid, "id.orig_h": src, "id.orig_p": 50001,
                "id.resp_h": dst, "id.resp_p": 80, "source": "HTTP", "depth": 0, "analyzers": [],
                "mime_type": "text/html", "duration": 0.01, "is_orig": False, "seen_bytes": rb, "total_bytes": rb,
                "missing_bytes": 0, "overflow_bytes": 0, "timedout": False,
            })
            w.write("eve.json", {
                "timestamp": _iso(ts), "flow_id": rng.randint(1, 2**50), "event_type": "flow", "src_ip": src,
                "src_port": 50001, "dest_ip": dst, "dest_port": 80, "proto": "TCP", "app_proto": "http",
                "community_id": cid,
                "flow": {"pkts_toserver": 5, "pkts_toclient": 7, "bytes_toserver": ob + 300,
                         "bytes_toclient": rb + 400, "start": _iso(ts), "end": _iso(ts + 1), "age": 1,
                         "state": "closed", "reason": "timeout", "alerted": False},
                "tcp": {"tcp_flags": "1b", "syn": True, "fin": True},
            })
        else:
            query = rng.choice(COMMON_DOMAINS)
            answer = _public_ip(rng)
            w.write("dns.log", _dns(rng, ts, src, query, rng.choice(["A", "AAAA"]), "NOERROR", [answer]))
            w.write("eve.json", {
                "timestamp": _iso(ts), "flow_id": rng.randint(1, 2**50), "event_type": "dns", "src_ip": src,
                "src_port": 40000, "dest_ip": "10.0.0.2", "dest_port": 53, "proto": "UDP", "community_id": cid,
                "dns": {"version": 2, "type": "answer", "id": rng.randint(1, 65535), "flags": "8180", "qr": True,
                        "rd": True, "ra": True, "opcode": 0, "rrname": query, "rrtype": "A", "rcode": "NOERROR",
                        "answers": [{"rrname": query, "rrtype": "A", "ttl": 300, "rdata": answer}],
                        "grouped": {"A": [answer]}},
            })
    # Busy pairs: many connections at irregular times with irregular sizes (not beacons).
    for _ in range(max(12, conns // 100)):
        src, dst = rng.choice(internals), rng.choice(externals)
        for _ in range(rng.randint(10, 40)):
            ts = T0 + rng.uniform(0, SPAN)
            w.write("conn.log", _conn(rng, ts, src, dst, 443, "tcp", "ssl", rng.expovariate(1 / 3),
                                      int(rng.lognormvariate(7, 1.2)), int(rng.lognormvariate(9, 1.5))))
    for i in range(max(3, conns // 500)):
        ts = T0 + rng.uniform(0, SPAN)
        w.write("weird.log", {
            "ts": round(ts, 6), "uid": _uid(rng), "id.orig_h": rng.choice(internals), "id.orig_p": 5000 + i,
            "id.resp_h": rng.choice(externals), "id.resp_p": 80,
            "name": rng.choice(["bad_HTTP_request", "line_terminated_with_single_CR", "truncated_header"]),
            "notice": False, "peer": "zeek", "source": "HTTP",
        })


def planted(rng: random.Random, w: Writer, p: Planted = PLANTED) -> None:
    # 60 s beacon over the whole capture, with alerts on some of its connections.
    for i in range(60):
        ts = T0 + 2 + i * 60 + rng.uniform(-0.5, 0.5)
        cid = _community_id(rng)
        uid = _uid(rng)
        w.write("conn.log", _conn(rng, ts, p.suspect, p.c2, 443, "tcp", "ssl", 0.4 + rng.uniform(0, 0.05),
                                  320 + rng.randint(-2, 2), 1200 + rng.randint(-5, 5), cid, uid))
        w.write("ssl.log", {
            "ts": round(ts + 0.01, 6), "uid": uid, "id.orig_h": p.suspect, "id.orig_p": 51000 + i,
            "id.resp_h": p.c2, "id.resp_p": 443, "version": "TLSv12", "cipher": "TLS_RSA_WITH_AES_128_CBC_SHA",
            "resumed": False, "established": True, "ssl_history": "CsxikKi", "cert_chain_fps": ["fp-evil-self-signed"],
            "validation_status": "self signed certificate",
        })
        w.write("eve.json", {
            "timestamp": _iso(ts + 0.01), "flow_id": 7_000_000 + i, "event_type": "tls", "src_ip": p.suspect,
            "src_port": 51000 + i, "dest_ip": p.c2, "dest_port": 443, "proto": "TCP", "community_id": cid,
            "tls": {"subject": "CN=evil", "issuerdn": "CN=evil", "version": "TLS 1.2",
                    "ja3": {"hash": p.rare_ja3, "string": "769,47-53-5-10,0-10-11,23-24,0"}, "ja4": "t12d0404h1_abc_def"},
        })
        if i % 12 == 0:
            w.write("eve.json", {
                "timestamp": _iso(ts + 0.02), "flow_id": 7_000_000 + i, "pcap_cnt": 100 + i, "event_type": "alert",
                "src_ip": p.suspect, "src_port": 51000 + i, "dest_ip": p.c2, "dest_port": 443, "proto": "TCP",
                "community_id": cid, "pkt_src": "wire/pcap", "tx_id": 0,
                "alert": {"action": "allowed", "gid": 1, "signature_id": 9000001, "rev": 1,
                          "signature": p.alert_signature, "category": "A Network Trojan was detected", "severity": 1,
                          "metadata": {"signature_severity": ["Major"]}},
                "app_proto": "tls",
            })
    w.write("x509.log", {
        "ts": T0 + 2.01, "fingerprint": "fp-evil-self-signed", "certificate.version": 3, "certificate.serial": "01",
        "certificate.subject": "CN=evil", "certificate.issuer": "CN=evil", "certificate.not_valid_before": T0 - 86400,
        "certificate.not_valid_after": T0 + 86400 * 365, "certificate.key_alg": "rsaEncryption",
        "certificate.sig_alg": "sha256WithRSAEncryption", "certificate.key_type": "rsa", "certificate.key_length": 2048,
        "certificate.exponent": "65537", "basic_constraints.ca": False, "host_cert": True, "client_cert": False,
    })
    # HTTP to the raw IP of the C2 with a rare user agent, and the executable it served.
    uid = _uid(rng)
    w.write("conn.log", _conn(rng, T0 + 100, p.suspect, p.c2, 80, "tcp", "http", 1.2, 250, 480_000, uid=uid))
    w.write("http.log", {
        "ts": T0 + 100.01, "uid": uid, "id.orig_h": p.suspect, "id.orig_p": 52000, "id.resp_h": p.c2,
        "id.resp_p": 80, "trans_depth": 1, "method": "GET", "host": p.c2, "uri": "/dl/update.exe", "version": "1.1",
        "user_agent": p.rare_ua, "request_body_len": 0, "response_body_len": 480_000, "status_code": 200,
        "status_msg": "OK", "tags": [], "resp_fuids": ["FplantedExe01"], "resp_mime_types": ["application/x-dosexec"],
    })
    w.write("files.log", {
        "ts": T0 + 100.02, "fuid": "FplantedExe01", "uid": uid, "id.orig_h": p.suspect, "id.orig_p": 52000,
        "id.resp_h": p.c2, "id.resp_p": 80, "source": "HTTP", "depth": 0, "analyzers": ["SHA256", "MD5", "PE"],
        "mime_type": "application/x-dosexec", "filename": "update.exe", "duration": 1.1, "is_orig": False,
        "seen_bytes": 480_000, "total_bytes": 480_000, "missing_bytes": 0, "overflow_bytes": 0, "timedout": False,
        "md5": hashlib.md5(b"planted update.exe").hexdigest(), "sha1": hashlib.sha1(b"planted update.exe").hexdigest(),
        "sha256": p.exe_sha256,
    })
    # DGA burst: 40 random-looking names in 30 s, 36 of them NXDOMAIN.
    for i in range(40):
        label = "".join(rng.choices(string.ascii_lowercase + string.digits, k=rng.randint(14, 18)))
        name = f"{label}.{rng.choice(['com', 'net', 'org', 'info'])}"
        rcode = "NXDOMAIN" if i % 10 else "NOERROR"
        w.write("dns.log", _dns(rng, T0 + 1200 + i * 0.75, p.dga_client, name, "A", rcode,
                                None if rcode == "NXDOMAIN" else [_public_ip(rng)]))
    # DNS tunnelling: 60 long hex labels, TXT.
    for i in range(60):
        label = hashlib.sha256(f"chunk-{i}".encode()).hexdigest()[:50]
        w.write("dns.log", _dns(rng, T0 + 1800 + i * 2, p.tunnel_client, f"{label}.t.{p.tunnel_domain}", "TXT",
                                "NOERROR", ["ok"]))
    # Long SSH session, big upload (exfiltration), large HTTP POST.
    w.write("conn.log", _conn(rng, T0 + 10, p.long_src, p.long_dst, 22, "tcp", "ssh", 5400.0, 80_000, 120_000))
    w.write("conn.log", _conn(rng, T0 + 500, p.exfil_src, p.exfil_dst, 443, "tcp", "ssl", 900.0, 500_000_000, 20_000))
    uid = _uid(rng)
    w.write("conn.log", _conn(rng, T0 + 700, p.exfil_src, p.exfil_dst, 80, "tcp", "http", 30.0, 5_000_300, 300, uid=uid))
    w.write("http.log", {
        "ts": T0 + 700.01, "uid": uid, "id.orig_h": p.exfil_src, "id.orig_p": 53000, "id.resp_h": p.exfil_dst,
        "id.resp_p": 80, "trans_depth": 1, "method": "POST", "host": "upload.exfil-example.com", "uri": "/u",
        "version": "1.1", "user_agent": COMMON_UAS[0], "request_body_len": 5_000_000, "response_body_len": 2,
        "status_code": 200, "status_msg": "OK", "tags": [],
    })
    # Notices, and a Suricata anomaly.
    for i in range(3):
        w.write("notice.log", {
            "ts": T0 + 2.02 + i * 60, "uid": _uid(rng), "id.orig_h": p.suspect, "id.orig_p": 51000 + i,
            "id.resp_h": p.c2, "id.resp_p": 443, "proto": "tcp", "note": "SSL::Invalid_Server_Cert",
            "msg": "SSL certificate validation failed with (self signed certificate)", "sub": "CN=evil",
            "src": p.suspect, "dst": p.c2, "p": 443, "actions": ["Notice::ACTION_LOG"], "suppress_for": 3600.0,
        })
    w.write("eve.json", {
        "timestamp": _iso(T0 + 30), "flow_id": 42, "event_type": "anomaly", "src_ip": p.suspect, "src_port": 1,
        "dest_ip": p.c2, "dest_port": 80, "proto": "TCP",
        "anomaly": {"app_proto": "http", "type": "applayer", "event": "APPLAYER_DETECT_PROTOCOL_ONLY_ONE_DIRECTION",
                    "layer": "proto_detect"},
    })


def generate(directory: Path, *, seed: int = 7, background_conns: int = 1500) -> dict[str, Any]:
    """Write conn/dns/http/ssl/x509/files/notice/weird logs and eve.json; returns sizes."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    internals = [f"10.0.0.{i}" for i in range(10, 41)]
    externals = [_public_ip(rng) for _ in range(60)]
    w = Writer(directory)
    try:
        planted(rng, w)
        background(rng, w, conns=background_conns, internals=internals, externals=externals)
    finally:
        w.close()
    return {"bytes": w.bytes, "files": sorted(w.handles)}


def iter_files(directory: Path) -> Iterator[Path]:
    return iter(sorted(p for p in directory.iterdir() if p.is_file()))
