"""The report as one self-contained HTML page (pure): styles, charts (inline SVG) and a small script
inline, nothing fetched. Verdict and highlights first, then timeline, charts, indicators (with
CSV and STIX downloads inside the page), capture facts, ATT&CK, next steps, the query tables (wide
ones scroll, every one with its Athena SQL and a link to its full result) and the teardown record.
Everything the traffic put in it is escaped."""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any
from urllib.parse import quote

from tapcase_workflow.logic import report_charts, report_coverage
from tapcase_workflow.logic.report_data import account_text, cell, human_bytes, plural

MAX_PAGE_ROWS = 50

STYLE = """
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg2:#f6f8fa;--red:#b42318;--amber:#9a6700;--green:#1a7f37}
*{box-sizing:border-box}body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);
margin:0 auto;max-width:80em;padding:1em 1.5em 4em}h1{font-size:1.45em;margin:.3em 0}
h2{font-size:1.15em;margin:1.8em 0 .5em;border-bottom:1px solid var(--line);padding-bottom:.2em}
h3{font-size:1em;margin:1em 0 .3em}.muted{color:var(--muted)}code,pre{font:12px ui-monospace,Menlo,monospace}
code{background:var(--bg2);padding:0 3px;border-radius:3px}pre{background:var(--bg2);padding:.6em;overflow-x:auto;
white-space:pre-wrap;word-break:break-word}.verdict{border:2px solid var(--line);border-radius:8px;padding:.8em 1em;
margin:1em 0}.verdict.succeeded{border-color:var(--green)}.verdict.no_traffic,.verdict.incomplete_capture{
border-color:var(--red);background:#fff1f0}.warning{color:var(--red);font-weight:700;font-size:1.05em}
.tier{display:inline-block;min-width:7.5em;font-size:11px;border-radius:10px;padding:0 .5em;margin-right:.4em;
text-align:center;color:#fff}.tier1{background:var(--red)}.tier2{background:var(--amber)}.tier3{background:#57606a}
ol.highlights li{margin:.35em 0}.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;
font-size:12px;margin:.4em 0}td,th{border:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top;
max-width:40em;min-width:3.5em;overflow-wrap:anywhere}th{background:var(--bg2);position:sticky;top:0}.charts{display:flex;
flex-wrap:wrap;gap:1em}figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:.5em;max-width:100%;
overflow-x:auto}figcaption{font-weight:600;margin-bottom:.3em}.box{border:1px solid var(--amber);
background:#fff8c5;border-radius:8px;padding:.6em 1em}details{margin:.5em 0}summary{cursor:pointer}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dl.facts dt{font-weight:600}
dl.facts dd{margin:0;overflow-wrap:anywhere}input.filter{margin:.3em 0;padding:2px 6px;width:20em;max-width:100%}
"""

SCRIPT = """
(function () {
  document.querySelectorAll('input.filter').forEach(function (input) {
    var table = document.getElementById(input.getAttribute('data-table'));
    if (!table) { return; }
    input.addEventListener('input', function () {
      var needle = input.value.toLowerCase();
      table.querySelectorAll('tbody tr').forEach(function (row) {
        row.style.display = row.textContent.toLowerCase().indexOf(needle) === -1 ? 'none' : '';
      });
    });
  });
})();
"""


def console_link(uri: str | None) -> str:
    """An ``s3://bucket/key`` as a link to the object in the S3 console (the URI shown)."""
    if not uri:
        return ""
    if not uri.startswith("s3://"):
        return escape(uri)
    bucket, _, key = uri[5:].partition("/")
    href = f"https://s3.console.aws.amazon.com/s3/object/{quote(bucket)}?prefix={quote(key)}"
    return f'<a href="{escape(href)}" title="open in the S3 console">{escape(uri)}</a>'


def _table(table_id: str, columns: list[str], rows: list[list[Any]], filterable: bool = False) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell(c, v))}</td>" for c, v in zip(columns, row, strict=False))
                   + "</tr>" for row in rows)
    box = (f'<input class="filter" type="search" placeholder="filter rows" data-table="{table_id}" '
           f'aria-label="filter the rows of this table">' if filterable and len(rows) > 5 else "")
    return f'{box}<div class="scroll"><table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _data_link(name: str, body: str, media: str, label: str) -> str:
    href = f"data:{media};charset=utf-8," + quote(body)
    return f'<a download="{escape(name)}" href="{escape(href)}">{escape(label)}</a>'


