"""``tapcase local`` (the local cloud: serve, investigate, demo), ``tapcase scenario`` and
``tapcase analyze``: everything that runs on this machine with no AWS account."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tapcase.remote.errors import friendly

HELP = {"help_option_names": ["-h", "--help"]}
local_app = typer.Typer(no_args_is_help=True, context_settings=HELP,
                        help="Run tapcase on this machine, with no AWS account (the local cloud).")
console = Console(stderr=True, soft_wrap=True)

#: The local cloud's default Wait/Retry time scale: a 10-minute window takes 6 seconds.
DEFAULT_TIME_SCALE = 0.01
SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "findings"
STORIES = "c2-dns, beaconing, ssh-bruteforce or exfiltration"

Pcap = Annotated[Path | None, typer.Option(
    exists=True, dir_okay=False,
    help="Traffic of the suspect's network interfaces (pcap/pcapng, plain or VXLAN): sensors receive what the "
         "mirror sessions deliver of it.")]
SuricataRules = Annotated[Path | None, typer.Option(
    "--rules", exists=True, dir_okay=False, help="Extra Suricata rules for the local sensors (checked with suricata -T).")]
TimeScale = Annotated[float, typer.Option(min=0.0, help="Wait/Retry time scale (1 = real time, 0.01: 10 min in 6 s).")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Show the functions' logs and the local cloud's.")]


def _parse_parameters(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        if "=" not in item:
            raise typer.BadParameter(f"expected Name=Value, got {item!r}")
        key, value = item.split("=", 1)
        out[key] = value
    return out


@local_app.command("serve")
@friendly
def serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 4566,
    pcap: Pcap = None,
    rules: SuricataRules = None,
    finding: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="Create the instance this GuardDuty finding names (to investigate it).")] = None,
    story: Annotated[str | None, typer.Option(
        help=f"A demo story ({STORIES}): its capture as --pcap, its finding's instance created.")] = None,
    time_scale: TimeScale = DEFAULT_TIME_SCALE,
    parameter: Annotated[list[str] | None, typer.Option(
        "--parameter", "-p", help="Template parameter override Name=Value (repeatable).")] = None,
    template: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="SAM template to deploy (default: this checkout's template.yaml).")] = None,
    verbose: Verbose = False,
    keep_executions: Annotated[int | None, typer.Option(
        min=0, help="Finished executions kept per state machine, with their history (default 25, or "
                    "TAPCASE_MAX_FINISHED_EXECUTIONS); older ones are forgotten.")] = None,
) -> None:
    """Start the local cloud, deploy the stack, print its endpoint and serve until interrupted."""
    from tapcase.local_inputs import (
        check_capture,
        check_suricata_rules,
        load_json_object,
        quiet_functions,
        story_inputs,
    )
    from tapcase.localcloud import LocalCloud, LocalCloudError
    from tapcase.localcloud.sfn import retention

    retention.set_limit(keep_executions)
    if story:
        pcap, finding = story_inputs(story, Path("out") / "serve", console)
    if pcap:
        check_capture(pcap, console)
    if rules:
        check_suricata_rules(rules)
    seed = load_json_object(finding) if finding else None
    if not verbose:
        quiet_functions(None)
    from tapcase.localcloud.cloud import DEFAULT_TEMPLATE

    cloud = LocalCloud(port=port, template=template or DEFAULT_TEMPLATE, parameters=_parse_parameters(parameter or []),
                       time_scale=time_scale, pcap=pcap)
    try:
        cloud.start()
    except (LocalCloudError, OSError) as exc:
        console.print(f"[red]error:[/red] could not start the local cloud: {exc}")
        raise typer.Exit(3) from None
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        from tapcase.localcloud import sensors

        if rules:
            sensors.set_capture(pcap, rules)
        instance = None
        if seed is not None:
            from tapcase.localcloud.seed import seed_instance

            details = (seed.get("detail", seed).get("resource") or {}).get("instanceDetails") or {}
            instance = seed_instance(cloud.client("ec2"), details, cloud.region)["instance_id"]
        if verbose:
            for logical_id, deployed in sorted(cloud.stack.resources.items()):
                console.print(f"  {deployed.type:36} {logical_id:32} {deployed.ref}", highlight=False)
        print(f"endpoint: {cloud.endpoint}", flush=True)
        _print_examples(cloud.endpoint, instance, finding)
        cloud.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        cloud.stop()


def _print_examples(endpoint: str, instance: str | None, finding: Path | None) -> None:
    lines = [f"stack tapcase deployed; any AWS client works with --endpoint-url {endpoint} (any region, any keys)"]
    if instance:
        lines.append(f"  tapcase investigate --instance-id {instance} --duration 1m --wait --endpoint {endpoint}")
    if finding:
        lines.append(f"  tapcase local investigate --finding {finding} --endpoint {endpoint}")
    if not instance and not finding:
        lines.append(f"  tapcase local investigate --finding {SAMPLES / 'c2-dns.json'} --endpoint {endpoint}")
    lines.append(f"  tapcase list --endpoint {endpoint}")
    lines.append("stop it with Ctrl-C")
    print("\n".join(lines), flush=True)  # after the endpoint line, on stdout too


@local_app.command("investigate")
@friendly
def investigate(
    finding: Annotated[Path, typer.Option(
        exists=True, dir_okay=False, help="GuardDuty EventBridge event, bare finding or manual request (JSON).")],
    pcap: Pcap = None,
    rules: SuricataRules = None,
    endpoint: Annotated[str | None, typer.Option(
        help="A running `tapcase local serve` (default: start a local cloud in this process).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary object.")] = False,
    out: Annotated[Path, typer.Option(help="Where the report's local copy goes.")] = Path("out"),
    time_scale: TimeScale = DEFAULT_TIME_SCALE,
    verbose: Verbose = False,
) -> None:
    """Run one investigation end to end on the local cloud; exit 0 only if it SUCCEEDED."""
    from tapcase.investigate import run

    raise typer.Exit(run(finding=finding, pcap=pcap, rules=rules, endpoint=endpoint, as_json=as_json, out=out,
                         time_scale=time_scale, verbose=verbose))


@local_app.command("demo")
@friendly
def demo(
    story: Annotated[str, typer.Option(help=f"Scenario: {STORIES}.")] = "c2-dns",
    out: Annotated[Path, typer.Option(help="Where the capture and the report go.")] = Path("out/demo"),
    time_scale: TimeScale = DEFAULT_TIME_SCALE,
    verbose: Verbose = False,
) -> None:
    """Generate an incident capture, investigate it on the local cloud, and check the report finds
    what the story planted (exit 1 if it does not)."""
    from tapcase.demo_check import run_demo

    raise typer.Exit(run_demo(story=story, out=out, time_scale=time_scale, verbose=verbose, console=console))


def scenario(
    name: Annotated[str, typer.Argument(help=f"Story: {STORIES}.")],
    out: Annotated[Path, typer.Option(dir_okay=False, help="Where to write the pcap.")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scenario's facts as JSON.")] = False,
    vxlan: Annotated[bool, typer.Option(
        "--vxlan", help="Write what an AWS mirror session delivers (VXLAN, UDP 4789) instead.")] = False,
) -> None:
    """Write a capture of an incident story: plain, as on the suspect's subnet (default), or VXLAN."""
    from tapcase.scenario.cli import run

    raise typer.Exit(run(name, out, seed, as_json, form="vxlan" if vxlan else "plain"))


def analyze(
    logs: Annotated[Path, typer.Option(exists=True, file_okay=False, help="Folder of Zeek and/or Suricata logs.")],
    out: Annotated[Path, typer.Option(file_okay=False, help="Folder to write curated data, results and report.")],
    investigation: Annotated[str | None, typer.Option(
        "--investigation", help="Investigation id (default: derived from the folder).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as one JSON object.")] = False,
) -> None:
    """Run the investigation query pack locally on logs you already have."""
    from tapcase.analyze import run

    raise typer.Exit(run(logs=logs, investigation_id=investigation, out=out, as_json=as_json))


def register(app: typer.Typer) -> None:
    app.add_typer(local_app, name="local")
    app.command("scenario")(scenario)
    app.command("analyze")(analyze)
