"""The report's flow-log context (pure): what the VPC Flow Logs say the suspect's ENIs did in the
hour before the finding (or the capture), from the ``flow_log_peers`` query.

:func:`flow_log_section` gives the report's ``flow_logs`` part: ``status`` (``found``, ``empty``,
``off``, ``failed``), one ``line`` saying what it is, the ``window``, the ``top_peers``, the
``timeline`` entries before the capture, and ``hints`` where a flow-log peer is also an indicator
of the capture or the finding. Off (no ``FlowLogsBucket``), empty or failed collapse into the line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tapcase_workflow.logic.report_data import as_list, human_bytes, integer, iso_time, number, plural, records

QUERY = "flow_log_peers"
TOP_PEERS = 10
TIMELINE_PEERS = 8
OFF_LINE = ("Flow-log context: off (the stack has no FlowLogsBucket, so nothing before the capture was read).")


def _peer(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "peer": str(row.get("peer")),
        "directions": str(row.get("directions") or ""),
        "service_ports": [integer(p) for p in as_list(row.get("service_ports"))],
        "protocols": [integer(p) for p in as_list(row.get("protocols"))],
        "records": integer(row.get("records")),
        "packets_out": integer(row.get("packets_out")),
        "packets_in": integer(row.get("packets_in")),
        "bytes_out": integer(row.get("bytes_out")),
        "bytes_in": integer(row.get("bytes_in")),
        "accepted": integer(row.get("accepted")),
        "rejected": integer(row.get("rejected")),
        "first": iso_time(number(row.get("first_start"))),
        "last": iso_time(number(row.get("last_end"))),
        "first_ts": number(row.get("first_start")),
    }


def window_text(window: Mapping[str, Any]) -> str:
    anchor = "GuardDuty last saw the activity" if window.get("anchor") == "finding" else "the capture"
    return f"{iso_time(window.get('start'))} to {iso_time(window.get('end'))}, the hour before {anchor}"


def flow_log_section(
    queries: Mapping[str, Mapping[str, Any]],
    context: Mapping[str, Any],
    errors: Mapping[str, str],
    indicator_values: Mapping[str, Sequence[str]],
    finding_ips: Sequence[str] = (),
) -> dict[str, Any]:
    """The report's ``flow_logs`` part. ``indicator_values``: each indicator's value and where the
    capture saw it (the report's indicators); ``finding_ips``: the remote addresses the finding names."""
    window = context.get("flow_logs")
    if not isinstance(window, Mapping):
        return {"status": "off", "line": OFF_LINE, "window": None, "top_peers": [], "timeline": [], "hints": []}
    if QUERY in errors:
        line = f"Flow-log context: the query failed ({errors[QUERY]}); {window_text(window)}."
        return {"status": "failed", "line": line, "window": dict(window), "top_peers": [], "timeline": [], "hints": []}
    peers = [_peer(r) for r in records(queries.get(QUERY))]
    if not peers:
        line = f"Flow-log context: no record of the suspect's ENIs from {window_text(window)}."
        return {"status": "empty", "line": line, "window": dict(window), "top_peers": [], "timeline": [], "hints": []}
    rejected = sum(p["rejected"] for p in peers)
    line = (f"Flow-log context: {plural(len(peers), 'peer')} of the suspect's ENIs from {window_text(window)}"
            f" ({plural(sum(p['records'] for p in peers), 'record')}, {rejected} rejected).")
    hints = []
    for peer in peers:
        seen = list(indicator_values.get(peer["peer"], []))
        if peer["peer"] in finding_ips:
            seen.append("named by the finding")
        if seen:
            hints.append({
                "peer": peer["peer"], "seen": seen,
                "text": (f"{peer['peer']} was already a peer before the capture: {plural(peer['records'], 'flow-log record')}"
                         f" from {peer['first']} (ports {','.join(map(str, peer['service_ports'])) or '-'}, "
                         f"{human_bytes(peer['bytes_out'])} out, {human_bytes(peer['bytes_in'])} in); "
                         f"also {'; '.join(seen)}"),
            })  # fmt: skip
    timeline = [{"ts": number(window.get("start")), "time": iso_time(window.get("start")), "phase": "before_capture",
                 "what": "flow-log context starts (VPC Flow Logs of the suspect's ENIs)"}]
    for peer in sorted(peers[:TIMELINE_PEERS], key=lambda p: p["first_ts"]):
        actions = f"{peer['accepted']} accepted" + (f", {peer['rejected']} rejected" if peer["rejected"] else "")
        timeline.append({
            "ts": peer["first_ts"], "time": peer["first"], "phase": "before_capture",
            "what": (f"flow logs: first record with {peer['peer']} ({peer['directions']}, ports {_ports_of(peer)}; "
                     f"{plural(peer['records'], 'record')}, {actions})"),
        })  # fmt: skip
    if window.get("anchor") == "finding":
        timeline.append({"ts": number(window.get("end")), "time": iso_time(window.get("end")), "phase": "before_capture",
                         "what": "GuardDuty last saw the activity (the finding)"})
    top = [{k: v for k, v in p.items() if k != "first_ts"} for p in peers[:TOP_PEERS]]
    return {"status": "found", "line": line, "window": dict(window), "top_peers": top,
            "timeline": sorted(timeline, key=lambda t: t["ts"]), "hints": hints}


def _ports_of(peer: Mapping[str, Any]) -> str:
    return ",".join(str(p) for p in peer.get("service_ports") or []) or "-"


def markdown_lines(section: Mapping[str, Any] | None, escape: Any) -> list[str]:
    """The Markdown of the flow-log part: one line when off/empty/failed, else the peers table."""
    if not section:
        return []
    out = ["## Before the capture (VPC Flow Logs)", "", escape(str(section["line"])), ""]
    if section.get("status") != "found":
        return out
    out += [f"- **Hint**: {escape(h['text'])}" for h in section.get("hints") or []]
    if section.get("hints"):
        out.append("")
    out += ["| peer | directions | ports | records | bytes out | bytes in | accepted | rejected | first | last |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    out += [f"| {escape(p['peer'])} | {escape(p['directions'])} | {_ports_of(p)} | {p['records']} | "
            f"{human_bytes(p['bytes_out'])} | {human_bytes(p['bytes_in'])} | {p['accepted']} | {p['rejected']} | "
            f"{p['first']} | {p['last']} |" for p in section.get("top_peers") or []]
    return out + [""]


__all__ = ["OFF_LINE", "QUERY", "flow_log_section", "markdown_lines"]
