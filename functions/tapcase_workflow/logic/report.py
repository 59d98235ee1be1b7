"""The investigation report, built from the query pack's results (pure: no AWS, no engine).

The workflow (results read back from Athena) and ``tapcase analyze`` (results from the local
engine) both call :func:`build_report` with the same ``{"queries": {name: {"columns": [...],
"rows": [...]}}}`` document and write :func:`render_markdown` next to it, so a report reads the
same wherever the queries ran.

The report keeps, per query, its title and description (from the pack), the number of rows and
the first rows; and a list of *highlights*: one sentence per query whose rows are worth an
analyst's attention first (alerts, beacons, DGA-like lookups, invalid certificates...).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tapcase_workflow.querypack import load_pack

REPORT_VERSION = 1
DEFAULT_MAX_ROWS = 20

Results = Mapping[str, Mapping[str, Any]]


# ---------------------------------------------------------------------------------------------
# Formatting helpers
# ---------------------------------------------------------------------------------------------


def iso_time(epoch: Any) -> str | None:
    """Epoch seconds -> ``2018-03-24T17:15:20.865716Z`` (None for anything else)."""
    if isinstance(epoch, bool) or not isinstance(epoch, (int, float)) or not math.isfinite(epoch):
        return None
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def human_bytes(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    size = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"  # pragma: no cover


def _records(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    columns = list(result.get("columns") or [])
    return [dict(zip(columns, row, strict=True)) for row in result.get("rows") or []]


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column.endswith("_ts") or column in {"ts", "minute_start"}:
        return iso_time(value) or str(value)
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell("", v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell('', v)}" for k, v in value.items())
    return str(value)


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


# ---------------------------------------------------------------------------------------------
# Highlights: one sentence per query worth reading first
# ---------------------------------------------------------------------------------------------

Highlighter = Callable[[list[dict[str, Any]]], "str | None"]


def _alerts(rows: list[dict[str, Any]]) -> str | None:
    if not rows:
        return None
    total = sum(int(r.get("alerts") or 0) for r in rows)
    top = rows[0]
    return (
        f"{total} Suricata alert(s) from {len(rows)} signature(s); most frequent: "
        f"{top.get('signature') or top.get('signature_id')} ({top.get('alerts')}x, severity {top.get('severity')})"
    )


def _beacons(rows: list[dict[str, Any]]) -> str | None:
    strong = [r for r in rows if isinstance(r.get("score"), (int, float)) and r["score"] >= 0.8]
    if not strong:
        return None
    top = strong[0]
    return (
        f"{len(strong)} beacon-like pair(s) (score >= 0.8); strongest {top['src']} -> {top['dst']}: "
        f"{top.get('connections')} connections about every {_cell('', top.get('median_interval'))} s "
        f"(score {_cell('', top.get('score'))})"
    )


def _entropy(rows: list[dict[str, Any]]) -> str | None:
    if not rows:
        return None
    top = rows[0]
    return (
        f"{len(rows)} client(s) looked up random-looking (DGA-like) names; {top['client']}: "
        f"{top.get('high_entropy_names')} names under {top.get('base_domains')} domain(s), "
        f"{top.get('high_entropy_nxdomain')} NXDOMAIN"
    )


def _nxdomain(rows: list[dict[str, Any]]) -> str | None:
    if not rows:
        return None
    top = rows[0]
    return (
        f"{len(rows)} NXDOMAIN burst(s); largest: {top['client']} got {top.get('nxdomain')} NXDOMAIN answers "
        f"in the minute from {iso_time(top.get('minute_start'))}"
    )


def _tunnel(rows: list[dict[str, Any]]) -> str | None:
    if not rows:
        return None
    top = rows[0]
    return (
        f"{len(rows)} client/domain pair(s) with DNS tunnelling volume; top: {top['client']} sent "
        f"{top.get('names')} distinct names under {top.get('base_domain')}"
    )


def _tls(rows: list[dict[str, Any]]) -> str | None:
    if not rows:
        return None
    counts: dict[str, int] = {}
    for row in rows:
        for issue in str(row.get("issues") or "").split(","):
            if issue:
                counts[issue] = counts.get(issue, 0) + int(row.get("sessions") or 0)
    detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    return f"{len(rows)} TLS server(s) with certificate/SNI issues (sessions: {detail})"


def _files(rows: list[dict[str, Any]]) -> str | None:
    if not rows:
        return None
    names = sorted({str(r.get("filename") or r.get("file_type") or "?") for r in rows})[:3]
    return f"{len(rows)} executable or script file(s) transferred, e.g. {', '.join(names)}"


def _outbound(rows: list[dict[str, Any]]) -> str | None:
    if not rows:
        return None
    top = rows[0]
    return f"largest outbound volume: {top['src']} -> {top['dst']} sent {human_bytes(top.get('bytes_out'))}"


def _long(rows: list[dict[str, Any]]) -> str | None:
    if not rows:
        return None
    top = rows[0]
    hours = (top.get("total_duration") or 0) / 3600
    return f"{len(rows)} long-lived connection pair(s); longest {top['src']} -> {top['dst']}:{top.get('dst_port')} ({hours:.1f} h)"


def _raw_ip(rows: list[dict[str, Any]]) -> str | None:
    if not rows:
        return None
    return f"{len(rows)} HTTP client/server pair(s) using raw-IP hosts, no Host, or large uploads"


def _notices(rows: list[dict[str, Any]]) -> str | None:
    notices = [r for r in rows if r.get("log") == "notice"]
    if not notices:
        return None
    parts = ", ".join(f"{r['name']} ({r['events']})" for r in notices[:3])
    return f"Zeek notices: {parts}"


def _joined(rows: list[dict[str, Any]]) -> str | None:
    if not rows:
        return None
    return f"{len(rows)} alert(s) matched to their Zeek connection by community ID"


def _finding(label: str, *keys: str) -> Highlighter:
    """``keys``: the columns naming the finding's value (e.g. the domain), listed in the sentence."""

    def highlight(rows: list[dict[str, Any]]) -> str | None:
        if not rows:
            return f"no activity with the finding's {label} was captured"
        text = f"{len(rows)} event(s) involve the finding's {label}"
        values = Counter(str(r[k]) for r in rows for k in keys if r.get(k) not in (None, ""))
        if values:
            text += ": " + ", ".join(f"{v} ({n})" for v, n in values.most_common(3))
        sources = Counter(str(r["source"]) for r in rows if r.get("source"))
        if sources:
            text += "; by kind " + ", ".join(f"{k} {n}" for k, n in sorted(sources.items()))
        return text

    return highlight


