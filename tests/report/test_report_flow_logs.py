"""The report's flow-log part (pure): off, empty and found collapse or expand as documented."""

from __future__ import annotations

from tapcase_workflow.logic.report import build_report, render_html, render_markdown
from tapcase_workflow.logic.report_flowlogs import OFF_LINE

WINDOW = {"start": 1717419360, "end": 1717422960, "anchor": "finding"}
COLUMNS = ["peer", "directions", "service_ports", "protocols", "records", "packets_out", "packets_in", "bytes_out",
           "bytes_in", "accepted", "rejected", "first_start", "last_end"]


def _report(context, rows=None, errors=None):
    queries = {} if rows is None else {"flow_log_peers": {"columns": COLUMNS, "rows": rows}}
    return build_report({"queries": queries}, investigation_id="gd-fl-1", context=context, errors=errors,
                        suspect_ips=["10.0.1.5"])


def test_flow_logs_off_is_one_line_and_nothing_fails():
    report = _report({"window": {}})
    assert report["flow_logs"] == {"status": "off", "line": OFF_LINE, "window": None, "top_peers": [],
                                   "timeline": [], "hints": []}
    md = render_markdown(report)
    section = md[md.index("## Before the capture"):].split("\n## ")[0]
    assert section.strip().splitlines() == ["## Before the capture (VPC Flow Logs)", "", OFF_LINE]
    assert OFF_LINE in render_html(report)


def test_no_records_is_one_line():
    report = _report({"flow_logs": WINDOW}, rows=[])
    assert report["flow_logs"]["status"] == "empty"
    assert "no record of the suspect's ENIs from 2024-06-03T12:56" in report["flow_logs"]["line"]
    failed = _report({"flow_logs": WINDOW}, errors={"flow_log_peers": "HIVE_BAD_DATA: x"})
    assert failed["flow_logs"]["status"] == "failed" and "HIVE_BAD_DATA" in failed["flow_logs"]["line"]


def test_a_flow_log_peer_named_by_the_finding_gets_a_hint_and_precedes_the_window():
    context = {"flow_logs": WINDOW, "finding": {"type": "Backdoor:EC2/C&CActivity.B", "remote_ips": ["198.51.100.23"]},
               "window": {"start": "2024-06-03T14:00:00Z", "end": "2024-06-03T14:10:00Z"}}
    rows = [["198.51.100.23", "inbound,outbound", [443], [6], 12, 40, 38, 5000, 90000, 12, 0, 1717420000, 1717422000],
            ["203.0.113.9", "inbound", [22], [6], 3, 3, 0, 180, 0, 0, 3, 1717421000, 1717421060]]
    report = _report(context, rows)
    flow = report["flow_logs"]
    assert flow["status"] == "found" and [p["peer"] for p in flow["top_peers"]] == ["198.51.100.23", "203.0.113.9"]
    assert [h["peer"] for h in flow["hints"]] == ["198.51.100.23"]
    assert "named by the finding" in flow["hints"][0]["text"]
    before = [t for t in report["timeline"] if t.get("phase") == "before_capture"]
    assert report["timeline"][: len(before)] == before  # before the capture comes first
    assert before[-1]["what"] == "GuardDuty last saw the activity (the finding)"
    assert "3 rejected" in flow["line"]
