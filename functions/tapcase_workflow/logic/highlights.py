"""The report's highlights, ranked by evidence strength (pure).

Three tiers, strongest first:

1. **engine alerts**: Suricata signatures that fired (one highlight per signature, most severe
   first), with the names they fired on and what those names resolved to;
2. **finding**: traffic with what the GuardDuty finding names (its domain, remote IP, ports), each
   count saying what it counts (lookups, connections, alerts; never alert and DNS rows added up);
3. **behaviour**: heuristics above their thresholds (inbound remote access from outside, beacons,
   DGA, DNS tunnelling, NXDOMAIN bursts and reverse-lookup sweeps named as such, large uploads,
   invalid certificates, executables, lateral movement...): :mod:`.highlights_behaviour`.

AWS service endpoints of the region, the VPC resolver and popular domains are never beacon, DGA or
tunnelling candidates unless the finding names them (the queries leave them out; the highlighters
check again). Every highlight carries the indicators it rests on (where each was seen) for the
report's indicator list.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tapcase_workflow.logic.report_data import (
    Record,
    as_list,
    integer,
    is_ip,
    is_public_ip,
    number,
    plural,
    records,
    under,
)
from tapcase_workflow.querypack.benign import is_benign_name

ENGINE_ALERT, FINDING, BEHAVIOUR = 1, 2, 3
TIER_NAMES = {ENGINE_ALERT: "engine alert", FINDING: "finding", BEHAVIOUR: "behaviour"}
#: At most this many signatures get their own highlight (the table has them all).
MAX_ALERT_HIGHLIGHTS = 5


@dataclass
class Indicator:
    """One observation of an indicator: what, where it was seen, when."""

    kind: str  # ipv4, ipv6, domain, sha256, sha1, md5, ja3, ja4, hassh, user_agent
    value: str
    seen: str
    first_ts: float | None = None
    last_ts: float | None = None


@dataclass
class Highlight:
    tier: int
    query: str
    text: str
    first_ts: float | None = None
    last_ts: float | None = None
    indicators: list[Indicator] = field(default_factory=list)
    techniques: list[str] = field(default_factory=list)
    #: True when the highlight is evidence (False: a finding value that was *not* seen).
    evidence: bool = True

    def to_dict(self, rank: int) -> dict[str, Any]:
        return {
            "rank": rank, "tier": self.tier, "evidence_kind": TIER_NAMES[self.tier], "query": self.query,
            "text": self.text, "first_ts": self.first_ts, "last_ts": self.last_ts, "evidence": self.evidence,
            "techniques": self.techniques,
        }  # fmt: skip


@dataclass
class Facts:
    """What every highlighter may read: the results, the finding's values, the names of addresses."""

    results: Mapping[str, Mapping[str, Any]]
    finding_domains: list[str] = field(default_factory=list)
    finding_ips: list[str] = field(default_factory=list)
    finding_ports: list[int] = field(default_factory=list)
    suspect_ips: list[str] = field(default_factory=list)
    region: str | None = None

    def rows(self, query: str) -> list[Record]:
        return records(self.results.get(query))

    def ran(self, query: str) -> bool:
        return query in self.results

    def exempt(self, name: str) -> bool:
        """The finding names it: never left out as benign."""
        return under(name, self.finding_domains) is not None

    def benign(self, name: str) -> bool:
        return bool(name) and not self.exempt(name) and is_benign_name(name, self.region)

    def answers(self, name: str) -> list[str]:
        """Addresses ``name`` resolved to (dns_answers)."""
        found = [str(r["answer"]) for r in self.rows("dns_answers")
                 if str(r.get("query") or "") == name and is_ip(r.get("answer"))]
        return sorted(set(found))

    def names_of(self, ip: str) -> list[str]:
        """Names ``ip`` was known by (DNS answers, TLS SNI, HTTP Host)."""
        names = {str(r["query"]) for r in self.rows("dns_answers") if str(r.get("answer")) == ip}
        names |= {str(r["sni"]) for r in self.rows("tls_fingerprints") if str(r.get("server")) == ip and r.get("sni")}
        names |= {str(r["host"]).split(":")[0] for r in self.rows("http_clients")
                  if str(r.get("server")) == ip and r.get("host") and not is_ip(str(r["host"]).split(":")[0])}
        return sorted(names)

    def peer_is_benign(self, ip: str) -> bool:
        """Known only by benign names (AWS endpoints of the region, popular domains)."""
        if ip in self.finding_ips:
            return False
        names = self.names_of(ip)
        return bool(names) and all(self.benign(n) for n in names)


def ip_indicator(ip: str, seen: str, first: Any = None, last: Any = None) -> Indicator:
    return Indicator("ipv6" if ":" in ip else "ipv4", ip, seen, _ts(first), _ts(last))


