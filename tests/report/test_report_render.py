"""The report says what is missing and why, and its indicator files are valid.

Acceptance (issue 12): a zero-packet investigation ends with the no-traffic outcome and says so;
reports with no Zeek logs, no alerts, or a failed query still render and say so."""

from __future__ import annotations

import csv
import io
import json

from tapcase_contract import outcomes
from tapcase_workflow.logic import indicators
from tapcase_workflow.logic.publication import finding_note, report_files, summary, warnings
from tapcase_workflow.logic.report import build_report, render_html, render_markdown


def test_zero_packets_is_the_no_traffic_outcome_never_success():
    context = {"packets": {"seen": 0, "dropped": 0}, "window": {"requested_seconds": 600},
               "instance": {"id": "i-0123456789abcdef0"}, "execution_arn": "arn:aws:states:::execution:x:y"}
    report = build_report({"queries": {"suricata_alert_summary": {"columns": ["signature", "alerts"], "rows": []}}},
                          investigation_id="gd-zero", context=context)
    verdict = report["verdict"]
    assert verdict["outcome"] == outcomes.NO_TRAFFIC and verdict["assessment"] == outcomes.NOT_ASSESSED
    assert verdict["warnings"][0].startswith("NO TRAFFIC: the sensor received no mirrored packet during the 600-second")
    assert "NOT evidence that the instance is clean" in verdict["warnings"][0]
    assert report["summary"]["outcome"] == "no_traffic"
    md, page = render_markdown(report), render_html(report)
    assert "**Outcome: no_traffic**" in md and "> **NO TRAFFIC" in md
    assert 'class="verdict no_traffic"' in page and '<p class="warning">NO TRAFFIC' in page
    assert report["next_steps"][0].startswith("Nothing was captured")
    # the execution output's warnings put the verdict's first; the SNS subject flags it
    assert warnings(["a plan warning"], report)[0].startswith("NO TRAFFIC")
    note = summary(investigation_id="gd-zero", instance_id="i-0123456789abcdef0", reason="test", report=report,
                   report_uri="s3://b/r.json", page_uri="s3://b/r.html", page_link="https://signed", link_expires="x")
    assert note.subject.startswith("tapcase: [NO TRAFFIC] i-0123456789abcdef0")
    assert "!! NO TRAFFIC" in note.message and "Report page: https://signed" in note.message


def test_dropped_packets_beyond_half_are_an_incomplete_capture():
    report = build_report({"queries": {}}, investigation_id="gd-drop",
                          context={"packets": {"seen": 400, "dropped": 600}})
    assert report["verdict"]["outcome"] == outcomes.INCOMPLETE_CAPTURE
    assert "dropped 600 packets (60% of what reached it)" in report["verdict"]["warnings"][0]
    assert report["verdict"]["headline"].startswith("Incomplete capture.")


def test_no_zeek_no_alerts_and_a_failed_query_render_and_say_so():
    context = {"zeek_skipped_reason": "no `zeek` binary on PATH", "rules": {"loaded": 7, "failed": 0},
               "packets": {"seen": 10, "dropped": 0}}
    results = {"queries": {"suricata_alert_summary": {"columns": ["signature_id", "signature", "alerts"], "rows": []},
                           "top_talkers": {"columns": ["src", "dst", "total_bytes"], "rows": [["10.0.0.1", "1.2.3.4", 5]]}}}
    report = build_report(results, investigation_id="gd-partial", context=context,
                          errors={"beaconing": "Athena.InvalidRequestException: COLUMN_NOT_FOUND"})
    notes = report["notes"]
    assert notes["zeek"].startswith("No Zeek logs: no `zeek` binary on PATH")
    assert notes["alerts"] == "No Suricata alert fired (7 rules loaded)."
    assert notes["failed"].startswith("1 query failed (beaconing)")
    assert report["verdict"]["assessment"] == outcomes.NOTHING_STOOD_OUT
    md, page = render_markdown(report), render_html(report)
    for text in (notes["zeek"], notes["alerts"], "COLUMN_NOT_FOUND"):
        assert text in md
    assert "No rows: suricata_alert_summary." in page and "Failed queries" in page
    assert "Suricata rules loaded: 7" in page


