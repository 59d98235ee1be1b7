"""What WriteReport stores and publishes (pure): the report's files and the SNS summary."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tapcase_contract.layout import REPORT_HTML, REPORT_JSON, REPORT_MARKDOWN, report_key
from tapcase_workflow.logic.report import render_html, render_markdown
from tapcase_workflow.models.payloads import QueryOutcome

#: Characters of an error's cause the report keeps per failed query.
MAX_ERROR_TEXT = 2000


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
    """The report as JSON (:data:`REPORT_JSON`), a Markdown page and an HTML page (:data:`REPORT_HTML`,
    the page the summary links), under ``<prefix>/report/``."""
    bodies = [
        (REPORT_JSON, json.dumps(report, indent=2, default=str), "application/json"),
        (REPORT_MARKDOWN, render_markdown(report), "text/markdown; charset=utf-8"),
        (REPORT_HTML, render_html(report), "text/html; charset=utf-8"),
    ]
    return [ReportFile(name, report_key(evidence_prefix, name), body, kind) for name, body, kind in bodies]


def headline(report: Mapping[str, Any]) -> list[str]:
    return [str(h["text"]) for h in report["highlights"]]


def summary(
    *, investigation_id: str, instance_id: str, reason: str, report: Mapping[str, Any], report_uri: str, page_uri: str
) -> Summary:
    """The SNS summary: which instance, why, the highlights and where the report is."""
    lines = [f"tapcase investigation {investigation_id} of {instance_id} ({reason})", ""]
    lines += [f"- {h}" for h in headline(report)] or ["- nothing stood out"]
    lines += ["", f"report: {report_uri}", f"page: {page_uri}"]
    return Summary(subject=f"tapcase: {instance_id} investigated", message="\n".join(lines))
