"""The report's HTML page escapes what the traffic put in it."""

from __future__ import annotations

from tapcase_workflow.logic.report import build_report, render_html


def test_page_escapes_hostile_values():
    results = {"queries": {"rare_user_agents": {"columns": ["user_agent", "clients"],
                                                "rows": [["<script>alert(1)</script>", 1]]}}}
    report = build_report(results, investigation_id="gd-abc", context={"instance": {"id": "i-1<b>"}})
    page = render_html(report)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "i-1&lt;b&gt;" in page and page.startswith("<!doctype html>")
