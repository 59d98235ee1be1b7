"""The report's coverage part (pure): what the sensor fleet already kept of a covered instance
before the finding (coverage mode's rolling logs), from the ``coverage_before`` query.

:func:`coverage_section` gives the report's ``coverage`` part: ``status`` (``found``, ``empty``,
``failed``; None when the instance was not covered), one ``line``, the ``window``, the
``top_peers`` and the ``timeline`` entries before the capture. :func:`markdown_lines` and
:func:`html_parts` render it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape
from typing import Any

from tapcase_workflow.logic.report_data import as_list, human_bytes, integer, iso_time, number, plural, records
from tapcase_workflow.logic.report_flowlogs import window_text

QUERY = "coverage_before"
TOP_PEERS = 10
TIMELINE_PEERS = 8
TITLE = "Before the finding (coverage: the sensor fleet's rolling logs)"


def _peer(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "peer": str(row.get("peer")),
        "directions": str(row.get("directions") or ""),
        "peer_ports": [integer(p) for p in as_list(row.get("peer_ports")) if p is not None],
        "app_protos": str(row.get("app_protos") or ""),
        "flows": integer(row.get("flows")),
        "bytes_out": integer(row.get("bytes_out")),
        "bytes_in": integer(row.get("bytes_in")),
        "names": str(row.get("names") or ""),
        "alerts": integer(row.get("alerts")),
        "signatures": str(row.get("signatures") or ""),
        "first": iso_time(number(row.get("first_seen"))),
        "last": iso_time(number(row.get("last_seen"))),
        "first_ts": number(row.get("first_seen")),
    }


def coverage_section(queries: Mapping[str, Mapping[str, Any]], context: Mapping[str, Any],
                     errors: Mapping[str, str]) -> dict[str, Any] | None:
    """The report's ``coverage`` part; None when the instance was not covered."""
    window = context.get("coverage")
    if not isinstance(window, Mapping):
        return None
    empty: dict[str, Any] = {"window": dict(window), "top_peers": [], "timeline": []}
    if QUERY in errors:
        return {"status": "failed", "line": f"Coverage: the query of the fleet's rolling logs failed "
                f"({errors[QUERY]}); {window_text(window)}.", **empty}
    peers = [_peer(r) for r in records(queries.get(QUERY))]
    if not peers:
        return {"status": "empty", "line": "Coverage: the instance was covered, but the fleet's rolling logs hold "
                f"nothing of it from {window_text(window)}.", **empty}
    alerts = sum(p["alerts"] for p in peers)
    line = (f"Coverage: the sensor fleet already kept the suspect's traffic before the finding: "
            f"{plural(len(peers), 'peer')}, {plural(sum(p['flows'] for p in peers), 'flow')}, "
            f"{plural(alerts, 'Suricata alert')} from {window_text(window)}.")
    timeline = [{"ts": number(window.get("start")), "time": iso_time(window.get("start")), "phase": "before_capture",
                 "what": "coverage: the fleet's rolling logs of the suspect start"}]
    for peer in sorted(peers[:TIMELINE_PEERS], key=lambda p: p["first_ts"]):
        about = ", ".join(x for x in (peer["app_protos"], peer["names"]) if x)
        alert_text = f"; {plural(peer['alerts'], 'alert')}: {peer['signatures']}" if peer["alerts"] else ""
        timeline.append({"ts": peer["first_ts"], "time": peer["first"], "phase": "before_capture",
                         "what": (f"coverage: first seen with {peer['peer']} ({peer['directions']}"
                                  f"{', ' + about if about else ''}; {plural(peer['flows'], 'flow')}{alert_text})")})
    top = [{k: v for k, v in p.items() if k != "first_ts"} for p in peers[:TOP_PEERS]]
    return {"status": "found", "line": line, "window": dict(window), "top_peers": top,
            "timeline": sorted(timeline, key=lambda t: t["ts"])}


_COLUMNS = ["peer", "directions", "ports", "protocols", "flows", "bytes out", "bytes in", "names", "alerts", "first",
            "last"]


def _row(p: Mapping[str, Any]) -> list[Any]:
    return [p["peer"], p["directions"], ",".join(map(str, p["peer_ports"])) or "-", p["app_protos"] or "-",
            p["flows"], human_bytes(p["bytes_out"]), human_bytes(p["bytes_in"]), p["names"] or "-", p["alerts"],
            p["first"], p["last"]]


def markdown_lines(section: Mapping[str, Any] | None, md_escape: Callable[[str], str]) -> list[str]:
    if not section:
        return []
    out = [f"## {TITLE}", "", md_escape(str(section["line"])), ""]
    if section.get("status") != "found":
        return out
    out += ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    out += ["| " + " | ".join(md_escape(str(v)) for v in _row(p)) + " |" for p in section.get("top_peers") or []]
    return out + [""]


def html_parts(section: Mapping[str, Any] | None) -> list[str]:
    if not section:
        return []
    parts = [f'<section id="coverage"><h2>{escape(TITLE)}</h2><p>{escape(str(section["line"]))}</p>']
    if section.get("status") == "found":
        head = "".join(f"<th>{escape(c)}</th>" for c in _COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in _row(p)) + "</tr>"
                       for p in section.get("top_peers") or [])
        parts.append(f'<table class="coverage-peers"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')
    return ["".join(parts) + "</section>"]


__all__ = ["QUERY", "coverage_section", "html_parts", "markdown_lines"]
