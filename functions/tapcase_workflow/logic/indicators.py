"""The report's indicator list: IPs, domains, file hashes, TLS/SSH fingerprints and user agents,
each with where it was seen; as rows, CSV and a STIX 2.1 bundle (pure, ``stix2`` from PyPI).

Indicators come from the highlights (what rests on evidence: alerts, the finding's values seen in
the capture, beacons, uploads, tunnelling domains...), from the finding itself, and from the
fingerprints of the sessions with those addresses (JA3/JA4 of TLS clients, HASSH and banners of
SSH clients, HTTP user agents).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tapcase_workflow.logic.highlights import Facts, Highlight, Indicator
from tapcase_workflow.logic.report_data import integer, is_public_ip, iso_time

#: Indicator kinds, in the order the list shows them.
KINDS = ("ipv4", "ipv6", "domain", "sha256", "sha1", "md5", "ja3", "ja4", "hassh", "user_agent")
CSV_COLUMNS = ("type", "value", "first_seen", "last_seen", "seen")
#: UUIDv5 namespace of tapcase's STIX ids (same indicator, same investigation: same id).
STIX_NAMESPACE = uuid.UUID("6f1c2a0e-2b1f-5c7e-9a55-7a7063617365")
MAX_SEEN = 6


def fingerprints(facts: Facts, addresses: Iterable[str]) -> list[Indicator]:
    """JA3/JA4 of TLS clients, HASSH and banners of SSH clients, user agents of HTTP clients that
    talked with ``addresses`` (the flagged outside hosts)."""
    wanted = set(addresses)
    out: list[Indicator] = []
    for row in facts.rows("tls_fingerprints"):
        server = str(row.get("server"))
        if server not in wanted:
            continue
        where = f"TLS client of {server}" + (f" ({row.get('sni')})" if row.get("sni") else "")
        for kind in ("ja3", "ja4"):
            if row.get(kind):
                out.append(Indicator(kind, str(row[kind]), where, _f(row.get("first_ts")), _f(row.get("last_ts"))))
    for row in facts.rows("ssh_sessions"):
        client, server = str(row.get("client")), str(row.get("server"))
        if client not in wanted and server not in wanted:
            continue
        where = f"SSH client {client} \u2192 {server}:{row.get('port')} ({row.get('client_banner')})"
        if row.get("hassh"):
            out.append(Indicator("hassh", str(row["hassh"]), where, _f(row.get("first_ts")), _f(row.get("last_ts"))))
    for row in facts.rows("http_clients"):
        if str(row.get("server")) not in wanted or not row.get("user_agent") or row.get("user_agent") == "(none)":
            continue
        where = f"HTTP client {row.get('client')} \u2192 {row.get('server')} ({row.get('host')}), {integer(row.get('requests'))} requests"
        out.append(Indicator("user_agent", str(row["user_agent"]), where, _f(row.get("first_ts")), _f(row.get("last_ts"))))
    return out


def _f(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def collect(facts: Facts, highlights: Sequence[Highlight]) -> list[dict[str, Any]]:
    """One entry per indicator: ``{type, value, seen: [...], first_seen, last_seen}``."""
    found: list[Indicator] = [i for h in highlights for i in h.indicators]
    outside = sorted({i.value for i in found if i.kind in ("ipv4", "ipv6") and is_public_ip(i.value)})
    found += fingerprints(facts, outside)
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for item in found:
        if item.kind in ("ipv4", "ipv6") and (not is_public_ip(item.value) or item.value in facts.suspect_ips):
            continue
        if item.kind == "domain" and facts.benign(item.value):
            continue
        entry = merged.setdefault((item.kind, item.value), {"type": item.kind, "value": item.value, "seen": [],
                                                             "first_ts": None, "last_ts": None})
        if item.seen not in entry["seen"] and len(entry["seen"]) < MAX_SEEN:
            entry["seen"].append(item.seen)
        for key, pick in (("first_ts", min), ("last_ts", max)):
            value = getattr(item, key)
            if value is not None:
                entry[key] = value if entry[key] is None else pick(entry[key], value)
    rows = sorted(merged.values(), key=lambda e: (KINDS.index(e["type"]) if e["type"] in KINDS else 99, e["value"]))
    for entry in rows:
        entry["first_seen"], entry["last_seen"] = iso_time(entry.pop("first_ts")), iso_time(entry.pop("last_ts"))
    return rows


def to_csv(indicators: Sequence[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for entry in indicators:
        writer.writerow([entry["type"], entry["value"], entry.get("first_seen") or "", entry.get("last_seen") or "",
                         " | ".join(entry.get("seen") or [])])
    return out.getvalue()


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def stix_pattern(kind: str, value: str) -> str:
    """The STIX 2.1 pattern of one indicator (JA3/JA4/HASSH: tapcase's custom ``x-tapcase-fingerprint``)."""
    if kind in ("ipv4", "ipv6"):
        return f"[{kind}-addr:value = {_quoted(value)}]"
    if kind == "domain":
        return f"[domain-name:value = {_quoted(value)}]"
    if kind in ("sha256", "sha1", "md5"):
        algorithm = {"sha256": "'SHA-256'", "sha1": "'SHA-1'", "md5": "MD5"}[kind]
        return f"[file:hashes.{algorithm} = {_quoted(value)}]"
    if kind == "user_agent":
        return f"[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = {_quoted(value)}]"
    return f"[x-tapcase-fingerprint:{kind} = {_quoted(value)}]"


def _time(text: str | None, default: datetime) -> datetime:
    if not text:
        return default
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def stix_bundle(indicators: Sequence[Mapping[str, Any]], *, investigation_id: str, title: str,
                generated_at: str) -> str:
    """The indicators as a STIX 2.1 bundle: tapcase's identity, one Indicator each, and a Report
    naming them (ids derived from the investigation and the value: a re-run gives the same ids)."""
    import stix2

    created = _time(generated_at, datetime.now(UTC))

    def sid(kind: str, *parts: str) -> str:
        return f"{kind}--{uuid.uuid5(STIX_NAMESPACE, '/'.join((investigation_id, *parts)))}"

    identity = stix2.Identity(id=sid("identity", "tapcase"), name="tapcase", identity_class="system",
                              created=created, modified=created)
    objects: list[Any] = [identity]
    for entry in indicators:
        seen = "; ".join(entry.get("seen") or [])
        objects.append(stix2.Indicator(
            id=sid("indicator", entry["type"], entry["value"]), created=created, modified=created,
            created_by_ref=identity.id, name=f"{entry['type']} {entry['value']}"[:250],
            description=f"Seen in investigation {investigation_id}: {seen}",
            indicator_types=["malicious-activity"], pattern=stix_pattern(entry["type"], entry["value"]),
            pattern_type="stix", valid_from=_time(entry.get("first_seen"), created),
            labels=[entry["type"]], allow_custom=True,
        ))
    report = stix2.Report(id=sid("report", "report"), created=created, modified=created, created_by_ref=identity.id,
                          name=title[:250], published=created, report_types=["observed-data"],
                          object_refs=[o.id for o in objects[1:]] or [identity.id],
                          description=f"tapcase investigation {investigation_id}: indicators with where they were seen")
    bundle = stix2.Bundle(*objects, report, id=sid("bundle", "bundle"), allow_custom=True)
    return json.dumps(json.loads(bundle.serialize()), indent=2) + "\n"
