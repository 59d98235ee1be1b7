"""Tier 3 of the highlights: behavioural heuristics above their thresholds (pure).

In this order (strongest first): inbound remote access from outside, beacons, DGA-like lookups,
DNS tunnelling, large uploads, executables and PE files, lateral movement over SMB, invalid or
self-signed certificates, HTTP to raw IPs, long connections, Zeek notices, NXDOMAIN bursts, and
last reverse-lookup sweeps (named as such: PTR lookups of many addresses, e.g. a scanner's).
"""

from __future__ import annotations

from collections import Counter

from tapcase_workflow.logic.highlights import (
    BEHAVIOUR,
    Facts,
    Highlight,
    Highlighter,
    Indicator,
    ip_indicator,
    span,
)
from tapcase_workflow.logic.report_data import (
    as_list,
    human_bytes,
    integer,
    is_public_ip,
    number,
    plural,
    short_time,
)

#: Beacon: RITA-style score at least this (the query keeps pairs with 6+ connections).
BEACON_SCORE = 0.8
#: DGA: a client's random-looking names must have drawn at least this many NXDOMAIN answers.
DGA_MIN_NXDOMAIN = 3
#: Upload: bytes sent to one outside address at least this, and more than received.
UPLOAD_BYTES = 1_000_000
#: A burst of NXDOMAIN answers is a reverse-lookup sweep when at least half are PTR names.
REVERSE_SHARE = 0.5


def _label(facts: Facts, ip: str) -> str:
    names = facts.names_of(ip)
    return f"{ip} ({', '.join(names[:2])})" if names else ip


def inbound_remote_access(facts: Facts) -> list[Highlight]:
    rows = facts.rows("inbound_remote_access")
    if not rows:
        return []
    by_service: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        by_service.setdefault(str(row.get("service")), []).append(row)
    out = []
    for service, group in sorted(by_service.items(), key=lambda kv: -sum(integer(r.get("connections")) for r in kv[1])):
        total = sum(integer(r.get("connections")) for r in group)
        sources = Counter({str(r.get("src")): integer(r.get("connections")) for r in group})
        top = sorted(group, key=lambda r: -integer(r.get("connections")))[0]
        text = (f"{plural(total, f'inbound {service.upper()} connection')} from outside the VPC: "
                f"{', '.join(f'{s} ({n})' for s, n in sources.most_common(3))} \u2192 {top.get('dst')}:{top.get('dst_port')}")
        if top.get("client_software"):
            text += f"; client {top.get('client_software')}"
        first, last = span(group)
        seen = f"inbound {service.upper()} from outside (inbound_remote_access)"
        indicators = [ip_indicator(s, seen, first, last) for s in sources]
        out.append(Highlight(BEHAVIOUR, "inbound_remote_access", text, first, last, indicators,
                             ["T1021.004"] if service == "ssh" else ["T1021.001"] if service == "rdp" else []))
    return out


def beacons(facts: Facts) -> list[Highlight]:
    rows = [r for r in facts.rows("beaconing") if number(r.get("score")) >= BEACON_SCORE
            and not facts.peer_is_benign(str(r.get("dst")))]
    if not rows:
        return []
    top = rows[0]
    dst = str(top.get("dst"))
    text = (f"{plural(len(rows), 'host pair')} beaconing (score \u2265 {BEACON_SCORE}); strongest "
            f"{top.get('src')} \u2192 {_label(facts, dst)} port {top.get('dst_ports')}: "
            f"{plural(integer(top.get('connections')), 'connection')} about every "
            f"{number(top.get('median_interval')):.0f} s, score {number(top.get('score')):.2f}")
    first, last = span(rows)
    indicators = [ip_indicator(str(r.get("dst")), f"beacon from {r.get('src')} every "
                               f"{number(r.get('median_interval')):.0f} s (beaconing)", r.get("first_ts"), r.get("last_ts"))
                  for r in rows if is_public_ip(r.get("dst"))]
    return [Highlight(BEHAVIOUR, "beaconing", text, first, last, indicators, ["T1071"])]


def dga(facts: Facts) -> list[Highlight]:
    out = []
    for row in facts.rows("dns_label_entropy"):
        if integer(row.get("high_entropy_nxdomain")) < DGA_MIN_NXDOMAIN:
            continue
        domains = [str(d) for d in as_list(row.get("example_domains")) if not facts.benign(str(d))]
        text = (f"DGA-like lookups: {row.get('client')} looked up {plural(integer(row.get('high_entropy_names')), 'random-looking name')} "
                f"under {plural(integer(row.get('base_domains')), 'registered domain')}, "
                f"{plural(integer(row.get('high_entropy_nxdomain')), 'NXDOMAIN answer')}")
        if domains:
            text += f"; e.g. {', '.join(domains[:3])}"
        out.append(Highlight(BEHAVIOUR, "dns_label_entropy", text, techniques=["T1568.002"]))
    return out[:3]