def _verdict(report: Mapping[str, Any]) -> list[str]:
    v = report.get("verdict") or {}
    summary = report.get("summary") or {}
    parts = [f'<section id="verdict" class="verdict {escape(str(v.get("outcome")))}">',
             f"<div><strong>Outcome: {escape(str(v.get('outcome')))}</strong> \u00b7 {escape(str(v.get('assessment')))}"
             f"</div><div>{escape(str(v.get('headline') or ''))}</div>"]
    parts += [f'<p class="warning">{escape(w)}</p>' for w in v.get("warnings") or []]
    notes = report.get("notes") or {}
    if notes:
        parts.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes.values()) + "</ul>")
    parts.append(f'<div class="muted">{summary.get("highlights", 0)} highlights, {summary.get("alerts", 0)} alerts, '
                 f'{summary.get("indicators", 0)} indicators; {summary.get("queries_run", 0)} queries ran, '
                 f'{summary.get("queries_failed", 0)} failed, {summary.get("queries_skipped", 0)} skipped.</div>')
    return parts + ["</section>"]


def _highlights(report: Mapping[str, Any]) -> list[str]:
    items = report.get("highlights") or []
    if not items:
        return ['<section id="highlights"><h2>Highlights</h2><p>Nothing stood out in the queries that ran.</p></section>']
    rows = [f'<li><span class="tier tier{h["tier"]}">{escape(h["evidence_kind"])}</span>{escape(h["text"])} '
            f'<a class="muted" href="#q-{escape(h["query"])}">{escape(h["query"])}</a></li>' for h in items]
    return ['<section id="highlights"><h2>Highlights</h2><ol class="highlights">', *rows, "</ol></section>"]


def _charts(report: Mapping[str, Any]) -> list[str]:
    charts = report.get("charts") or {}
    connections = charts.get("connections") or []
    dns = charts.get("dns") or []
    drawn = [
        ("Connections per minute", report_charts.time_series(
            "Connections per minute", [c[0] for c in connections], [("connections", [c[1] for c in connections])])),
        ("DNS activity per minute", report_charts.time_series(
            "DNS activity per minute", [d[0] for d in dns],
            [("lookups", [d[1] for d in dns]), ("NXDOMAIN", [d[2] for d in dns])])),
        ("Top talkers (bytes)", report_charts.bars("Top talkers", [(t[0], t[1]) for t in charts.get("top_talkers") or []],
                                                    as_bytes=True)),
        ("Alerts by signature", report_charts.bars("Alerts by signature",
                                                    [(a[0], a[1]) for a in charts.get("alerts") or []])),
    ]
    figures = [f"<figure><figcaption>{escape(t)}</figcaption>{svg}</figure>" for t, svg in drawn if svg]
    empty = [t for t, svg in drawn if not svg]
    out = ['<section id="charts"><h2>Charts</h2>']
    if figures:
        out += ['<div class="charts">', *figures, "</div>"]
    if empty:
        out.append(f'<p class="muted">No data to draw: {escape(", ".join(empty))}.</p>')
    return out + ["</section>"]


def _indicators(report: Mapping[str, Any], csv_text: str | None, stix_text: str | None) -> list[str]:
    items = report.get("indicators") or []
    out = ['<section id="indicators"><h2>Indicators</h2>']
    if not items:
        return out + ["<p>No indicator: nothing to block from this capture.</p></section>"]
    links = []
    if csv_text is not None:
        links.append(_data_link("indicators.csv", csv_text, "text/csv", "CSV"))
    if stix_text is not None:
        links.append(_data_link("indicators.stix.json", stix_text, "application/json", "STIX 2.1 bundle"))
    joined = " \u00b7 ".join(links)
    out.append(f"<p>{plural(len(items), 'indicator')}, each with where it was seen. Download: {joined}"
               " (also beside this page as indicators.csv and indicators.stix.json).</p>")
    out.append(_table("indicator-table", ["type", "value", "first seen", "last seen", "seen"],
                      [[i["type"], i["value"], i.get("first_seen"), i.get("last_seen"), " | ".join(i["seen"])]
                       for i in items], filterable=True))
    return out + ["</section>"]


