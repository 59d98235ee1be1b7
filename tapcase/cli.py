"""The ``tapcase`` command line: investigations in a deployed stack (or a local cloud), scheduled
captures, and the local tools (``tapcase local``, ``scenario``, ``analyze``: :mod:`tapcase.cli_local`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from tapcase.remote.errors import friendly

HELP = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(no_args_is_help=True, add_completion=False, context_settings=HELP, pretty_exceptions_enable=False,
                  help="tapcase: automated network forensics for AWS (GuardDuty finding -> mirrored traffic -> "
                       "Zeek/Suricata -> Athena -> report).")
schedule_app = typer.Typer(no_args_is_help=True, context_settings=HELP,
                           help="Scheduled captures (EventBridge Scheduler schedules of the stack).")
app.add_typer(schedule_app, name="schedule")

console = Console(stderr=True, soft_wrap=True)

# -- options shared by every command that talks to a stack --------------------------------------
Endpoint = Annotated[str | None, typer.Option(
    help="An endpoint that answers like AWS, e.g. a `tapcase local serve` (default: AWS itself; env TAPCASE_ENDPOINT).")]
Stack = Annotated[str | None, typer.Option(help="Name of the deployed tapcase stack (default tapcase; env TAPCASE_STACK).")]
Region = Annotated[str | None, typer.Option(help="AWS region (default: your AWS configuration).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
Out = Annotated[Path, typer.Option(help="Folder for downloaded reports (a subfolder per investigation).")]
InstanceId = Annotated[str | None, typer.Option("--instance-id", help="The instance to investigate.")]
Enis = Annotated[list[str] | None, typer.Option("--eni", help="Mirror only these ENIs (repeatable); alone: their instances.")]
Tags = Annotated[list[str] | None, typer.Option(
    "--tag", help="KEY=VALUE: every running instance with all these tags (repeatable); several are investigated each.")]
Duration = Annotated[str | None, typer.Option(help="Capture window: 90s, 10m, 1h (default: the stack's DefaultCaptureSeconds).")]
Reason = Annotated[str | None, typer.Option(help="Why: kept in the report.")]
Account = Annotated[str | None, typer.Option(
    "--account", help="The account the instance is in: the stack's own (default) or one of its MemberAccounts.")]
Rules = Annotated[Path | None, typer.Option(
    exists=True, dir_okay=False, help="Traffic mirror filter rules, a JSON list (default: everything, both ways).")]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"tapcase {version('tapcase')}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """tapcase: automated network forensics for AWS."""


@app.command()
@friendly
def investigate(
    instance_id: InstanceId = None,
    eni: Enis = None,
    tag: Tags = None,
    duration: Duration = None,
    reason: Reason = None,
    requested_by: Annotated[str | None, typer.Option(help="Who asks (default: your user name).")] = None,
    rules: Rules = None,
    investigation_id: Annotated[str | None, typer.Option(
        help="Your own id (3-28 characters a-z 0-9 -); the instance id is appended.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only: print what would be done; create nothing.")] = False,
    mirror_to: Annotated[str | None, typer.Option(
        "--mirror-to", help="fleet (the stack's sensor fleet, FleetTargetId) or sensor (launch one); "
        "default: the fleet when the stack has one.")] = None,
    account: Account = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow it to the end and download the report.")] = False,
    out: Out = Path("out"),
    endpoint: Endpoint = None,
    stack: Stack = None,
    region: Region = None,
    as_json: AsJson = False,
) -> None:
    """Start an investigation of an instance (or of instances by ENI or tag) in a deployed stack."""
    from tapcase.remote import executions, render
    from tapcase.remote.follow import follow
    from tapcase.remote.requests import build_request, check_duration_against
    from tapcase.remote.target import Target

    request = build_request(instance_id=instance_id, eni_ids=eni or [], tags=tag or [], duration=duration,
                            reason=reason, requested_by=requested_by, rules=rules,
                            investigation_id=investigation_id, dry_run=dry_run, mirror_to=mirror_to,
                            account=account)
    target = Target.of(endpoint, region, stack)
    check_duration_against(request, target.parameters())
    arn = executions.start(target, request)
    name = arn.rsplit(":", 1)[-1]
    quiet = as_json
    if not quiet:
        console.print(f"started {name} at {target.where}" + (" (dry run)" if dry_run else ""), highlight=False)
    if not (wait or dry_run):
        summary = executions.summary(target, executions.describe(target, arn))
        if as_json:
            render.print_json(summary)
        else:
            console.print(f"  follow it: tapcase status {name} --wait"
                          + (f" --endpoint {target.endpoint}" if target.endpoint else ""), highlight=False)
            if summary.get("console"):
                console.print(f"  console: {summary['console']}", highlight=False)
        return
    try:
        desc = follow(target.client("stepfunctions"), arn, console=None if quiet else console, timeout=float("inf"),
                      definition=executions.definition(target))
    except KeyboardInterrupt:
        console.print(f"\nstopped following; the investigation goes on: tapcase status {name}", highlight=False)
        raise typer.Exit(130) from None
    summary = _finished(target, desc, out)
    if as_json:
        render.print_json(summary)
    else:
        render.print_summary(console, summary)
    raise typer.Exit(render.exit_code(summary))


def _finished(target: object, desc: dict, out: Path) -> dict:
    """The summary of a finished execution, with its report (and its children's) downloaded."""
    from tapcase.remote import executions
    from tapcase.remote.errors import CliError

    summary = executions.summary(target, desc)  # type: ignore[arg-type]
    if summary["status"] == "SUCCEEDED" and (summary.get("report") or {}).get("report_uri"):
        files = executions.fetch_report(target, summary, out)  # type: ignore[arg-type]
        summary["local_report"], summary["local_page"] = files["report"], files.get("page")
    for child in summary.get("investigations") or []:
        if child.get("status") == "SUCCEEDED" and child.get("execution_arn"):
            child_summary = executions.summary(target, executions.describe(target, child["execution_arn"]))  # type: ignore[arg-type]
            try:
                files = executions.fetch_report(target, child_summary, out)  # type: ignore[arg-type]
                child["local_report"] = files["report"]
            except CliError:
                pass  # skipped or already under investigation: no report
    return summary


@app.command()
@friendly
def status(
    execution: Annotated[str, typer.Argument(help="The execution's name or ARN (as `investigate` and `list` show).")],
    wait: Annotated[bool, typer.Option("--wait", help="Follow it to the end, then download the report.")] = False,
    out: Out = Path("out"),
    endpoint: Endpoint = None,
    stack: Stack = None,
    region: Region = None,
    as_json: AsJson = False,
) -> None:
    """Show an investigation: its state, outcome, warnings and report."""
    from tapcase.remote import executions, render
    from tapcase.remote.follow import follow
    from tapcase.remote.target import Target

    target = Target.of(endpoint, region, stack)
    desc = executions.describe(target, execution)
    if wait and desc["status"] == "RUNNING":
        desc = follow(target.client("stepfunctions"), desc["executionArn"], console=None if as_json else console,
                      timeout=float("inf"), definition=executions.definition(target))
    summary = _finished(target, desc, out) if wait else executions.summary(target, desc)
    if as_json:
        render.print_json(summary)
    else:
        render.print_summary(console, summary)
    raise typer.Exit(0 if summary["status"] == "RUNNING" else render.exit_code(summary))


@app.command()
@friendly
def report(
    execution: Annotated[str, typer.Argument(help="The execution's name or ARN.")],
    out: Out = Path("out"),
    endpoint: Endpoint = None,
    stack: Stack = None,
    region: Region = None,
    as_json: AsJson = False,
) -> None:
    """Download an investigation's report (JSON and HTML page) into --out."""
    from tapcase.remote import executions, render
    from tapcase.remote.errors import CliError
    from tapcase.remote.target import Target

    target = Target.of(endpoint, region, stack)
    summary = executions.summary(target, executions.describe(target, execution))
    if summary["status"] == "RUNNING":
        raise CliError(f"{summary['name']} is still running ({summary.get('state')})",
                       f"wait for it: tapcase status {summary['name']} --wait")
    files: dict[str, Any]
    if summary.get("investigations"):
        files = {c["instance_id"]: executions.fetch_report(target, executions.summary(
            target, executions.describe(target, c["execution_arn"])), out)
            for c in summary["investigations"] if c.get("status") == "SUCCEEDED" and c.get("outcome") == "succeeded"}
    else:
        files = executions.fetch_report(target, summary, out)
    if as_json:
        render.print_json(files)
    else:
        for key, value in files.items():
            console.print(f"{key}: {value}", highlight=False)


@app.command("list")
@friendly
def list_(
    status_filter: Annotated[str | None, typer.Option(
        "--status", help="Only RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED ones.")] = None,
    limit: Annotated[int, typer.Option("--max", min=1, max=1000, help="At most this many (newest first).")] = 20,
    endpoint: Endpoint = None,
    stack: Stack = None,
    region: Region = None,
    as_json: AsJson = False,
) -> None:
    """List recent investigations (executions of the stack's state machine)."""
    from tapcase.remote import executions, render
    from tapcase.remote.errors import CliError
    from tapcase.remote.target import Target

    if status_filter and status_filter.upper() not in {"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}:
        raise CliError(f"--status {status_filter!r} is not an execution status",
                       "use RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED")
    target = Target.of(endpoint, region, stack)
    rows = executions.listing(target, status_filter.upper() if status_filter else None, limit)
    if as_json:
        render.print_json(rows)
    else:
        render.print_rows(Console(soft_wrap=True), rows, ["name", "status", "started", "seconds"])


@app.command()
def schema() -> None:
    """Print the JSON schema of a manual or scheduled request (what the console, the CLI and schedules send)."""
    import json

    from tapcase_workflow.models.request import ManualRequest

    print(json.dumps(ManualRequest.model_json_schema(by_alias=True), indent=2))


@schedule_app.command("create")
@friendly
def schedule_create(
    name: Annotated[str, typer.Argument(help="The schedule's name (letters, digits, - _ .).")],
    expression: Annotated[str, typer.Option(
        help='When: "rate(1 day)", "cron(0 3 * * ? *)" or "at(2025-01-01T03:00:00)".')],
    instance_id: InstanceId = None,
    eni: Enis = None,
    tag: Tags = None,
    duration: Duration = None,
    reason: Reason = None,
    rules: Rules = None,
    timezone: Annotated[str, typer.Option(help="Time zone of a cron or at expression.")] = "UTC",
    endpoint: Endpoint = None,
    stack: Stack = None,
    region: Region = None,
) -> None:
    """Create a scheduled capture: each time it fires, the selected instances are investigated."""
    from tapcase.remote import schedules
    from tapcase.remote.requests import build_request, check_duration_against
    from tapcase.remote.target import Target

    request = build_request(instance_id=instance_id, eni_ids=eni or [], tags=tag or [], duration=duration,
                            reason=reason, requested_by="schedule", rules=rules, investigation_id=None,
                            dry_run=False, trigger="scheduled")
    request.pop("requested_by")
    target = Target.of(endpoint, region, stack)
    check_duration_against(request, target.parameters())
    arn = schedules.create(target, name, expression, timezone, request)
    console.print(f"schedule {name} created: {arn}", highlight=False)


@schedule_app.command("list")
@friendly
def schedule_list(endpoint: Endpoint = None, stack: Stack = None, region: Region = None, as_json: AsJson = False) -> None:
    """List the stack's scheduled captures."""
    from tapcase.remote import render, schedules
    from tapcase.remote.target import Target

    rows = schedules.listing(Target.of(endpoint, region, stack))
    if as_json:
        render.print_json(rows)
    else:
        render.print_rows(Console(soft_wrap=True), rows, ["name", "state", "expression", "selects", "duration_seconds"])


@schedule_app.command("delete")
@friendly
def schedule_delete(
    name: Annotated[str, typer.Argument(help="The schedule's name.")],
    endpoint: Endpoint = None,
    stack: Stack = None,
    region: Region = None,
) -> None:
    """Delete a scheduled capture (running investigations go on)."""
    from tapcase.remote import schedules
    from tapcase.remote.target import Target

    schedules.delete(Target.of(endpoint, region, stack), name)
    console.print(f"schedule {name} deleted", highlight=False)


from tapcase import cli_local  # noqa: E402 - registers `local`, `scenario`, `analyze`

cli_local.register(app)


@app.command("janitor")
def janitor(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be removed, by investigation id.")] = False,
    older_than: Annotated[str, typer.Option(help="Only runs started longer ago than this (90s, 15m, 2h, 1d).")] = "0",
    endpoint: Annotated[str | None, typer.Option(help="A `tapcase local serve` endpoint (default: AWS).")] = None,
    stack: Annotated[str, typer.Option(help="The deployed stack's name.")] = "tapcase",
    region: Annotated[str | None, typer.Option(help="AWS region (default: your AWS configuration's).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    account: Annotated[list[str] | None, typer.Option(
        "--account", help="Only this account (repeatable; default: the stack's own and each of its MemberAccounts).")] = None,
) -> None:
    """Remove what tapcase left behind: resources of investigations no longer running, stale locks,
    in the stack's account and each member account (through the member role, as the scheduled janitor)."""
    from tapcase.janitor import run

    raise typer.Exit(run(dry_run=dry_run, older_than=older_than, endpoint=endpoint, stack=stack, region=region,
                         as_json=as_json, accounts=account or None))


def main() -> None:
    """The ``tapcase`` program: the command, then a quick exit.

    A local investigation leaves hundreds of thousands of objects behind (moto's backends, the
    botocore models, the engines' libraries); the interpreter's teardown frees them one by one,
    which took 2-7 s after every command (measured, tests/bench/bench_pipeline.py "process exit").
    Everything the command opened is closed by then (the local cloud stopped, its temporary files
    removed), so the process flushes its output and logs and ends at once, with the command's code.
    """
    import logging
    import os
    import sys

    try:
        app()
        code: Any = 0
    except SystemExit as exc:
        code = exc.code
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(int(code or 0))


if __name__ == "__main__":  # pragma: no cover
    main()
