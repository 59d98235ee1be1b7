"""How the CLI shows executions, plans, lists and schedules to a person (``--json`` prints the
same data as one JSON object instead)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

#: Outcomes (the report's or the execution's) that mean the capture shows nothing about the host.
NO_TRAFFIC = ("no_traffic", "low_traffic")


def no_traffic(outcome: str | None) -> bool:
    return bool(outcome) and any(str(outcome).startswith(word) for word in NO_TRAFFIC)


def exit_code(summary: dict[str, Any]) -> int:
    """0: it ended as asked; 1: the execution (or a child of it) did not succeed."""
    if summary["status"] != "SUCCEEDED":
        return 1
    children = summary.get("investigations") or []
    return 1 if any(c.get("status") != "SUCCEEDED" for c in children) else 0


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def print_summary(console: Console, summary: dict[str, Any]) -> None:
    status = summary["status"]
    colour = "green" if status == "SUCCEEDED" else ("cyan" if status == "RUNNING" else "red")
    outcome = summary.get("outcome")
    took = f" in {summary['seconds']}s" if summary.get("seconds") is not None else ""
    ident = summary.get("investigation_id") or summary.get("name")
    line = f"[{colour}]{status}[/{colour}] {ident}{took}"
    if outcome and outcome != "succeeded":
        line += f" ({outcome})"
    if summary.get("state"):
        line += f": now in {summary['state']}"
    console.print(line, highlight=False)
    if no_traffic(outcome):
        console.print("  [bold red]NO TRAFFIC[/bold red]: the sensor received no (or too few) mirrored packets; "
                      "this capture says nothing about the host (check the sessions, the sensor's security "
                      "group and the filter)", highlight=False)
    if summary.get("reason"):
        console.print(f"  {summary['reason']}", highlight=False)
    for warning in summary.get("warnings") or []:
        console.print(f"  [yellow]warning:[/yellow] {warning}", highlight=False)
    if summary.get("error"):
        console.print(f"  error: {summary['error']}: {summary.get('cause') or ''}".rstrip(": "), highlight=False)
    if summary.get("dry_run"):
        print_dry_run(console, summary["dry_run"])
    for child in summary.get("investigations") or []:
        mark = "[green]✓[/green]" if child.get("status") == "SUCCEEDED" else "[red]✗[/red]"
        detail = child.get("outcome") or child.get("error") or ""
        console.print(f"  {mark} {child.get('instance_id')}: {child.get('status')} {detail}".rstrip(),
                      highlight=False)
        if child.get("execution_arn"):
            console.print(f"      {child['execution_arn'].rsplit(':', 1)[-1]}", highlight=False)
    report = summary.get("report") or {}
    for line_ in report.get("headline") or []:
        console.print(f"  • {line_}", highlight=False)
    if report.get("report_uri"):
        console.print(f"  report: {report['report_uri']}", highlight=False)
    for key, label in (("local_report", "local copy"), ("local_page", "page")):
        if summary.get(key):
            console.print(f"  {label}: {summary[key]}", highlight=False)
    if summary.get("console"):
        console.print(f"  console: {summary['console']}", highlight=False)
    if "leftovers" in summary:
        left = {k: v for k, v in (summary.get("leftovers") or {}).items() if v}
        console.print("  leftovers: " + (str(left) if left else "none"), highlight=False)


def print_dry_run(console: Console, dry: dict[str, Any]) -> None:
    for plan in dry.get("plans") or []:
        where = f" in account {plan['account_id']}" if plan.get("account_id") else ""
        console.print(f"  plan for {plan['instance_id']}{where} ({plan['instance_type']}), investigation "
                      f"{plan['investigation_id']}, VNI {plan['vni']}, {plan['duration_seconds']}s:", highlight=False)
        for source in plan.get("sources") or []:
            console.print(f"    mirror {source['eni_id']} ({', '.join(source['private_ips'])}) as session "
                          f"{source['session_number']}"
                          + (f", {source['existing_sessions']} existing" if source.get("existing_sessions") else ""),
                          highlight=False)
        sensor = plan.get("sensor") or {}
        console.print(f"    sensor in {sensor.get('subnet_id')} ({sensor.get('availability_zone')}), "
                      f"{len(plan.get('filter_rules') or [])} filter rules + {', '.join(plan.get('network_services') or [])}",
                      highlight=False)
        for warning in plan.get("warnings") or []:
            console.print(f"    [yellow]warning:[/yellow] {warning}", highlight=False)
    for refusal in dry.get("refusals") or []:
        console.print(f"  [red]refused[/red] {refusal.get('instance_id')}: {refusal['error']}: {refusal['reason']}",
                      highlight=False)
    for warning in dry.get("warnings") or []:
        console.print(f"  [yellow]warning:[/yellow] {warning}", highlight=False)
    console.print("  nothing was created (dry run)", highlight=False)


def print_rows(console: Console, rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        console.print("none", highlight=False)
        return
    if not console.is_terminal:  # a pipe or a file: whole values, one row per line
        widths = {c: max(len(c), *(len(str(r.get(c) if r.get(c) is not None else "")) for r in rows)) for c in columns}
        print("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
        for row in rows:
            print("  ".join(str(row.get(c) if row.get(c) is not None else "").ljust(widths[c]) for c in columns).rstrip())
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    console.print(table)
