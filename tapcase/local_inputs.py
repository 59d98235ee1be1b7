"""What ``tapcase local`` checks before a local cloud starts or a capture window begins: the
request or finding, the Suricata rules (``suricata -T``), the capture; and where the functions'
own logs go (a file, unless ``--verbose``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

from tapcase.remote.errors import CliError

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "findings"


def load_json_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise CliError(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CliError(f"{path} does not hold a JSON object (a GuardDuty event, a finding or a request)")
    return data


def check_capture(pcap: Path, console: Console) -> None:
    """A capture the local cloud can read: refused when it is not a capture; a truncated one is read
    up to the damage, with a warning (the evidence says so too)."""
    from tapcase_sensor.errors import SensorBadCapture
    from tapcase_sensor.pcap import inspect_capture

    try:
        info = inspect_capture(pcap, allow_empty=True, allow_truncated=True)
    except SensorBadCapture as exc:
        raise CliError(f"--pcap: {exc}", "give a pcap or pcapng capture of the suspect's traffic") from None
    if info.truncated:
        console.print(f"[yellow]warning:[/yellow] {pcap} is truncated ({info.truncated['reason']}): the "
                      f"{info.packets} complete packets before byte {info.truncated['byte_offset']} are analysed, "
                      "the damaged rest is not; the evidence manifest and the report say so", highlight=False)


def check_suricata_rules(rules: Path) -> None:
    """``suricata -T`` on the sensor's configuration with these rules: a rule Suricata refuses is
    named now, not after a capture window."""
    from tapcase_sensor import paths

    binary = shutil.which("suricata")
    if binary is None:
        raise CliError("--rules: no suricata on PATH to check them with", "install it (make setup)")
    with tempfile.TemporaryDirectory(prefix="tapcase-rules-") as logdir:
        argv = [binary, "-T", "-c", str(paths.suricata_config()), "-S", str(rules.resolve()), "-l", logdir,
                "--set", f"default-rule-path={paths.suricata_rules_dir()}", "--set", "unix-command.enabled=no"]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        errors = [line for line in (proc.stderr + proc.stdout).splitlines() if line.startswith(("E:", "Error"))]
        raise CliError(f"--rules {rules}: suricata -T refuses them: " + ("; ".join(errors[:3]) or proc.stderr[-300:]),
                       "fix the rule(s) named above")


def quiet_functions(log_path: Path | None) -> None:
    """Send the in-process functions' logs (powertools JSON, EMF metrics) to ``log_path`` (None:
    nowhere) instead of the terminal; ``--verbose`` keeps them."""
    from tapcase.localcloud import lambda_runtime

    lambda_runtime.send_function_output_to(log_path)
    import logging

    for name in ("tapcase", "tapcase_sensor"):  # the local cloud's and the local sensors' own notes
        logging.getLogger(name).setLevel(logging.ERROR)


def story_inputs(story: str, folder: Path, console: Console) -> tuple[Path, Path]:
    """A demo story's capture (generated into ``folder``) and its sample finding."""
    from tapcase.scenario.generator import UnknownScenario, generate, names

    finding = SAMPLES / f"{story}.json"
    try:
        info = generate(story, folder / f"{story}.pcap", seed=0, form="plain")
    except UnknownScenario:
        raise CliError(f"no story {story!r}", f"pick one of {', '.join(names())}") from None
    if not finding.is_file():
        raise CliError(f"no sample finding for story {story!r} in {SAMPLES}")
    console.print(f"story {story}: {info.description}", highlight=False)
    return Path(info.pcap), finding