def tunnelling(facts: Facts) -> list[Highlight]:
    rows = [r for r in facts.rows("dns_tunneling") if not facts.benign(str(r.get("base_domain")))]
    out = []
    for row in rows[:3]:
        kinds = [f"{integer(row.get(k))} {label}" for k, label in (("txt", "TXT"), ("null_queries", "NULL"))
                 if integer(row.get(k))]
        text = (f"DNS tunnelling volume: {row.get('client')} looked up {plural(integer(row.get('names')), 'distinct name')} "
                f"under {row.get('base_domain')} ({plural(integer(row.get('lookups')), 'lookup')}, longest label "
                f"{integer(row.get('longest_label'))} characters" + (f", {', '.join(kinds)}" if kinds else "") + ")")
        seen = f"DNS tunnelling by {row.get('client')} (dns_tunneling)"
        out.append(Highlight(BEHAVIOUR, "dns_tunneling", text, indicators=[Indicator("domain", str(row.get("base_domain")), seen)],
                             techniques=["T1071.004", "T1572"]))
    return out


def uploads(facts: Facts) -> list[Highlight]:
    rows = [r for r in facts.rows("outbound_volume")
            if number(r.get("bytes_out")) >= UPLOAD_BYTES and number(r.get("out_in_ratio")) > 1]
    if not rows:
        return []
    top = rows[0]
    dst = str(top.get("dst"))
    text = (f"Large upload: {top.get('src')} sent {human_bytes(number(top.get('bytes_out')))} to {_label(facts, dst)} "
            f"({plural(integer(top.get('connections')), 'connection')}, {number(top.get('out_in_ratio')):.0f}\u00d7 what it received)")
    if len(rows) > 1:
        text += f"; {plural(len(rows) - 1, 'other destination')} above {human_bytes(UPLOAD_BYTES)}"
    first, last = span(rows)
    indicators = [ip_indicator(str(r.get("dst")), f"received {human_bytes(number(r.get('bytes_out')))} from "
                               f"{r.get('src')} (outbound_volume)", r.get("first_ts"), r.get("last_ts")) for r in rows[:5]]
    indicators += [Indicator("domain", n, f"name of {dst}, which received the largest upload", first, last)
                   for n in facts.names_of(dst) if not facts.benign(n)]
    return [Highlight(BEHAVIOUR, "outbound_volume", text, first, last, indicators, ["T1048"])]


def executables(facts: Facts) -> list[Highlight]:
    out = []
    rows = facts.rows("executables_in_files")
    if rows:
        names = sorted({str(r.get("filename") or r.get("file_type") or "?") for r in rows})
        indicators = [Indicator(kind, str(r[kind]), f"{r.get('filename') or 'file'} from {r.get('sender')} to "
                                f"{r.get('receiver')} over {r.get('protocol')}", number(r.get("ts")), number(r.get("ts")))
                      for r in rows for kind in ("sha256", "sha1", "md5") if r.get(kind)]
        out.append(Highlight(BEHAVIOUR, "executables_in_files", f"{plural(len(rows), 'executable or script file')} "
                             f"transferred, e.g. {', '.join(names[:3])}", *span(rows, "ts", "ts"), indicators))
    pe = facts.rows("pe_files")
    if pe:
        unsigned = sum(1 for r in pe if r.get("signed") is False)
        out.append(Highlight(BEHAVIOUR, "pe_files", f"{plural(len(pe), 'Windows executable')} (PE) transferred, "
                             f"{unsigned} unsigned", *span(pe, "ts", "ts"),
                             [Indicator(k, str(r[k]), f"PE file {r.get('file_id')}") for r in pe for k in ("sha256", "md5")
                              if r.get(k)]))
    return out


def lateral_movement(facts: Facts) -> list[Highlight]:
    rows = [r for r in facts.rows("windows_remote_admin") if r.get("kind") in ("smb_share", "smb_pipe")]
    if not rows:
        return []
    sources = Counter(str(r.get("src")) for r in rows)
    targets = {str(r.get("dst")) for r in rows}
    events = sum(integer(r.get("events")) for r in rows)
    text = (f"Remote administration over SMB: {plural(events, 'admin share mapping or service-pipe open')} "
            f"from {', '.join(s for s, _ in sources.most_common(3))} to {plural(len(targets), 'host')}")
    return [Highlight(BEHAVIOUR, "windows_remote_admin", text, *span(rows), techniques=["T1021.002", "T1569.002"])]


