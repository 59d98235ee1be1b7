"""The investigation report, built from the query pack's results and the capture context (pure:
no AWS, no engine).

The workflow (results read back from Athena) and ``tapcase analyze`` (results from the local
engine) both call :func:`build_report` with the same ``{"queries": {name: {"columns": [...],
"rows": [...]}}}`` document, and write :func:`render_markdown` and :func:`render_html` beside it, so
a report reads the same wherever the queries ran.

The document (``version`` 2): ``title`` (from the finding), ``verdict`` (outcome, assessment,
headline, warnings: :mod:`tapcase_contract.outcomes`), ``highlights`` ranked by evidence strength
(:mod:`.highlights`), ``indicators`` (with where each was seen), ``timeline``, ``charts`` (the
series the page draws), ``attack`` (MITRE ATT&CK), ``next_steps``, ``capture`` (the facts of the
capture), ``flow_logs`` (the hour before the finding in the VPC Flow Logs: :mod:`.report_flowlogs`), ``notes`` (what is missing and why: no Zeek logs, no alerts, failed queries), one
``section`` per query (rows, the exact SQL, the full result's location), ``context`` as given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tapcase_workflow.logic import attack, indicators, verdict
from tapcase_workflow.logic.highlights import TIER_1_2, Facts, Highlight
from tapcase_workflow.logic.highlights_behaviour import BEHAVIOURS
from tapcase_workflow.logic.report_coverage import coverage_section
from tapcase_workflow.logic.report_data import (
    epoch_of,
    human_bytes,
    integer,
    iso_time,
    number,
    plural,
    records,
)
from tapcase_workflow.logic.report_flowlogs import flow_log_section
from tapcase_workflow.logic.report_html import render_html
from tapcase_workflow.logic.report_markdown import render_markdown
from tapcase_workflow.querypack import load_pack

__all__ = ["REPORT_VERSION", "build_report", "render_html", "render_markdown", "iso_time", "human_bytes"]

REPORT_VERSION = 2
#: Rows of each query kept in the report (all rows: the result file in S3).
DEFAULT_MAX_ROWS = 50

Results = Mapping[str, Mapping[str, Any]]
#: Characters of a highlight the timeline repeats (the highlight has it all).
TIMELINE_TEXT = 110


def _title(context: Mapping[str, Any], investigation_id: str) -> str:
    finding = context.get("finding") or {}
    instance = context.get("instance") or {}
    target = instance.get("id")
    if instance.get("name") and target:
        target = f"{instance['name']} ({target})"
    if instance.get("member_account") and instance.get("account") and target:
        target = f"{target} in account {instance['account']}"
    if finding.get("type") and target:
        return f"{finding['type']} on {target}"
    if target:
        return f"{str(context.get('trigger') or 'manual').capitalize()} investigation of {target}"
    if context.get("logs"):
        return f"Logs of {context['logs']}"
    return f"Investigation {investigation_id}"


def _facts(queries: Results, context: Mapping[str, Any], suspect_ips: Sequence[str], region: str | None) -> Facts:
    finding = context.get("finding") or {}
    return Facts(
        results=queries,
        finding_domains=[str(d).lower().rstrip(".") for d in finding.get("domains") or []],
        finding_ips=[str(i) for i in finding.get("remote_ips") or []],
        finding_ports=[integer(p) for p in finding.get("ports") or []],
        suspect_ips=list(suspect_ips),
        region=region,
    )


def rank(facts: Facts) -> list[Highlight]:
    """Every highlight, strongest evidence first (tier, then the order of the highlighters)."""
    found = [h for highlighter in (*TIER_1_2, *BEHAVIOURS) for h in highlighter(facts)]
    return sorted(found, key=lambda h: (h.tier, not h.evidence))  # stable: highlighter order within a tier


def _timeline(context: Mapping[str, Any], highlights: Sequence[Highlight]) -> list[dict[str, Any]]:
    window = context.get("window") or {}
    events: list[tuple[float, str]] = []
    start, end = epoch_of(window.get("start")), epoch_of(window.get("end"))
    if start is not None:
        events.append((start, "capture starts (first packet the sensor analysed)"))
    if end is not None:
        events.append((end, "capture ends (last packet the sensor analysed)"))
    for h in highlights:
        label = h.text if len(h.text) <= TIMELINE_TEXT else h.text[: TIMELINE_TEXT - 1] + "\u2026"
        if h.first_ts is not None and h.evidence:
            events.append((h.first_ts, f"first: {label}"))
        if h.last_ts is not None and h.evidence and h.last_ts != h.first_ts:
            events.append((h.last_ts, f"last: {label}"))
    return [{"ts": ts, "time": iso_time(ts), "what": what} for ts, what in sorted(events, key=lambda e: e[0])][:60]


def _charts(queries: Results) -> dict[str, Any]:
    minutes = records(queries.get("activity_timeline"))
    talkers = records(queries.get("top_talkers"))[:10]
    alerts = records(queries.get("suricata_alert_summary"))[:10]
    return {
        "connections": [[number(r.get("minute_start")), integer(r.get("connections"))] for r in minutes],
        "dns": [[number(r.get("minute_start")), integer(r.get("dns_lookups")), integer(r.get("nxdomain"))]
                for r in minutes],
        "top_talkers": [[f"{r.get('src')} \u2192 {r.get('dst')}", integer(r.get("total_bytes"))] for r in talkers],
        "alerts": [[str(r.get("signature")), integer(r.get("alerts"))] for r in alerts],
    }


def target_text(target: Mapping[str, Any] | None, target_id: str | None = None) -> str | None:
    """Which mirror target received the traffic, in one line (None: not known)."""
    if not target:
        return f"the investigation's own sensor ({target_id})" if target_id else None
    if target.get("kind") == "fleet":
        behind = target.get("load_balancer") or "?"
        return (f"the sensor fleet's target {target.get('target_id')} ({target.get('target_type')} {behind}); "
                f"this investigation's traffic is VNI {target.get('vni')} there, no sensor was launched")
    return f"the investigation's own sensor ({target_id or 'target not created'}), VNI {target.get('vni')}"


def _capture(context: Mapping[str, Any]) -> dict[str, Any]:
    """The capture facts the page lists (from the context, whatever produced it)."""
    mirroring = context.get("mirroring") or {}
    window = context.get("window") or {}
    rules = context.get("rules") or {}
    instance = context.get("instance") or {}
    return {
        "account": ({"id": instance["account"], "member": bool(instance.get("member_account"))}
                    if instance.get("account") else None),
        "enis": [s.get("eni") for s in mirroring.get("sessions") or []],
        "sessions": mirroring.get("sessions") or [],
        "vni": mirroring.get("vni"),
        "target": target_text(mirroring.get("target"), mirroring.get("target_id")),
        "window": {"requested_seconds": window.get("requested_seconds"), "start": window.get("start"),
                   "end": window.get("end")},
        "packets": context.get("packets") or {},
        "engines": context.get("engines") or {},
        "rules_loaded": rules.get("loaded"),
        "rules_failed": rules.get("failed"),
        "zeek_skipped_reason": context.get("zeek_skipped_reason"),
        "files": (context.get("evidence") or {}).get("files") or [],
        "manifest_uri": (context.get("evidence") or {}).get("manifest_uri"),
        "pcap": context.get("pcap"),
    }


def _notes(queries: Results, context: Mapping[str, Any], errors: Mapping[str, str]) -> dict[str, str]:
    notes: dict[str, str] = {}
    curated = context.get("curated_rows")
    zeek_missing = bool(context.get("zeek_skipped_reason")) or (
        isinstance(curated, Mapping) and not any(str(k).startswith("zeek_") for k in curated))
    if zeek_missing:
        notes["zeek"] = ("No Zeek logs" + (f": {context['zeek_skipped_reason']}" if context.get("zeek_skipped_reason")
                                           else " among the logs") + ". Queries used Suricata's events where they can.")
    if "suricata_alert_summary" in queries and not records(queries.get("suricata_alert_summary")):
        loaded = (context.get("rules") or {}).get("loaded")
        notes["alerts"] = "No Suricata alert fired" + (f" ({plural(integer(loaded), 'rule')} loaded)." if loaded
                                                        is not None else ".")
    if errors:
        notes["failed"] = f"{plural(len(errors), 'query')} failed ({', '.join(sorted(errors))}): their sections say why."
    return notes


def _next_steps(context: Mapping[str, Any], outcome: str, items: Sequence[Mapping[str, Any]]) -> list[str]:
    instance = (context.get("instance") or {}).get("id") or "the instance"
    if outcome == "no_traffic":
        return [
            "Nothing was captured: do not close the finding on this report.",
            f"Check that {instance} runs and sends traffic, that its ENIs were mirrored (capture facts), and that no "
            "lower-numbered mirror session took the packets; then investigate again.",
        ]
    steps = [
        f"Isolate {instance}: replace its security groups with one that allows nothing (keep it running for memory "
        "capture), and detach it from its Auto Scaling group and load balancers.",
        f"Snapshot its EBS volumes before changing anything: aws ec2 create-snapshots --instance-specification "
        f"InstanceId={instance} --copy-tags-from-source volume",
    ]
    blockable = [i["value"] for i in items if i["type"] in ("ipv4", "ipv6", "domain")][:8]
    if blockable:
        steps.append("Block the indicators at the network firewall and Route 53 Resolver DNS Firewall: "
                     + ", ".join(blockable) + (" (full list: indicators.csv / indicators.stix.json)"
                                               if len(items) > len(blockable) else ""))
    steps.append("Rotate the credentials the instance could read (its instance role's sessions, secrets on disk).")
    return steps


def _sections(queries: Results, highlights: Sequence[Highlight], max_rows: int, sql: Mapping[str, str],
              result_uris: Mapping[str, str]) -> list[dict[str, Any]]:
    pack = {q.name: q for q in load_pack()}
    highlighted = list(dict.fromkeys(h.query for h in highlights if h.evidence))
    names = [n for n in highlighted if n in queries]
    names += [q for q in pack if q in queries and q not in names and records(queries.get(q))]
    names += [q for q in pack if q in queries and q not in names]
    names += sorted(set(queries) - set(names))
    sections = []
    for name in names:
        result = queries[name]
        rows = list(result.get("rows") or [])
        meta = pack.get(name)
        sections.append({
            "name": name, "title": meta.title if meta else name, "description": meta.description if meta else "",
            "row_count": len(rows), "columns": list(result.get("columns") or []), "rows": rows[:max_rows],
            "truncated": len(rows) > max_rows or bool(result.get("truncated")),
            "sql": sql.get(name), "result_uri": result_uris.get(name),
        })  # fmt: skip
    return sections


def build_report(
    results: Mapping[str, Any],
    *,
    investigation_id: str,
    context: Mapping[str, Any] | None = None,
    skipped: Mapping[str, Sequence[str]] | None = None,
    errors: Mapping[str, str] | None = None,
    generated_at: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    sql: Mapping[str, str] | None = None,
    result_uris: Mapping[str, str] | None = None,
    suspect_ips: Sequence[str] = (),
    region: str | None = None,
) -> dict[str, Any]:
    """The report document (JSON-serialisable).

    ``results`` is ``{"queries": {...}}`` (or the inner mapping); ``context`` what started the
    investigation and what was captured; ``skipped`` queries left out with the values they lacked;
    ``errors`` queries that failed, with the error text; ``sql`` each query's SQL as run;
    ``result_uris`` where each full result is (Athena's output location); ``suspect_ips`` the
    instance's addresses; ``region`` whose AWS service endpoints are benign.
    """
    queries: Results = results.get("queries", results) if isinstance(results, Mapping) else {}
    context = dict(context or {})
    errors = dict(errors or {})
    generated_at = generated_at or datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    facts = _facts(queries, context, suspect_ips, region)
    highlights = rank(facts)
    found = indicators.collect(facts, highlights)
    decided = verdict.decide(context, highlights)
    title = _title(context, investigation_id)
    finding = context.get("finding") or {}
    techniques = [(t, f"finding type {finding.get('type')}") for t in attack.for_finding(finding.get("type"))]
    techniques += [(t, f"Suricata alert: {row.get('signature')}") for row in records(queries.get("suricata_alert_summary"))
                   for t in str(row.get("mitre_techniques") or "").split(",") if t]
    techniques += [(t, f"highlight: {h.query}") for h in highlights if h.evidence for t in h.techniques]
    sections = _sections(queries, highlights, max_rows, sql or {}, result_uris or {})
    flow = flow_log_section(queries, context, errors, {i["value"]: i["seen"] for i in found},
                            [str(ip) for ip in finding.get("remote_ips") or []])
    covered = coverage_section(queries, context, errors)
    alert_rows = records(queries.get("suricata_alert_summary"))
    return {
        "version": REPORT_VERSION,
        "investigation_id": investigation_id,
        "generated_at": generated_at,
        "title": title,
        "verdict": decided,
        "summary": {
            "outcome": decided["outcome"],
            "assessment": decided["assessment"],
            "queries_run": len(sections),
            "queries_with_rows": sum(1 for s in sections if s["row_count"]),
            "queries_skipped": len(skipped or {}),
            "queries_failed": len(errors),
            "highlights": sum(1 for h in highlights if h.evidence),
            "alerts": sum(integer(r.get("alerts")) for r in alert_rows),
            "signatures": len(alert_rows),
            "indicators": len(found),
            "rules_loaded": (context.get("rules") or {}).get("loaded"),
        },
        "highlights": [h.to_dict(i + 1) for i, h in enumerate(highlights)],
        "indicators": found,
        # Before the capture (the fleet's rolling logs of a covered instance, flow logs), then the window.
        "timeline": sorted(flow["timeline"] + (covered or {}).get("timeline", []), key=lambda t: t["ts"])
        + _timeline(context, highlights),
        "flow_logs": flow,
        "coverage": covered,
        "charts": _charts(queries),
        "attack": attack.describe(techniques),
        "next_steps": _next_steps(context, decided["outcome"], found),
        "capture": _capture(context),
        "notes": _notes(queries, context, errors),
        "context": context,
        "sections": sections,
        "skipped": {k: list(v) for k, v in sorted((skipped or {}).items())},
        "errors": dict(sorted(errors.items())),
        "teardown": None,
    }