def test_indicator_files_csv_and_a_valid_stix_21_bundle(tmp_path):
    from stix2validator import ValidationOptions, validate_string

    items = [
        {"type": "ipv4", "value": "198.51.100.53", "seen": ["DNS answer for c2.example"], "first_seen":
         "2024-06-03T14:00:05.533873Z", "last_seen": "2024-06-03T14:09:35.788730Z"},
        {"type": "domain", "value": "c2.example", "seen": ["Suricata alert sid 9100001"], "first_seen": None,
         "last_seen": None},
        {"type": "sha256", "value": "ab" * 32, "seen": ["update.exe"], "first_seen": None, "last_seen": None},
        {"type": "ja3", "value": "3fed133de60c35724739b913924b6c24", "seen": ["TLS client"], "first_seen": None,
         "last_seen": None},
        {"type": "user_agent", "value": "Mozilla/5.0 'quoted' \\ agent", "seen": ["HTTP"], "first_seen": None,
         "last_seen": None},
    ]
    rows = list(csv.DictReader(io.StringIO(indicators.to_csv(items))))
    assert [(r["type"], r["value"]) for r in rows] == [(i["type"], i["value"]) for i in items]
    assert rows[0]["seen"] == "DNS answer for c2.example"
    bundle = indicators.stix_bundle(items, investigation_id="gd-1", title="T", generated_at="2026-01-01T00:00:00Z")
    result = validate_string(bundle, ValidationOptions(version="2.1", strict=False))
    assert result.is_valid, [str(e) for e in result.errors]
    objects = json.loads(bundle)["objects"]
    patterns = {o["pattern"] for o in objects if o["type"] == "indicator"}
    assert "[ipv4-addr:value = '198.51.100.53']" in patterns and "[file:hashes.'SHA-256' = '" + "ab" * 32 + "']" in patterns
    assert next(o for o in objects if o["type"] == "report")["object_refs"]
    # the same investigation gives the same ids
    assert bundle == indicators.stix_bundle(items, investigation_id="gd-1", title="T", generated_at="2026-01-01T00:00:00Z")


def test_report_files_and_finding_note(stories):
    report = stories["c2-dns"].report
    files = {f.name: f for f in report_files("investigations/story-c2-dns", report)}
    assert set(files) == {"report.json", "report.md", "report.html", "indicators.csv", "indicators.stix.json"}
    assert all(f.key.startswith("investigations/story-c2-dns/report/") for f in files.values())
    assert "data:text/csv;charset=utf-8," in files["report.html"].body  # the downloads are inside the page
    note = finding_note(report, "s3://bucket/investigations/story-c2-dns/report/report.html", None)
    assert len(note) <= 512 and note.endswith("report.html") and "succeeded (engine_alerts)" in note


def test_story_report_has_every_part_of_the_page(stories):
    report = stories["c2-dns"].report
    assert report["title"] == "Backdoor:EC2/C&CActivity.B!DNS on web-app-1 (i-0a1b2c3d4e5f60718)"
    assert report["timeline"] and report["timeline"][0]["what"].startswith("capture starts")
    assert {a["id"] for a in report["attack"]} >= {"T1071.004", "T1568.002"}
    charts = report["charts"]
    assert charts["connections"] and charts["dns"] and charts["top_talkers"] and charts["alerts"]
    by_name = {s["name"]: s for s in report["sections"]}
    assert by_name["suricata_alert_summary"]["row_count"] == 2
    page = render_html(report, csv_text="type,value\n", stix_text="{}")
    for part in ('id="verdict"', 'id="highlights"', 'id="timeline"', 'id="charts"', 'id="indicators"',
                 'id="capture"', 'id="attack"', 'id="next-steps"', 'id="queries"', "<svg class=\"chart\""):
        assert part in page, part
    assert page.index('id="highlights"') < page.index('id="capture"') < page.index('id="queries"')


def test_the_account_the_instance_lives_in_is_in_the_capture_facts_and_a_members_in_the_title():
    """Member accounts (issue 14 item 1): a delegated administrator's analyst must see at once which
    account the instance is in; the title names it for a member account's instance."""
    finding = {"type": "Backdoor:EC2/C&CActivity.B!DNS"}
    member = build_report({"queries": {}}, investigation_id="gd-member", context={
        "packets": {"seen": 10, "dropped": 0}, "finding": finding,
        "instance": {"id": "i-0123456789abcdef0", "name": "web-1", "account": "210987654321", "member_account": True}})
    assert member["title"] == "Backdoor:EC2/C&CActivity.B!DNS on web-1 (i-0123456789abcdef0) in account 210987654321"
    assert member["capture"]["account"] == {"id": "210987654321", "member": True}
    assert "- **Account**: 210987654321 (member account)" in render_markdown(member)
    assert "210987654321 (member account)" in render_html(member)
    own = build_report({"queries": {}}, investigation_id="gd-own", context={
        "packets": {"seen": 10, "dropped": 0}, "finding": finding,
        "instance": {"id": "i-0123456789abcdef0", "account": "123456789012", "member_account": False}})
    assert own["title"] == "Backdoor:EC2/C&CActivity.B!DNS on i-0123456789abcdef0"
    assert "- **Account**: 123456789012 (the stack's own account)" in render_markdown(own)
    analysed = build_report({"queries": {}}, investigation_id="logs", context={"logs": "s3://b/k"})
    assert analysed["capture"]["account"] is None  # tapcase analyze: no account