def certificates(facts: Facts) -> list[Highlight]:
    rows = [r for r in facts.rows("tls_certificate_issues")
            if {"self_signed", "invalid_certificate"} & set(str(r.get("issues") or "").split(","))]
    if not rows:
        return []
    sessions = sum(integer(r.get("sessions")) for r in rows)
    notable = [r for r in rows if not facts.benign(str(r.get("sni") or "")) and is_public_ip(r.get("server"))]
    text = (f"{plural(len(rows), 'TLS server')} with a self-signed or invalid certificate "
            f"({plural(sessions, 'session')})")
    indicators = []
    if notable:
        top = notable[0]
        text += (f"; e.g. {top.get('server')}:{top.get('port')}" + (f" ({top.get('sni')})" if top.get("sni") else "")
                 + f", {plural(integer(top.get('sessions')), 'session')}")
        indicators = [ip_indicator(str(r.get("server")), f"TLS server with {r.get('issues')} (tls_certificate_issues)",
                                   r.get("first_ts"), r.get("last_ts")) for r in notable[:5]]
        indicators += [Indicator("domain", str(r.get("sni")), f"SNI of a TLS server with {r.get('issues')} "
                                 f"({r.get('server')})") for r in notable[:5] if r.get("sni")]
    return [Highlight(BEHAVIOUR, "tls_certificate_issues", text, *span(rows), indicators)]


def raw_ip_http(facts: Facts) -> list[Highlight]:
    rows = facts.rows("http_raw_ip_and_uploads")
    if not rows:
        return []
    requests = sum(integer(r.get("requests")) for r in rows)
    return [Highlight(BEHAVIOUR, "http_raw_ip_and_uploads", f"{plural(requests, 'HTTP request')} to raw-IP hosts, "
                      f"without a Host or uploading 1 MB or more, between {plural(len(rows), 'client/server pair')}",
                      *span(rows))]


def long_connections(facts: Facts) -> list[Highlight]:
    rows = [r for r in facts.rows("long_connections") if not facts.peer_is_benign(str(r.get("dst")))]
    if not rows:
        return []
    top = rows[0]
    hours = number(top.get("total_duration")) / 3600
    return [Highlight(BEHAVIOUR, "long_connections", f"{plural(len(rows), 'host pair')} with connections of an hour "
                      f"or more; longest {top.get('src')} \u2192 {_label(facts, str(top.get('dst')))}:{top.get('dst_port')} "
                      f"({hours:.1f} h over {plural(integer(top.get('connections')), 'connection')})", *span(rows))]


def notices(facts: Facts) -> list[Highlight]:
    rows = [r for r in facts.rows("notice_weird_summary") if r.get("log") == "notice"]
    if not rows:
        return []
    parts = ", ".join(f"{r.get('name')} ({integer(r.get('events'))})" for r in rows[:3])
    return [Highlight(BEHAVIOUR, "notice_weird_summary", f"Zeek notices: {parts}", *span(rows))]


def _is_sweep(row: dict[str, object]) -> bool:
    return integer(row.get("reverse_lookups")) >= REVERSE_SHARE * max(1, integer(row.get("nxdomain")))


def nxdomain(facts: Facts) -> list[Highlight]:
    rows = [r for r in facts.rows("nxdomain_bursts") if not _is_sweep(r)]
    if not rows:
        return []
    top = rows[0]
    return [Highlight(BEHAVIOUR, "nxdomain_bursts", f"{plural(len(rows), 'minute')} with NXDOMAIN bursts; largest: "
                      f"{top.get('client')} got {plural(integer(top.get('nxdomain')), 'NXDOMAIN answer')} for "
                      f"{plural(integer(top.get('names')), 'name')} in the minute from {short_time(top.get('minute_start'))}")]


def reverse_sweeps(facts: Facts) -> list[Highlight]:
    rows = [r for r in facts.rows("nxdomain_bursts") if _is_sweep(r)]
    if not rows:
        return []
    clients = Counter()  # type: Counter[str]
    for row in rows:
        clients[str(row.get("client"))] += integer(row.get("reverse_lookups"))
    top, count = clients.most_common(1)[0]
    return [Highlight(BEHAVIOUR, "nxdomain_bursts", f"Reverse-lookup sweep: {top} made {plural(count, 'PTR lookup')} "
                      "that got NXDOMAIN (resolving the addresses of a range, as scanners do)"
                      + (f"; {plural(len(clients) - 1, 'other client')} did the same" if len(clients) > 1 else ""),
                      techniques=["T1046"])]


BEHAVIOURS: tuple[Highlighter, ...] = (
    inbound_remote_access, beacons, dga, tunnelling, uploads, executables, lateral_movement, certificates,
    raw_ip_http, long_connections, notices, nxdomain, reverse_sweeps,
)
