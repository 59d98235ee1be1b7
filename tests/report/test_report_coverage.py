"""The report's coverage part: what the fleet's rolling logs held before the finding."""

from __future__ import annotations

from html import escape

from tapcase_workflow.logic.report_coverage import coverage_section, html_parts, markdown_lines

WINDOW = {"start": 1717419360, "end": 1717422960, "anchor": "finding"}
ROW = {"peer": "203.0.113.50", "directions": "outbound", "peer_ports": [443], "app_protos": "tls", "flows": 12,
       "bytes_out": 4096, "bytes_in": 1024, "names": "cdn.example.net", "alerts": 1,
       "signatures": "ET MALWARE beacon", "first_seen": 1717419400.5, "last_seen": 1717422000.0}


def _result(*rows: dict) -> dict:
    columns = list(ROW)
    return {"columns": columns, "rows": [[r[c] for c in columns] for r in rows]}


def test_not_covered_is_no_part_at_all():
    assert coverage_section({}, {"coverage": None}, {}) is None
    assert markdown_lines(None, str) == [] and html_parts(None) == []


def test_empty_and_failed_say_so_in_one_line():
    empty = coverage_section({"coverage_before": _result()}, {"coverage": WINDOW}, {})
    assert empty is not None and empty["status"] == "empty" and "nothing of it" in empty["line"]
    failed = coverage_section({}, {"coverage": WINDOW}, {"coverage_before": "SYNTAX_ERROR"})
    assert failed is not None and failed["status"] == "failed" and "SYNTAX_ERROR" in failed["line"]
    assert markdown_lines(failed, str)[-2] == failed["line"]


def test_found_peers_open_the_timeline_before_the_capture():
    section = coverage_section({"coverage_before": _result(ROW)}, {"coverage": WINDOW}, {})
    assert section is not None and section["status"] == "found"
    assert "1 peer, 12 flows, 1 Suricata alert" in section["line"]
    (peer,) = section["top_peers"]
    assert peer["peer"] == "203.0.113.50" and peer["first"] == "2024-06-03T12:56:40.500000Z"
    whats = [t["what"] for t in section["timeline"]]
    assert whats[0].startswith("coverage: the fleet's rolling logs") and "ET MALWARE beacon" in whats[1]
    assert all(t["phase"] == "before_capture" for t in section["timeline"])
    assert "| 203.0.113.50 | outbound | 443 | tls | 12 |" in "\n".join(markdown_lines(section, str))
    assert escape("cdn.example.net") in html_parts(section)[0]
