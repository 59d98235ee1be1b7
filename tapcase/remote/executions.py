"""Starting, describing and fetching investigations (executions of the stack's state machine)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tapcase.remote.errors import CliError, translated
from tapcase.remote.target import Target

#: What a finished execution's output says, by its ``status`` (the ASL's end states).
OUTCOMES = {
    "succeeded": "investigated",
    "skipped": "skipped: nothing to investigate",
    "already_under_investigation": "another execution investigates this instance already",
    "dry_run": "dry run: nothing was created",
    "fanned_out": "one child execution per selected instance",
}


def execution_name(request: dict[str, Any]) -> str:
    """A readable, unique name (and so a valid investigation id: lower case, at most 48 characters)."""
    if request.get("instance_id"):
        what = str(request["instance_id"])
    elif request.get("eni_ids"):
        what = "enis"
    else:
        what = "tags"
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"cli-{what}-{stamp}-{uuid.uuid4().hex[:4]}".lower()


def start(target: Target, request: dict[str, Any], name: str | None = None) -> str:
    name = name or execution_name(request)
    with translated(target.endpoint):
        return str(target.client("stepfunctions").start_execution(
            stateMachineArn=target.state_machine_arn, name=name, input=json.dumps(request))["executionArn"])


def definition(target: Target) -> dict[str, Any]:
    with translated(target.endpoint):
        text = target.client("stepfunctions").describe_state_machine(stateMachineArn=target.state_machine_arn)
    return dict(json.loads(text["definition"]))


def describe(target: Target, execution: str) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    arn = target.execution_arn(execution)
    with translated(target.endpoint):
        try:
            return dict(target.client("stepfunctions").describe_execution(executionArn=arn))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"ExecutionDoesNotExist", "InvalidArn"}:
                raise CliError(f"no execution {execution} of stack {target.stack!r} at {target.where}",
                               "see `tapcase list` for the recent ones") from None
            raise


def current_state(target: Target, execution_arn: str) -> str | None:
    with translated(target.endpoint):
        events = target.client("stepfunctions").get_execution_history(
            executionArn=execution_arn, reverseOrder=True, maxResults=50)["events"]
    for event in events:
        if event["type"].endswith("StateEntered"):
            return str(event["stateEnteredEventDetails"]["name"])
    return None


def output_of(desc: dict[str, Any]) -> dict[str, Any]:
    try:
        output = json.loads(desc.get("output") or "null")
    except json.JSONDecodeError:
        return {}
    return output if isinstance(output, dict) else {}


def summary(target: Target, desc: dict[str, Any]) -> dict[str, Any]:
    """What a user wants to know of an execution, as one JSON object."""
    output = output_of(desc)
    report = output.get("report") or {}
    start_date, stop_date = desc.get("startDate"), desc.get("stopDate")
    seconds = (stop_date - start_date).total_seconds() if start_date and stop_date else None
    report_summary: dict[str, Any] = report["summary"] if isinstance(report.get("summary"), dict) else {}
    result: dict[str, Any] = {
        "execution_arn": desc["executionArn"],
        "name": desc.get("name"),
        "status": desc["status"],
        # the report's outcome when it says one (e.g. no_traffic), else how the execution ended
        "outcome": report_summary.get("outcome") or output.get("status"),
        "investigation_id": output.get("investigation_id"),
        "instance_id": output.get("instance_id"),
        "started": start_date.isoformat() if start_date else None,
        "seconds": round(seconds, 1) if seconds is not None else None,
        "error": desc.get("error"),
        "cause": desc.get("cause"),
        "reason": output.get("reason"),
        "warnings": [*(output.get("warnings") or []), *(report_summary.get("warnings") or [])],
        "report": {k: report[k] for k in ("report_uri", "page_uri", "headline") if k in report} or None,
        "console": target.console_url(desc["executionArn"]),
    }
    if desc["status"] == "RUNNING":
        result["state"] = current_state(target, desc["executionArn"])
    if output.get("status") == "dry_run":
        result["dry_run"] = {k: output.get(k) for k in ("plans", "refusals", "warnings")}
    if output.get("status") == "fanned_out":
        result["investigations"] = output.get("investigations") or []
    return result


def download(target: Target, uri: str, dest: Path) -> Path:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with translated(target.endpoint):
        target.client("s3").download_file(bucket, key, str(dest))
    return dest


def fetch_report(target: Target, summary_: dict[str, Any], out: Path) -> dict[str, str]:
    """The report of a finished investigation, downloaded under ``out/<investigation id>/``."""
    report = summary_.get("report") or {}
    if not report.get("report_uri"):
        raise CliError(f"execution {summary_['name']} has no report ({summary_['status']}"
                       + (f", {summary_['outcome']}" if summary_.get("outcome") else "") + ")",
                       "only a SUCCEEDED investigation writes one; see `tapcase status`")
    folder = out / str(summary_.get("investigation_id") or summary_["name"])
    files = {"report": str(download(target, report["report_uri"], folder / Path(report["report_uri"]).name))}
    if report.get("page_uri"):
        files["page"] = str(download(target, report["page_uri"], folder / Path(report["page_uri"]).name))
    return files


def listing(target: Target, status: str | None, limit: int) -> list[dict[str, Any]]:
    kwargs: dict[str, Any] = {"stateMachineArn": target.state_machine_arn, "maxResults": min(max(limit, 1), 1000)}
    if status:
        kwargs["statusFilter"] = status
    with translated(target.endpoint):
        executions = target.client("stepfunctions").list_executions(**kwargs)["executions"]
    rows = []
    for e in executions[:limit]:
        stop = e.get("stopDate")
        rows.append({"name": e["name"], "status": e["status"], "started": e["startDate"].isoformat(),
                     "seconds": round((stop - e["startDate"]).total_seconds(), 1) if stop else None,
                     "execution_arn": e["executionArn"]})
    return rows
