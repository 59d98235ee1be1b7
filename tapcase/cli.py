"""The ``tapcase`` command line."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(no_args_is_help=True, add_completion=False, help="tapcase: automated network forensics for AWS.")
local_app = typer.Typer(no_args_is_help=True, help="Run tapcase on this machine, with no AWS account.")
app.add_typer(local_app, name="local")

console = Console(stderr=True)


def _parse_parameters(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        if "=" not in item:
            raise typer.BadParameter(f"expected Name=Value, got {item!r}")
        key, value = item.split("=", 1)
        out[key] = value
    return out


@local_app.command("serve")
def serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 4566,
    pcap: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Traffic of the suspect's network interfaces (plain or "
                     "VXLAN): sensors receive what the mirror sessions deliver of it."),
    ] = None,
    time_scale: Annotated[float, typer.Option(min=0.0, help="Wait/Retry time scale (1 = real time).")] = 1.0,
    parameter: Annotated[
        list[str] | None, typer.Option("--parameter", "-p", help="Template parameter override Name=Value.")
    ] = None,
    template: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="SAM template to deploy.")] = Path(
        "template.yaml"
    ),
) -> None:
    """Start the local cloud, deploy the stack, print its endpoint and serve until interrupted."""
    from tapcase.localcloud import LocalCloud, LocalCloudError

    cloud = LocalCloud(
        port=port,
        template=template,
        parameters=_parse_parameters(parameter or []),
        time_scale=time_scale,
        pcap=pcap,
    )
    try:
        cloud.start()
    except (LocalCloudError, OSError) as exc:
        console.print(f"[red]error:[/red] could not start the local cloud: {exc}")
        raise typer.Exit(1) from None
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        stack = cloud.stack
        for logical_id, deployed in sorted(stack.resources.items()):
            console.print(f"  {deployed.type:36} {logical_id:32} {deployed.ref}", soft_wrap=True, highlight=False)
        print(f"endpoint: {cloud.endpoint}", flush=True)
        cloud.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        cloud.stop()


@local_app.command("investigate")
def investigate(
    finding: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="GuardDuty EventBridge event or manual request (JSON).")],
    pcap: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Traffic of the suspect's network interfaces (plain or "
                     "VXLAN): the sensor receives what the mirror sessions deliver of it."),
    ] = None,
    rules: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="Extra Suricata rules file.")] = None,
    endpoint: Annotated[
        str | None, typer.Option(help="A running `tapcase local serve` (default: start one in this process).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary object.")] = False,
    out: Annotated[Path, typer.Option(help="Where the report's local copy goes.")] = Path("out"),
    time_scale: Annotated[float, typer.Option(min=0.0, help="Wait/Retry time scale of the in-process cloud.")] = 0.01,
) -> None:
    """Run one investigation end to end on the local cloud; exit 0 only if it SUCCEEDED."""
    from tapcase.investigate import run

    raise typer.Exit(run(finding=finding, pcap=pcap, rules=rules, endpoint=endpoint, as_json=as_json, out=out,
                         time_scale=time_scale))


@local_app.command("demo")
def demo(
    story: Annotated[str, typer.Option(help="Scenario: c2-dns, beaconing, ssh-bruteforce or exfiltration.")] = "c2-dns",
    out: Annotated[Path, typer.Option(help="Where the capture and the report go.")] = Path("out/demo"),
    time_scale: Annotated[float, typer.Option(min=0.0, help="Wait/Retry time scale.")] = 0.01,
) -> None:
    """Generate an incident capture and investigate it end to end on the local cloud."""
    from tapcase.investigate import run as investigate_run
    from tapcase.scenario.cli import run as scenario_run

    samples = Path(__file__).resolve().parents[1] / "samples" / "findings"
    finding = samples / f"{story}.json"
    if not finding.is_file():
        console.print(f"[red]error:[/red] no sample finding for story {story!r} in {samples}")
        raise typer.Exit(2)
    pcap = out / f"{story}.pcap"
    code = scenario_run(story, pcap, 0, False)
    if code:
        raise typer.Exit(code)
    console.print(f"\ninvestigating the GuardDuty finding {finding.name} with {pcap} as the traffic of the "
                  "suspect's subnet (the local cloud mirrors what the sessions select)")
    raise typer.Exit(investigate_run(finding=finding, pcap=pcap, rules=None, endpoint=None, as_json=False,
                                     out=out, time_scale=time_scale))


@app.command("scenario")
def scenario(
    name: Annotated[str, typer.Argument(help="Story: c2-dns, beaconing, ssh-bruteforce or exfiltration.")],
    out: Annotated[Path, typer.Option(dir_okay=False, help="Where to write the pcap.")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scenario's facts as JSON.")] = False,
    vxlan: Annotated[
        bool, typer.Option("--vxlan", help="Write what an AWS mirror session delivers (VXLAN, UDP 4789) instead.")
    ] = False,
) -> None:
    """Write a capture of an incident story: plain, as on the suspect's subnet (default), or VXLAN."""
    from tapcase.scenario.cli import run

    raise typer.Exit(run(name, out, seed, as_json, form="vxlan" if vxlan else "plain"))


@app.command("analyze")
def analyze(
    logs: Annotated[Path, typer.Option(exists=True, file_okay=False, help="Folder of Zeek and/or Suricata logs.")],
    out: Annotated[Path, typer.Option(file_okay=False, help="Folder to write curated data, results and report.")],
    investigation: Annotated[
        str | None, typer.Option("--investigation", help="Investigation id (default: derived from the folder).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as one JSON object.")] = False,
) -> None:
    """Run the investigation query pack locally on logs you already have."""
    from tapcase.analyze import run

    raise typer.Exit(run(logs=logs, investigation_id=investigation, out=out, as_json=as_json))


@app.command("janitor")
def janitor(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be removed, by investigation id.")] = False,
    older_than: Annotated[str, typer.Option(help="Only runs started longer ago than this (90s, 15m, 2h, 1d).")] = "0",
    endpoint: Annotated[str | None, typer.Option(help="A `tapcase local serve` endpoint (default: AWS).")] = None,
    stack: Annotated[str, typer.Option(help="The deployed stack's name.")] = "tapcase",
    region: Annotated[str | None, typer.Option(help="AWS region (default: your AWS configuration's).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Remove what tapcase left behind: resources of investigations no longer running, stale locks."""
    from tapcase.janitor import run

    raise typer.Exit(run(dry_run=dry_run, older_than=older_than, endpoint=endpoint, stack=stack, region=region,
                         as_json=as_json))


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
