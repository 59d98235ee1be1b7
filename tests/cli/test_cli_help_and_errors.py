"""The CLI's surface: --version, -h everywhere with every option described, short errors with the
next step (never a traceback), inputs checked before anything starts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer.main
from typer.testing import CliRunner

from tapcase.cli import app
from tests.conftest import REPO, shared

TAPCASE = Path(sys.executable).parent / "tapcase"


def _tapcase(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TAPCASE), *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append(((*path, name), command))
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_version():
    result = _tapcase("--version")
    assert result.returncode == 0 and result.stdout.startswith("tapcase 0.")


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_every_command_answers_h_and_describes_every_option(path):
    command = dict(COMMANDS)[path]
    assert (command.help or "").strip(), f"{' '.join(path)} has no description"
    for param in command.params:
        if isinstance(param, click.Option):
            assert (param.help or "").strip(), f"{' '.join(path)} {param.opts} has no description"
    if isinstance(command, click.Group):
        return
    result = CliRunner().invoke(app, [*path, "-h"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_switches_are_plain_flags():
    for path, command in COMMANDS:
        for param in command.params:
            if isinstance(param, click.Option) and param.is_flag:
                assert not param.secondary_opts, f"{' '.join(path)} {param.opts}: a --no- form"


def test_an_unreachable_endpoint_is_two_lines():
    result = _tapcase("investigate", "--instance-id", "i-0123456789abcdef0", "--endpoint", "http://127.0.0.1:9")
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        "error: cannot reach http://127.0.0.1:9: nothing answers there",
        "  start a local cloud with `tapcase local serve`, or check --endpoint",
    ]


@pytest.mark.parametrize(("args", "message"), [
    (["investigate"], "say which instance to investigate"),
    (["investigate", "--instance-id", "i-1"], "--instance-id: String should match pattern"),
    (["investigate", "--tag", "team"], "--tag 'team' is not KEY=VALUE"),
    (["investigate", "--instance-id", "i-0123456789abcdef0", "--duration", "ten"], "--duration 'ten' is not a duration"),
    (["investigate", "--instance-id", "i-0123456789abcdef0", "--duration", "10s"], "--duration: Input should be greater"),
    (["investigate", "--instance-id", "i-0123456789abcdef0", "--tag", "a=b"], "not instance_id and tags"),
    (["investigate", "--instance-id", "i-0123456789abcdef0", "--investigation-id", "X"], "--investigation-id"),
    (["investigate", "--instance-id", "i-0123456789abcdef0", "--endpoint", "localhost:4566"], "is not a URL"),
    (["list", "--status", "DONE", "--endpoint", "http://127.0.0.1:9"], "--status 'DONE' is not an execution status"),
])
def test_bad_input_is_refused_before_anything_starts(args, message):
    result = _tapcase(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2


def test_filter_rules_from_a_file_are_checked(tmp_path):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"direction": "egress", "protocol": 6, "destination_ports": [443, 80]}]))
    result = _tapcase("investigate", "--instance-id", "i-0123456789abcdef0", "--rules", str(rules),
                      "--endpoint", "http://127.0.0.1:9")
    assert result.returncode == 2 and f"--rules {rules}: rule 1: request: Value error, port range (443, 80)" in result.stderr


def test_schema_prints_the_request_schema():
    result = _tapcase("schema")
    schema = json.loads(result.stdout)
    assert schema["title"] == "ManualRequest" and "tags" in schema["properties"]


def test_local_investigate_checks_its_inputs_before_starting_a_cloud(tmp_path):
    not_pcap = tmp_path / "x.pcap"
    not_pcap.write_text("hello")
    finding = REPO / "samples" / "findings" / "c2-dns.json"
    result = _tapcase("local", "investigate", "--finding", str(finding), "--pcap", str(not_pcap), timeout=60)
    assert result.returncode == 2 and "--pcap:" in result.stderr and "not a pcap or pcapng file" in result.stderr
    bad_rules = tmp_path / "bad.rules"
    bad_rules.write_text('alert tcp any any -> any any (msg:"no sid";)\n')
    result = _tapcase("local", "investigate", "--finding", str(finding), "--rules", str(bad_rules), timeout=120)
    assert result.returncode == 2 and "suricata -T refuses them" in result.stderr
    foreign = tmp_path / "foreign.json"
    event = json.loads(finding.read_text())
    event["detail"]["accountId"] = "111122223333"
    foreign.write_text(json.dumps(event))
    result = _tapcase("local", "investigate", "--finding", str(foreign), timeout=60)
    assert result.returncode == 2 and "FindingFromAnotherAccount" in result.stderr


def test_a_truncated_capture_is_read_up_to_the_damage_with_a_warning(tmp_path):
    from rich.console import Console

    from tapcase.local_inputs import check_capture

    data = shared("suricata-verify", "vxlan-decoder-03", "vxlan.pcap").read_bytes()
    truncated = tmp_path / "cut.pcap"
    truncated.write_bytes(data[: len(data) // 2 + 7])
    console = Console(record=True, width=300)
    check_capture(truncated, console)
    text = console.export_text()
    assert "is truncated" in text and "the 50 complete packets before byte" in text


def test_the_demo_checks_the_storys_known_answers():
    from tapcase.demo_check import check_report
    from tapcase.scenario.model import Expected

    expected = Expected(c2_domain="c2.example.com", suspicious_ips=["198.51.100.53"])
    good = {"status": "SUCCEEDED", "outcome": "succeeded", "leftovers": {"locks": 0},
            "report": {"headline": ["lookups of c2.example.com answered 198.51.100.53"]}}
    report = {"queries": {"finding_domain": [{"query": "c2.example.com", "answer": "198.51.100.53"}]}}
    assert all(c.ok for c in check_report(expected, good, report))
    quiet = {**good, "outcome": "no_traffic"}
    failed = [c.what for c in check_report(expected, quiet, {"queries": {}}) if not c.ok]
    assert "the sensor saw the mirrored traffic" in failed and "the report names the C2 domain (c2.example.com)" in failed
