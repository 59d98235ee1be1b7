"""What WriteReport stores and publishes (pure): the report's files, the SNS message and the note
on the finding."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tapcase_contract.layout import (
    INDICATORS_CSV,
    INDICATORS_STIX,
    REPORT_HTML,
    REPORT_JSON,
    REPORT_MARKDOWN,
    report_key,
)
from tapcase_workflow.logic import indicators
from tapcase_workflow.logic.report import render_html, render_markdown
from tapcase_workflow.models.payloads import QueryOutcome

#: Characters of an error's cause the report keeps per failed query.
MAX_ERROR_TEXT = 2000
#: Highlights the SNS message lists (the page has them all).
TOP_HIGHLIGHTS = 5


@dataclass(frozen=True)
class ReportFile:
    name: str
    key: str
    body: str
    content_type: str


@dataclass(frozen=True)
class Summary:
    subject: str
    message: str


def split_analysis(analysis: Sequence[QueryOutcome]) -> tuple[dict[str, str], dict[str, str]]:
    """The Analyze map's items: ``({name: query execution id}`` of the queries that succeeded,
    ``{name: "error: cause"}`` of the others)."""
    succeeded: dict[str, str] = {}
    errors: dict[str, str] = {}
    for item in analysis:
        if item.state == "SUCCEEDED" and item.query_execution_id:
            succeeded[item.name] = item.query_execution_id
        else:
            errors[item.name] = f"{item.error or item.state}: {item.cause or ''}"[:MAX_ERROR_TEXT]
    return succeeded, errors


def report_files(evidence_prefix: str, report: Mapping[str, Any]) -> list[ReportFile]:
    """The report as JSON (:data:`REPORT_JSON`), a Markdown page, the HTML page (:data:`REPORT_HTML`,
    the page the notification links, with the indicator files inside it) and the indicator list as
    CSV and a STIX 2.1 bundle, under ``<prefix>/report/``."""
    csv_text = indicators.to_csv(report["indicators"])
    stix_text = indicators.stix_bundle(report["indicators"], investigation_id=report["investigation_id"],
                                       title=report["title"], generated_at=report["generated_at"])
    bodies = [
        (REPORT_JSON, json.dumps(report, indent=2, default=str), "application/json"),
        (REPORT_MARKDOWN, render_markdown(report), "text/markdown; charset=utf-8"),
        (REPORT_HTML, render_html(report, csv_text=csv_text, stix_text=stix_text), "text/html; charset=utf-8"),
        (INDICATORS_CSV, csv_text, "text/csv; charset=utf-8"),
        (INDICATORS_STIX, stix_text, "application/stix+json;version=2.1"),
    ]
    return [ReportFile(name, report_key(evidence_prefix, name), body, kind) for name, body, kind in bodies]


def headline(report: Mapping[str, Any]) -> list[str]:
    """The highlights that are evidence, strongest first."""
    return [str(h["text"]) for h in report["highlights"] if h.get("evidence", True)]


def warnings(plan_warnings: Sequence[str], report: Mapping[str, Any]) -> list[str]:
    """The verdict's warnings (loud: no traffic...) first, then the plan's."""
    return list(report["verdict"]["warnings"]) + [w for w in plan_warnings if w not in report["verdict"]["warnings"]]


def summary(
    *, investigation_id: str, instance_id: str, reason: str, report: Mapping[str, Any], report_uri: str,
    page_uri: str, page_link: str | None = None, link_expires: str | None = None,
) -> Summary:
    """The SNS message: the verdict, the top highlights and a link to the page."""
    verdict = report["verdict"]
    outcome = verdict["outcome"]
    lines = [f"{report['title']}", f"tapcase investigation {investigation_id} of {instance_id} ({reason})", ""]
    lines += [f"!! {w}" for w in verdict["warnings"]]
    lines += [f"Outcome: {outcome} ({verdict['assessment']}). {verdict['headline']}", ""]
    top = headline(report)[:TOP_HIGHLIGHTS]
    lines += [f"{i}. {text}" for i, text in enumerate(top, 1)] or ["Nothing stood out."]
    more = len(headline(report)) - len(top)
    if more > 0:
        lines.append(f"... and {more} more on the page.")
    if report["indicators"]:
        lines += ["", f"{len(report['indicators'])} indicator(s) to block or hunt: "
                  + ", ".join(i["value"] for i in report["indicators"][:6])]
    lines += [""]
    if page_link:
        lines.append(f"Report page: {page_link}" + (f" (link valid until {link_expires} at most)" if link_expires else ""))
    lines += [f"Page in S3: {page_uri}", f"Report JSON: {report_uri}"]
    flag = "" if outcome == "succeeded" else f"[{outcome.upper().replace('_', ' ')}] "
    return Summary(subject=f"tapcase: {flag}{instance_id} {report['verdict']['assessment'].replace('_', ' ')}",
                   message="\n".join(lines))


def finding_note(report: Mapping[str, Any], page_uri: str, page_link: str | None) -> str:
    """The note for the finding (at most 512 characters: Security Hub's Note.Text)."""
    verdict = report["verdict"]
    head = f"tapcase investigation {report['investigation_id']}: {verdict['outcome']} ({verdict['assessment']}). "
    tail = f" Report: {page_uri}"
    top = headline(report)[:1]
    room = 512 - len(head) - len(tail)
    middle = f"Top: {top[0]}" if top else verdict["headline"]
    if len(middle) > room:
        middle = middle[: max(0, room - 3)] + "..."
    return (head + middle + tail)[:512]