def _facts(report: Mapping[str, Any]) -> list[str]:
    cap = report.get("capture") or {}
    ctx = report.get("context") or {}
    packets = cap.get("packets") or {}
    window = cap.get("window") or {}
    facts: list[tuple[str, str]] = []
    if cap.get("account"):
        facts.append(("Account", account_text(cap["account"])))
    if cap.get("sessions"):
        facts.append(("Mirrored ENIs", ", ".join(
            f"{s.get('eni')} (session {s.get('session_number')} {s.get('session_id')}, VNI {s.get('vni')})"
            for s in cap["sessions"])))
    if cap.get("vni") is not None:
        facts.append(("VNI", str(cap["vni"])))
    if cap.get("target"):
        facts.append(("Mirror target", str(cap["target"])))
    if window.get("requested_seconds") or window.get("start"):
        facts.append(("Window", f"{window.get('requested_seconds')} s requested; packets from {window.get('start')} "
                                f"to {window.get('end')}"))
    if packets:
        facts.append(("Packets", f"{packets.get('seen')} analysed, {packets.get('dropped')} dropped"
                      + (f", {human_bytes(packets['bytes'])}" if isinstance(packets.get("bytes"), (int, float)) else "")))
    if cap.get("engines"):
        facts.append(("Engines", ", ".join(f"{k} {v}" for k, v in cap["engines"].items() if v)))
    rules = "unknown (Suricata did not run)" if cap.get("rules_loaded") is None else (
        f"{cap['rules_loaded']:,} loaded, {cap.get('rules_failed') or 0} failed")
    facts.append(("Suricata rules", rules))
    if cap.get("zeek_skipped_reason"):
        facts.append(("Zeek", f"skipped: {cap['zeek_skipped_reason']}"))
    for key in ("trigger", "reason", "execution_arn", "source", "logs", "log_files"):
        if ctx.get(key):
            facts.append((key.replace("_", " ").capitalize(), cell("", ctx[key])))
    for warning in ctx.get("warnings") or []:
        facts.append(("Warning", str(warning)))
    out = ['<section id="capture"><h2>Capture facts</h2><dl class="facts">']
    out += [f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts]
    if cap.get("manifest_uri"):
        out.append(f"<dt>Manifest</dt><dd>{console_link(cap['manifest_uri'])}</dd>")
    out.append("</dl>")
    files = cap.get("files") or []
    manifest = str(cap.get("manifest_uri") or "")
    bucket = manifest[5:].split("/", 1)[0] if manifest.startswith("s3://") else ""

    def file_cell(key: str) -> str:
        return console_link(f"s3://{bucket}/{key}") if bucket else escape(key)

    if files:
        rows = "".join(f"<tr><td>{file_cell(str(f['key']))}</td><td>{f.get('bytes')}</td>"
                       f"<td><code>{escape(str(f.get('sha256')))}</code></td></tr>" for f in files)
        out.append('<h3>Evidence files</h3><div class="scroll"><table><thead><tr><th>file</th><th>bytes</th>'
                   f"<th>sha256</th></tr></thead><tbody>{rows}</tbody></table></div>")
    pcap = ctx.get("pcap") or {}
    if pcap:
        if pcap.get("cap_reached"):
            out.append(f"<p><strong>Packet capture cap of {escape(str(pcap.get('max_mb')))} MiB reached:</strong> "
                       f"{escape(str(pcap.get('note')))}</p>")
        else:
            out.append(f"<p>{escape(str(pcap.get('note') or ''))}</p>")
        rows = "".join(f"<tr><td>{console_link(f.get('uri'))}</td><td>{f.get('packets')}</td><td>{escape(str(f.get('first') or ''))}"
                       f"</td><td>{escape(str(f.get('last') or ''))}</td><td>{f.get('bytes')}</td>"
                       f"<td><code>{escape(str(f.get('sha256')))}</code></td></tr>" for f in pcap.get("files") or [])
        if rows:
            out.append('<h3>Packets (pcap evidence)</h3><div class="scroll"><table><thead><tr><th>file</th><th>packets'
                       "</th><th>first</th><th>last</th><th>bytes</th><th>sha256</th></tr></thead>"
                       f"<tbody>{rows}</tbody></table></div>")
    return out + ["</section>"]


def _queries(report: Mapping[str, Any]) -> list[str]:
    out = ['<section id="queries"><h2>Queries</h2>']
    empty = []
    for section in report.get("sections") or []:
        if not section["row_count"]:
            empty.append(section["name"])
            continue
        name = escape(section["name"])
        out.append(f'<details id="q-{name}" open><summary><strong>{escape(section["title"])}</strong> '
                   f'<span class="muted">{name}: {plural(section["row_count"], "row")}</span></summary>')
        out.append(f"<p class=\"muted\">{escape(section['description'])}</p>")
        out.append(_table(f"t-{name}", section["columns"], section["rows"][:MAX_PAGE_ROWS], filterable=True))
        if section["row_count"] > MAX_PAGE_ROWS or section["truncated"]:
            out.append(f'<p class="muted">First {min(MAX_PAGE_ROWS, len(section["rows"]))} of '
                       f'{plural(section["row_count"], "row")}.</p>')
        if section.get("result_uri"):
            out.append(f"<p>All rows: {console_link(section['result_uri'])}</p>")
        if section.get("sql"):
            out.append(f"<details><summary>Athena SQL (re-run it in the Athena console)</summary><pre>"
                       f"{escape(section['sql'])}</pre></details>")
        out.append("</details>")
    for section in report.get("sections") or []:
        if not section["row_count"]:
            out.append(f'<span id="q-{escape(section["name"])}"></span>')
    if empty:
        out.append(f'<p class="muted">No rows: {escape(", ".join(empty))}.</p>')
    if report.get("skipped"):
        out.append("<p class=\"muted\">Skipped (no finding values for them): " + escape(", ".join(
            f"{n} (needs {', '.join(m)})" for n, m in report["skipped"].items())) + ".</p>")
    if report.get("errors"):
        out.append('<h3>Failed queries</h3><ul>' + "".join(
            f"<li><code>{escape(n)}</code>: {escape(t)}</li>" for n, t in report["errors"].items()) + "</ul>")
    return out + ["</section>"]