def _ts(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def span(rows: Iterable[Record], first: str = "first_ts", last: str = "last_ts") -> tuple[float | None, float | None]:
    rows = list(rows)
    firsts = [number(r.get(first)) for r in rows if isinstance(r.get(first), (int, float))]
    lasts = [number(r.get(last)) for r in rows if isinstance(r.get(last), (int, float))]
    return (min(firsts) if firsts else None, max(lasts) if lasts else None)


def name_summary(names: Sequence[str], anchors: Sequence[str], sample: bool = False) -> str:
    """``c2.example.com and 84 names under it`` when the names share an anchor domain, else a list.
    ``sample``: the names are examples (a capped list): no count is given for them."""
    names = sorted({n for n in names if n})
    for anchor in anchors:
        inside = [n for n in names if under(n, [anchor])]
        if inside and len(inside) == len(names):
            others = [n for n in inside if n != anchor]
            if not others:
                return anchor
            if sample:
                return f"{anchor} and names under it"
            head = f"{anchor} and " if anchor in inside else ""
            return head + f"{plural(len(others), 'name')} under {anchor}"
    if len(names) <= 3:
        return ", ".join(names)
    return f"{', '.join(names[:3])} and {plural(len(names) - 3, 'other name')}"


# ---------------------------------------------------------------------------------------------
# Tier 1: engine alerts
# ---------------------------------------------------------------------------------------------


def alerts(facts: Facts) -> list[Highlight]:
    rows = sorted(facts.rows("suricata_alert_summary"),
                  key=lambda r: (integer(r.get("severity"), 9), -integer(r.get("alerts")), integer(r.get("signature_id"))))
    out = []
    for row in rows[:MAX_ALERT_HIGHLIGHTS]:
        count = integer(row.get("alerts"))
        sources = [str(s) for s in as_list(row.get("example_sources"))]
        dests = [str(d) for d in as_list(row.get("example_destinations"))]
        names = [str(n) for n in as_list(row.get("example_names"))]
        anchors = list(facts.finding_domains) + sorted({".".join(n.split(".")[-3:]) for n in names})
        text = (f"Suricata alert \u201c{row.get('signature')}\u201d (sid {row.get('signature_id')}, severity "
                f"{row.get('severity')}): {plural(count, 'alert')}, {', '.join(sources[:3]) or '?'} \u2192 "
                f"{', '.join(dests[:3]) or '?'}")
        indicators = []
        if names:
            summary = name_summary(names, anchors, sample=True)
            text += f", on {summary}"
            head = next((a for a in anchors if any(under(n, [a]) for n in names)), names[0])
            addresses = facts.answers(head)
            if addresses:
                text += f" ({head} resolved to {', '.join(addresses[:3])})"
            seen = f"Suricata alert sid {row.get('signature_id')}: {row.get('signature')}"
            indicators.append(Indicator("domain", head, seen, _ts(row.get("first_ts")), _ts(row.get("last_ts"))))
            indicators += [ip_indicator(a, f"DNS answer for {head} (alerted, sid {row.get('signature_id')})",
                                        row.get("first_ts"), row.get("last_ts")) for a in addresses]
        seen = f"Suricata alert sid {row.get('signature_id')}: {row.get('signature')}"
        for ip in sources + dests:
            if ip not in facts.suspect_ips and is_ip(ip) and not _private(ip):
                indicators.append(ip_indicator(ip, seen, row.get("first_ts"), row.get("last_ts")))
        techniques = [t for t in str(row.get("mitre_techniques") or "").split(",") if t]
        out.append(Highlight(ENGINE_ALERT, "suricata_alert_summary", text, _ts(row.get("first_ts")),
                             _ts(row.get("last_ts")), indicators, techniques))
    if len(rows) > MAX_ALERT_HIGHLIGHTS:
        rest = rows[MAX_ALERT_HIGHLIGHTS:]
        out.append(Highlight(ENGINE_ALERT, "suricata_alert_summary",
                             f"{plural(len(rest), 'more signature')} fired "
                             f"({plural(sum(integer(r.get('alerts')) for r in rest), 'alert')}): see the alert table",
                             *span(rest)))
    return out


def _private(ip: str) -> bool:
    return not is_public_ip(ip)


# ---------------------------------------------------------------------------------------------
# Tier 2: what the finding names
# ---------------------------------------------------------------------------------------------


def finding_domain(facts: Facts) -> list[Highlight]:
    if not facts.ran("finding_domain"):
        return []
    rows = facts.rows("finding_domain")
    domains = ", ".join(facts.finding_domains) or "domain"
    if not rows:
        return [Highlight(FINDING, "finding_domain", f"The finding's domain {domains} was not seen in the capture "
                          "(no lookup, TLS session, HTTP request or alert)", evidence=False)]
    out = []
    for domain in facts.finding_domains:
        mine = [r for r in rows if under(str(r.get("name") or ""), [domain])]
        if not mine:
            continue
        kinds: Counter[str] = Counter(str(r.get("source")) for r in mine)
        exact = [r for r in mine if r.get("source") == "dns" and r.get("name") == domain]
        below = [r for r in mine if r.get("source") == "dns" and r.get("name") != domain]
        clients = sorted({str(r.get("src")) for r in mine if r.get("source") == "dns"})
        parts = []
        if exact:
            parts.append(f"{plural(len(exact), 'lookup')} of {domain}" + (f" by {', '.join(clients[:3])}" if clients else ""))
        addresses = facts.answers(domain) or _answers_in_detail(exact)
        if addresses:
            parts.append(f"answered {', '.join(addresses[:3])}")
        if below:
            qtypes = Counter(str(r.get("detail") or "").split(" ")[0] for r in below)
            parts.append(f"{plural(len(below), 'lookup')} of {plural(len({r.get('name') for r in below}), 'name')} "
                         f"under it ({', '.join(f'{t} {n}' for t, n in qtypes.most_common(3))})")
        if kinds.get("tls"):
            parts.append(plural(kinds["tls"], "TLS session"))
        if kinds.get("http"):
            parts.append(plural(kinds["http"], "HTTP request"))
        if kinds.get("alert"):
            parts.append(f"{plural(kinds['alert'], 'Suricata alert')} on it")
        first, last = span(mine, "ts", "ts")
        seen = "the finding's domain (finding_domain)"
        indicators = [Indicator("domain", domain, seen, first, last)]
        indicators += [ip_indicator(a, f"DNS answer for the finding's domain {domain}", first, last) for a in addresses]
        out.append(Highlight(FINDING, "finding_domain", f"The finding's domain {domain}: " + "; ".join(parts),
                             first, last, indicators))
    return out


def _answers_in_detail(rows: Iterable[Record]) -> list[str]:
    found = set()
    for row in rows:
        for part in str(row.get("detail") or "").replace(",", " ").split():
            if is_ip(part):
                found.add(part)
    return sorted(found)


def finding_remote_ip(facts: Facts) -> list[Highlight]:
    if not facts.ran("finding_remote_ip"):
        return []
    rows = facts.rows("finding_remote_ip")
    ips = ", ".join(facts.finding_ips)
    if not rows:
        return [Highlight(FINDING, "finding_remote_ip", f"The finding's remote IP {ips} was not seen in the capture "
                          "(no connection, DNS answer, TLS, HTTP or alert)", evidence=False)]
    out = []
    for ip in facts.finding_ips:
        mine = [r for r in rows if ip in (r.get("src"), r.get("dst")) or ip in str(r.get("detail") or "")]
        if not mine:
            continue
        kinds: Counter[str] = Counter(str(r.get("source")) for r in mine)
        conns = [r for r in mine if r.get("source") == "conn"]
        parts = []
        if conns:
            inbound = sum(1 for r in conns if r.get("src") == ip)
            ports = Counter(integer(r.get("dst_port")) for r in conns)
            peers = sorted({str(r.get("dst") if r.get("src") == ip else r.get("src")) for r in conns})
            parts.append(f"{plural(len(conns), 'connection')} ({inbound} from it, {len(conns) - inbound} to it) with "
                         f"{', '.join(peers[:3])} on port(s) {', '.join(str(p) for p, _ in ports.most_common(4))}")
        if kinds.get("dns"):
            parts.append(f"{plural(kinds['dns'], 'DNS answer')} resolving to it")
        for kind, label in (("tls", "TLS session"), ("http", "HTTP request"), ("alert", "Suricata alert")):
            if kinds.get(kind):
                parts.append(plural(kinds[kind], label))
        first, last = span(mine, "ts", "ts")
        names = facts.names_of(ip)
        label = f"{ip} ({', '.join(names[:2])})" if names else ip
        out.append(Highlight(FINDING, "finding_remote_ip", f"The finding's remote IP {label}: " + "; ".join(parts),
                             first, last, [ip_indicator(ip, "the finding's remote IP (finding_remote_ip)", first, last)]))
    return out


def finding_port(facts: Facts) -> list[Highlight]:
    everything = [r for r in facts.rows("finding_port") if integer(r.get("connections")) > 0]
    # the port alone is weak evidence: AWS endpoints and popular sites on it are left out
    rows = [r for r in everything if not facts.peer_is_benign(str(r.get("dst")))
            and not facts.peer_is_benign(str(r.get("src")))]
    if not rows:
        return []
    top = sorted(rows, key=lambda r: -integer(r.get("connections")))[:3]
    total = sum(integer(r.get("connections")) for r in rows)
    pairs = "; ".join(f"{r.get('src')} \u2192 {r.get('dst')}:{r.get('port')} {plural(integer(r.get('connections')), 'connection')}"
                      for r in top)
    ports = ", ".join(str(p) for p in facts.finding_ports)
    first, last = span(rows)
    left_out = len(everything) - len(rows)
    text = (f"Traffic on the finding's port(s) {ports}: {plural(total, 'connection')} between "
            f"{plural(len(rows), 'host pair')}; top: {pairs}")
    if left_out:
        text += f" ({plural(left_out, 'pair')} with AWS endpoints or popular sites not counted)"
    return [Highlight(FINDING, "finding_port", text, first, last)]


Highlighter = Callable[[Facts], list[Highlight]]
TIER_1_2: tuple[Highlighter, ...] = (alerts, finding_domain, finding_remote_ip, finding_port)
