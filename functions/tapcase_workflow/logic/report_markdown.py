"""The report as Markdown (pure): verdict and highlights first, then indicators, timeline, capture
facts, ATT&CK, next steps, one table per query (with its SQL and where its full result is), the
teardown record. Empty query results collapse into one line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tapcase_workflow.logic.report_coverage import markdown_lines as coverage_lines
from tapcase_workflow.logic.report_data import account_text, cell, human_bytes, plural
from tapcase_workflow.logic.report_flowlogs import markdown_lines as flow_log_lines

MAX_MD_ROWS = 20


def md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _table(columns: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(md_escape(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(md_escape(cell(c, v)) for c, v in zip(columns, row, strict=False)) + " |" for row in rows]
    return out


def _pcap_lines(pcap: Mapping[str, Any] | None) -> list[str]:
    """The packets the sensor kept: one line per pcap file (S3 URI, packets, sha256), and the cap."""
    if not pcap:
        return []
    out = ["## Packets (pcap evidence)", ""]
    if pcap.get("cap_reached"):
        out += [f"**Size cap of {pcap.get('max_mb')} MiB reached**: {md_escape(str(pcap.get('note')))}", ""]
    else:
        out += [md_escape(str(pcap.get("note") or "")), ""]
    files = pcap.get("files") or []
    if files:
        out += ["| file | packets | first | last | bytes | sha256 |", "|---|---|---|---|---|---|"]
        out += [
            f"| [{md_escape(f['key'].rsplit('/', 1)[-1])}]({f['uri']}) | {f.get('packets')} | {f.get('first') or ''} "
            f"| {f.get('last') or ''} | {f.get('bytes')} | `{f.get('sha256')}` |"
            for f in files
        ]
        out.append("")
    return out


def _capture_lines(report: Mapping[str, Any]) -> list[str]:
    cap = report.get("capture") or {}
    ctx = report.get("context") or {}
    packets = cap.get("packets") or {}
    window = cap.get("window") or {}
    lines = ["## Capture facts", ""]
    if cap.get("account"):
        lines.append(f"- **Account**: {account_text(cap['account'])}")
    if cap.get("enis"):
        sessions = ", ".join(f"{s.get('eni')} (session {s.get('session_number')}, {s.get('session_id')})"
                             for s in cap.get("sessions") or [])
        lines.append(f"- **Mirrored ENIs**: {sessions}; VNI {cap.get('vni')}")
    if cap.get("target"):
        lines.append(f"- **Mirror target**: {md_escape(str(cap['target']))}")
    if window.get("requested_seconds") or window.get("start"):
        lines.append(f"- **Window**: {window.get('requested_seconds')} s requested; packets from {window.get('start')} "
                     f"to {window.get('end')}")
    if packets:
        lines.append(f"- **Packets**: {packets.get('seen')} analysed, {packets.get('dropped')} dropped"
                     + (f", {human_bytes(packets['bytes'])}" if isinstance(packets.get("bytes"), (int, float)) else ""))
    if cap.get("engines"):
        lines.append("- **Engines**: " + ", ".join(f"{k} {v}" for k, v in cap["engines"].items() if v))
    if cap.get("rules_loaded") is not None:
        lines.append(f"- **Suricata rules loaded**: {cap['rules_loaded']} ({cap.get('rules_failed') or 0} failed)")
    if cap.get("zeek_skipped_reason"):
        lines.append(f"- **Zeek**: skipped: {md_escape(str(cap['zeek_skipped_reason']))}")
    if cap.get("manifest_uri"):
        lines.append(f"- **Manifest**: {cap['manifest_uri']}")
    for warning in ctx.get("warnings") or []:
        lines.append(f"- **Warning**: {md_escape(str(warning))}")
    for key in ("source", "logs", "log_files", "curated_rows"):
        if key in ctx:
            lines.append(f"- **{key}**: {md_escape(cell('', ctx[key]))}")
    files = cap.get("files") or []
    if files:
        lines += ["", "| evidence file | bytes | sha256 |", "|---|---|---|"]
        lines += [f"| {md_escape(f['key'])} | {f.get('bytes')} | `{f.get('sha256')}` |" for f in files]
    return lines + [""]


def render_markdown(report: Mapping[str, Any]) -> str:
    v = report.get("verdict") or {}
    out = [f"# {report.get('title') or report['investigation_id']}", "",
           f"tapcase investigation `{report['investigation_id']}`, generated {report.get('generated_at')}.", ""]
    out += [f"**Outcome: {v.get('outcome')}** ({v.get('assessment')}). {v.get('headline', '')}", ""]
    for warning in v.get("warnings") or []:
        out += [f"> **{md_escape(warning)}**", ""]
    for note in (report.get("notes") or {}).values():
        out += [f"- {md_escape(note)}"]
    out += ["", "## Highlights", ""]
    shown = [h for h in report.get("highlights") or []]
    if shown:
        out += [f"{h['rank']}. [{h['evidence_kind']}] {md_escape(h['text'])} (`{h['query']}`)" for h in shown]
    else:
        out.append("Nothing stood out in the queries that ran.")
    out.append("")
    items = report.get("indicators") or []
    out += ["## Indicators", ""]
    if items:
        out += _table(["type", "value", "first seen", "last seen", "seen"],
                      [[i["type"], i["value"], i.get("first_seen"), i.get("last_seen"), " | ".join(i["seen"])]
                       for i in items])
        out += ["", "Also as `indicators.csv` and `indicators.stix.json` (STIX 2.1) beside this report."]
    else:
        out.append("No indicator: nothing to block from this capture.")
    out.append("")
    if report.get("timeline"):
        out += ["## Timeline", ""] + [f"- {t['time']}: {md_escape(t['what'])}" for t in report["timeline"]] + [""]
    out += coverage_lines(report.get("coverage"), md_escape)
    out += flow_log_lines(report.get("flow_logs"), md_escape)
    out += _capture_lines(report)
    out += _pcap_lines((report.get("context") or {}).get("pcap"))
    if report.get("attack"):
        out += ["## MITRE ATT&CK", ""]
        out += [f"- [{a['id']}]({a['url']}) {a['name']}: {md_escape(a['sources'])}" for a in report["attack"]] + [""]
    out += ["## Next steps", ""] + [f"- {md_escape(s)}" for s in report.get("next_steps") or []] + [""]
    summary = report.get("summary") or {}
    out += [f"{summary.get('queries_run', 0)} queries ran, {summary.get('queries_with_rows', 0)} returned rows"
            + (f", {summary['queries_skipped']} skipped" if summary.get("queries_skipped") else "")
            + (f", {summary['queries_failed']} failed" if summary.get("queries_failed") else "") + ".", ""]
    empty = []
    for section in report.get("sections") or []:
        if not section["row_count"]:
            empty.append(section)
            continue
        out += [f"## {section['title']}", "", f"`{section['name']}`: {section['description']}", ""]
        out += _table(section["columns"], section["rows"][:MAX_MD_ROWS])
        if section["row_count"] > MAX_MD_ROWS or section["truncated"]:
            out += ["", f"First {min(MAX_MD_ROWS, len(section['rows']))} of {plural(section['row_count'], 'row')}"
                    + (f"; all rows: {section['result_uri']}" if section.get("result_uri") else "") + "."]
        if section.get("sql"):
            out += ["", "<details><summary>Athena SQL</summary>", "", "```sql", section["sql"].rstrip(), "```", "",
                    "</details>"]
        out.append("")
    if empty:
        out += ["## Queries with no rows", "", ", ".join(f"`{s['name']}`" for s in empty), ""]
    if report.get("skipped"):
        out += ["## Skipped queries", ""]
        out += [f"- `{name}`: needs {', '.join(missing)}" for name, missing in report["skipped"].items()]
        out.append("")
    if report.get("errors"):
        out += ["## Failed queries", ""]
        out += [f"- `{name}`: {md_escape(text)}" for name, text in report["errors"].items()]
        out.append("")
    teardown = report.get("teardown")
    if not teardown and not (report.get("context") or {}).get("execution_arn"):
        return "\n".join(out).rstrip() + "\n"  # not a workflow run (tapcase analyze): nothing was torn down
    out += ["## Teardown", ""]
    if teardown:
        left = {k: n for k, n in (teardown.get("leftovers") or {}).items() if n}
        deleted = {k: n for k, n in (teardown.get("deleted") or {}).items() if n}
        out.append(f"Deleted: {cell('', deleted) or 'nothing'}. Left over: {cell('', left) if left else 'nothing'}.")
    else:
        out.append("Teardown runs after this report: the execution's output (and the CLI) has its record.")
    return "\n".join(out).rstrip() + "\n"