def _flow_logs(section: Mapping[str, Any] | None) -> list[str]:
    """Before the capture: one line when off/empty/failed, else hints and the top peers."""
    if not section:
        return []
    parts = [f'<section id="flow-logs"><h2>Before the capture (VPC Flow Logs)</h2><p>{escape(str(section["line"]))}</p>']
    if section.get("status") == "found":
        if section.get("hints"):
            parts.append("<ul>" + "".join(f"<li>{escape(h['text'])}</li>" for h in section["hints"]) + "</ul>")
        columns = ["peer", "directions", "ports", "records", "bytes out", "bytes in", "accepted", "rejected", "first",
                   "last"]
        rows = [[p["peer"], p["directions"], ",".join(map(str, p["service_ports"])), p["records"],
                 human_bytes(p["bytes_out"]), human_bytes(p["bytes_in"]), p["accepted"], p["rejected"], p["first"],
                 p["last"]] for p in section.get("top_peers") or []]
        parts.append(_table("flow-log-peers", columns, rows))
    return ["".join(parts) + "</section>"]


def render_html(report: Mapping[str, Any], *, csv_text: str | None = None, stix_text: str | None = None) -> str:
    """The page; ``csv_text``/``stix_text``: the indicator files, offered as downloads inside it."""
    title = str(report.get("title") or report["investigation_id"])
    summary = report.get("summary") or {}
    rules = summary.get("rules_loaded")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<header><h1>{escape(title)}</h1><p class=\"muted\">tapcase investigation <code>{escape(str(report['investigation_id']))}"
        f"</code> \u00b7 generated {escape(str(report.get('generated_at')))} \u00b7 Suricata rules loaded: "
        f"{escape(f'{rules:,}' if isinstance(rules, int) else 'unknown')}</p></header>",
        *_verdict(report),
        *_highlights(report),
    ]
    timeline = report.get("timeline") or []
    if timeline:
        parts.append('<section id="timeline"><h2>Timeline</h2>' + _table(
            "timeline-table", ["time", "what"], [[t["time"], t["what"]] for t in timeline]) + "</section>")
    else:
        parts.append('<section id="timeline"><h2>Timeline</h2><p class="muted">No timed event.</p></section>')
    parts += report_coverage.html_parts(report.get("coverage"))
    parts += _flow_logs(report.get("flow_logs"))
    parts += _charts(report)
    parts += _indicators(report, csv_text, stix_text)
    parts += _facts(report)
    attack = report.get("attack") or []
    if attack:
        parts.append('<section id="attack"><h2>MITRE ATT&amp;CK</h2><ul>' + "".join(
            f'<li><a href="{escape(a["url"])}">{escape(a["id"])}</a> {escape(a["name"])} '
            f'<span class="muted">({escape(a["sources"])})</span></li>' for a in attack) + "</ul></section>")
    else:
        parts.append('<section id="attack"><h2>MITRE ATT&amp;CK</h2><p class="muted">No technique.</p></section>')
    parts.append('<section id="next-steps"><h2>Next steps</h2><div class="box"><ul>' + "".join(
        f"<li>{escape(s)}</li>" for s in report.get("next_steps") or []) + "</ul></div></section>")
    parts += _queries(report)
    teardown = report.get("teardown")
    if teardown:
        left = {k: n for k, n in (teardown.get("leftovers") or {}).items() if n}
        deleted = {k: n for k, n in (teardown.get("deleted") or {}).items() if n}
        parts.append('<section id="teardown"><h2>Teardown</h2><p>Deleted: ' + escape(cell("", deleted) or "nothing")
                     + ". Left over: " + escape(cell("", left) if left else "nothing") + ".</p></section>")
    elif (report.get("context") or {}).get("execution_arn"):
        parts.append('<section id="teardown"><h2>Teardown</h2><p class="muted">Teardown runs after this report: the '
                     "execution's output has its record.</p></section>")
    data = json.dumps(summary).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    parts.append(f'<script type="application/json" id="report-summary">{data}</script>')
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"
