"""``tapcase local demo``: a story's capture investigated on the local cloud, and the report checked
against what the story planted (its known answers): the demo fails when the report misses them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from tapcase.remote.errors import CliError
from tapcase.remote.render import no_traffic


@dataclass(frozen=True)
class Check:
    what: str
    ok: bool
    detail: str = ""


def _text(value: Any) -> str:
    return json.dumps(value, default=str).lower()


def check_report(expected: Any, summary: dict[str, Any], report: dict[str, Any] | None) -> list[Check]:
    """The story's known answers against the investigation's summary and report."""
    checks = [Check("the investigation SUCCEEDED", summary.get("status") == "SUCCEEDED",
                    f"{summary.get('status')} {summary.get('error') or ''}".strip())]
    outcome = summary.get("outcome")
    checks.append(Check("the sensor saw the mirrored traffic", not no_traffic(outcome), f"outcome {outcome}"))
    left = {k: v for k, v in (summary.get("leftovers") or {}).items() if v}
    checks.append(Check("nothing was left behind", not left, str(left) if left else ""))
    if report is None:
        return [*checks, Check("a report was written", False, "no report")]
    whole = _text(report)
    highlights = _text((summary.get("report") or {}).get("headline") or report.get("highlights") or [])
    answers = {"c2_domain": "the C2 domain", "beacon_peer_ip": "the beacon's peer", "beacon_host": "the beacon's host",
               "bruteforce_source_ip": "the brute-force source", "exfil_peer_ip": "the exfiltration peer",
               "exfil_sni": "the exfiltration's SNI", "dga_resolved_domain": "the resolved DGA name"}
    for key, label in answers.items():
        value = getattr(expected, key, None)
        if value:
            checks.append(Check(f"the report names {label} ({value})", str(value).lower() in whole))
    lead = next((getattr(expected, k) for k in ("c2_domain", "beacon_peer_ip", "bruteforce_source_ip", "exfil_peer_ip")
                 if getattr(expected, k, None)), None)
    if lead:
        checks.append(Check(f"the highlights name {lead}", str(lead).lower() in highlights))
    for value in [*expected.suspicious_ips, *expected.suspicious_domains]:
        checks.append(Check(f"the report names suspicious {value}", str(value).lower() in whole))
    return checks


def run_demo(*, story: str, out: Path, time_scale: float, verbose: bool, console: Console) -> int:
    from tapcase.investigate import run
    from tapcase.scenario.generator import UnknownScenario, generate, names

    finding = Path(__file__).resolve().parents[1] / "samples" / "findings" / f"{story}.json"
    try:
        info = generate(story, out / f"{story}.pcap", seed=0, form="plain")
    except UnknownScenario:
        raise CliError(f"no story {story!r}", f"pick one of {', '.join(names())}") from None
    console.print(f"story {story}: {info.description}\ncapture {info.pcap} ({info.packets} packets); finding "
                  f"{finding.name} ({info.finding_type} on {info.instance_id})\n", highlight=False)
    summary_file = out / "summary.json"
    code = run(finding=finding, pcap=Path(info.pcap), rules=None, endpoint=None, as_json=False, out=out,
               time_scale=time_scale, verbose=verbose, summary_to=summary_file)
    summary: dict[str, Any] = (json.loads(summary_file.read_text()) if summary_file.is_file()
                               else {"status": "UNKNOWN"})
    local = (summary.get("report") or {}).get("local_path")
    report = json.loads(Path(local).read_text()) if local and Path(local).is_file() else None
    checks = check_report(info.expected, summary, report)
    console.print("\nwhat the story planted, found in the report?", highlight=False)
    for c in checks:
        mark = "[green]✓[/green]" if c.ok else "[red]✗[/red]"
        console.print(f"  {mark} {c.what}" + (f" ({c.detail})" if c.detail and not c.ok else ""), highlight=False)
    failed = [c for c in checks if not c.ok]
    if failed:
        console.print(f"[red]demo FAILED[/red]: {len(failed)} of {len(checks)} checks", highlight=False)
        return 1
    console.print(f"[green]demo OK[/green]: {len(checks)} checks", highlight=False)
    return code