def _peers(rows: list[dict[str, Any]]) -> str | None:
    if not rows:
        return None
    outbound = sum(1 for r in rows if r.get("direction") == "outbound")
    return f"the suspect host talked to {len(rows)} peer/direction pair(s) ({outbound} outbound)"


HIGHLIGHTS: dict[str, Highlighter] = {
    "suricata_alert_summary": _alerts,
    "alerts_with_conn": _joined,
    "beaconing": _beacons,
    "dns_label_entropy": _entropy,
    "nxdomain_bursts": _nxdomain,
    "dns_tunneling": _tunnel,
    "tls_certificate_issues": _tls,
    "executables_in_files": _files,
    "http_raw_ip_and_uploads": _raw_ip,
    "long_connections": _long,
    "outbound_volume": _outbound,
    "notice_weird_summary": _notices,
    "finding_remote_ip": _finding("remote IP"),
    "finding_domain": _finding("domain", "name"),
    "finding_port": _finding("port", "port"),
    "suspect_host_peers": _peers,
}


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def build_report(
    results: Mapping[str, Any],
    *,
    investigation_id: str,
    context: Mapping[str, Any] | None = None,
    skipped: Mapping[str, Sequence[str]] | None = None,
    errors: Mapping[str, str] | None = None,
    generated_at: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> dict[str, Any]:
    """The report document (JSON-serialisable).

    ``results`` is ``{"queries": {...}}`` (or just the inner mapping); ``context`` what started
    the investigation and what was captured (free-form, shown as given); ``skipped`` queries left
    out with the values they lacked; ``errors`` queries that failed, with the error text.
    """
    queries: Results = results.get("queries", results) if isinstance(results, Mapping) else {}
    pack = {q.name: q for q in load_pack()}
    order = [q.name for q in pack.values() if q.name in queries] + sorted(set(queries) - set(pack))
    sections = []
    highlights = []
    for name in order:
        result = queries[name]
        rows = list(result.get("rows") or [])
        meta = pack.get(name)
        section = {
            "name": name,
            "title": meta.title if meta else name,
            "description": meta.description if meta else "",
            "row_count": len(rows),
            "columns": list(result.get("columns") or []),
            "rows": rows[:max_rows],
            "truncated": len(rows) > max_rows,
        }
        sections.append(section)
        highlighter = HIGHLIGHTS.get(name)
        if highlighter is not None:
            sentence = highlighter(_records(result))
            if sentence:
                highlights.append({"query": name, "text": sentence})
    return {
        "version": REPORT_VERSION,
        "investigation_id": investigation_id,
        "generated_at": generated_at or datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "context": dict(context or {}),
        "summary": {
            "queries_run": len(sections),
            "queries_with_rows": sum(1 for s in sections if s["row_count"]),
            "queries_skipped": len(skipped or {}),
            "queries_failed": len(errors or {}),
        },
        "highlights": highlights,
        "sections": sections,
        "skipped": {k: list(v) for k, v in sorted((skipped or {}).items())},
        "errors": dict(sorted((errors or {}).items())),
    }


def _context_lines(context: Mapping[str, Any]) -> list[str]:
    lines = []
    for key, value in context.items():
        if key == "pcap":  # its own section: _pcap_lines
            continue
        if isinstance(value, Mapping):
            inner = ", ".join(f"{k}: {_cell('', v)}" for k, v in value.items())
            lines.append(f"- **{key}**: {inner}")
        else:
            lines.append(f"- **{key}**: {_cell('', value)}")
    return lines


def _pcap_lines(pcap: Mapping[str, Any] | None) -> list[str]:
    """The packets the sensor kept: one line per pcap file (S3 URI, packets, sha256), and the cap."""
    if not pcap:
        return []
    out = ["## Packets (pcap evidence)", ""]
    if pcap.get("cap_reached"):
        out += [f"**Size cap of {pcap.get('max_mb')} MiB reached**: {_md_escape(str(pcap.get('note')))}", ""]
    else:
        out += [_md_escape(str(pcap.get("note") or "")), ""]
    files = pcap.get("files") or []
    if files:
        out += ["| file | packets | first | last | bytes | sha256 |", "|---|---|---|---|---|---|"]
        out += [
            f"| [{_md_escape(f['key'].rsplit('/', 1)[-1])}]({f['uri']}) | {f.get('packets')} | {f.get('first') or ''} "
            f"| {f.get('last') or ''} | {f.get('bytes')} | `{f.get('sha256')}` |"
            for f in files
        ]
        out.append("")
    return out


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown: highlights first, then one table per query."""
    out = [f"# tapcase investigation report: {report['investigation_id']}", ""]
    out.append(f"Generated {report.get('generated_at')}.")
    out.append("")
    if report.get("context"):
        out += ["## Context", "", *_context_lines(report["context"]), ""]
        out += _pcap_lines(report["context"].get("pcap"))
    summary = report.get("summary", {})
    out += [
        "## Highlights",
        "",
    ]
    if report.get("highlights"):
        out += [f"- {_md_escape(h['text'])} (`{h['query']}`)" for h in report["highlights"]]
    else:
        out.append("- Nothing stood out in the queries that ran.")
    out += [
        "",
        f"{summary.get('queries_run', 0)} queries ran, {summary.get('queries_with_rows', 0)} returned rows"
        + (f", {summary['queries_skipped']} skipped" if summary.get("queries_skipped") else "")
        + (f", {summary['queries_failed']} failed" if summary.get("queries_failed") else "")
        + ".",
        "",
    ]
    for section in report.get("sections", []):
        out += [f"## {section['title']}", "", f"`{section['name']}`: {section['description']}", ""]
        if not section["row_count"]:
            out += ["No rows.", ""]
            continue
        columns = section["columns"]
        out.append("| " + " | ".join(_md_escape(c) for c in columns) + " |")
        out.append("|" + "---|" * len(columns))
        for row in section["rows"]:
            out.append("| " + " | ".join(_md_escape(_cell(c, v)) for c, v in zip(columns, row, strict=True)) + " |")
        if section["truncated"]:
            out.append("")
            out.append(f"First {len(section['rows'])} of {section['row_count']} rows.")
        out.append("")
    if report.get("skipped"):
        out += ["## Skipped queries", ""]
        out += [f"- `{name}`: needs {', '.join(missing)}" for name, missing in report["skipped"].items()]
        out.append("")
    if report.get("errors"):
        out += ["## Failed queries", ""]
        out += [f"- `{name}`: {_md_escape(text)}" for name, text in report["errors"].items()]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


_PAGE_STYLE = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:75em;padding:0 1em;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}"
    "table{border-collapse:collapse;margin:.5em 0;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;"
    "text-align:left;vertical-align:top}th{background:#f3f3f3}code{background:#f3f3f3;padding:0 3px}"
    ".hl li{margin:.2em 0}.muted{color:#777}dt{font-weight:600}dd{margin:0 0 .4em 1em}"
)


def _html_value(value: Any) -> str:
    from html import escape

    if isinstance(value, Mapping):
        return "<dl>" + "".join(f"<dt>{escape(str(k))}</dt><dd>{_html_value(v)}</dd>" for k, v in value.items()) + "</dl>"
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        keys = list(dict.fromkeys(k for v in value for k in v))
        head = "".join(f"<th>{escape(str(k))}</th>" for k in keys)
        body = "".join("<tr>" + "".join(f"<td>{_html_value(v.get(k))}</td>" for k in keys) + "</tr>" for v in value)
        return f"<table><tr>{head}</tr>{body}</table>"
    return escape(_cell("", value))


def render_html(report: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page (no scripts, everything escaped)."""
    from html import escape

    summary = report.get("summary", {})
    parts = [
        "<!doctype html><html lang=en><meta charset=utf-8>",
        f"<title>tapcase {escape(str(report['investigation_id']))}</title><style>{_PAGE_STYLE}</style>",
        f"<h1>tapcase investigation report: {escape(str(report['investigation_id']))}</h1>",
        f"<p class=muted>Generated {escape(str(report.get('generated_at')))}. "
        f"{summary.get('queries_run', 0)} queries ran, {summary.get('queries_with_rows', 0)} returned rows, "
        f"{summary.get('queries_skipped', 0)} skipped, {summary.get('queries_failed', 0)} failed.</p>",
        "<h2>Highlights</h2><ul class=hl>",
    ]
    highlights = report.get("highlights") or []
    parts += [f"<li>{escape(h['text'])} <code>{escape(h['query'])}</code></li>" for h in highlights]
    if not highlights:
        parts.append("<li>Nothing stood out in the queries that ran.</li>")
    parts.append("</ul>")
    if report.get("context"):
        pcap = report["context"].get("pcap") or {}
        if pcap.get("cap_reached"):
            parts.append(f"<p><strong>Packet capture cap of {escape(str(pcap.get('max_mb')))} MiB reached:</strong> "
                         f"{escape(str(pcap.get('note')))}</p>")
        parts += ["<h2>What was captured</h2>", _html_value(report["context"])]
    for section in report.get("sections", []):
        parts.append(f"<h2>{escape(section['title'])}</h2><p><code>{escape(section['name'])}</code> "
                     f"{escape(section['description'])}</p>")
        if not section["row_count"]:
            parts.append("<p class=muted>No rows.</p>")
            continue
        columns = section["columns"]
        parts.append("<table><tr>" + "".join(f"<th>{escape(c)}</th>" for c in columns) + "</tr>")
        for row in section["rows"]:
            parts.append("<tr>" + "".join(f"<td>{escape(_cell(c, v))}</td>" for c, v in zip(columns, row, strict=True)) + "</tr>")
        parts.append("</table>")
        if section["truncated"]:
            parts.append(f"<p class=muted>First {len(section['rows'])} of {section['row_count']} rows.</p>")
    if report.get("skipped"):
        parts.append("<h2>Skipped queries</h2><ul>" + "".join(
            f"<li><code>{escape(n)}</code>: needs {escape(', '.join(m))}</li>" for n, m in report["skipped"].items()
        ) + "</ul>")
    if report.get("errors"):
        parts.append("<h2>Failed queries</h2><ul>" + "".join(
            f"<li><code>{escape(n)}</code>: {escape(t)}</li>" for n, t in report["errors"].items()
        ) + "</ul>")
    return "\n".join(parts) + "\n</html>\n"
