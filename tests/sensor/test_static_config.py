"""Static checks of everything the sensor image is built from."""

from __future__ import annotations

import configparser
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
import zeekscript

from tapcase_sensor import versions
from tapcase_sensor.packet_log import CONTAINER_DIR, FILENAME, PCAP_LOG_OUTPUT, PacketLog
from tapcase_sensor.userdata import render_user_data

from .conftest import SENSOR_IMAGE

SURICATA_YAML = SENSOR_IMAGE / "suricata" / "suricata.yaml"
LOCAL_ZEEK = SENSOR_IMAGE / "zeek" / "local.zeek"
PINNED_FROM = re.compile(r"^FROM\s+(?P<image>[\w./-]+):(?P<tag>\d+\.\d+\.\d+)(?:@sha256:[0-9a-f]{64})?\s*$")


# -- Suricata ---------------------------------------------------------------------------------


def _suricata_test(tmp_path: Path, rules_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    logs = tmp_path / "log"
    logs.mkdir(exist_ok=True)
    argv = [
        "suricata", "-T", "-c", str(SURICATA_YAML), "-l", str(logs), "--init-errors-fatal",
        "--set", f"default-rule-path={rules_dir}", "--set", "unix-command.enabled=no", *extra,
    ]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_suricata_config_passes_suricata_T(tmp_path: Path, suricata_bin: str) -> None:
    proc = _suricata_test(tmp_path, SENSOR_IMAGE / "suricata" / "rules")
    assert proc.returncode == 0, proc.stderr
    assert "Configuration provided was successfully loaded" in proc.stdout + proc.stderr


def test_suricata_T_loads_rules_a_user_drops_in(tmp_path: Path, suricata_bin: str) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(SENSOR_IMAGE / "suricata" / "rules", rules)
    # beside tapcase.rules (sids 9100000-9100999): every *.rules file of the directory is loaded
    (rules / "mine.rules").write_text('alert udp any any -> any 4789 (msg:"VXLAN seen"; sid:9200001; rev:1;)\n')
    shipped = sum(1 for line in (rules / "tapcase.rules").read_text().splitlines() if line.startswith("alert "))
    proc = _suricata_test(tmp_path, rules, "-v")
    assert proc.returncode == 0, proc.stderr
    assert re.search(rf"\b{shipped + 1} signatures processed", proc.stdout + proc.stderr)
    (rules / "broken.rules").write_text("alert nonsense\n")
    assert _suricata_test(tmp_path, rules).returncode != 0  # a bad rule fails the check


def test_suricata_config_content() -> None:
    conf = yaml.safe_load(SURICATA_YAML.read_text())
    eve = next(o["eve-log"] for o in conf["outputs"] if "eve-log" in o)
    assert eve["enabled"] is True and eve["community-id"] is True and eve["filename"] == "eve.json"
    types: dict[str, Any] = {}
    for t in eve["types"]:
        types.update(t if isinstance(t, dict) else {t: {}})
    for needed in ("alert", "flow", "dns", "http", "tls", "files", "anomaly", "ssh", "stats"):  # files -> fileinfo
        assert needed in types, needed
    assert types["alert"]["metadata"] is True
    assert conf["decoder"]["vxlan"]["enabled"] is True
    assert conf["vars"]["port-groups"]["VXLAN_PORTS"] == 4789 and conf["decoder"]["vxlan"]["ports"] == "$VXLAN_PORTS"
    assert conf["stream"]["checksum-validation"] is False
    assert conf["pcap-file"]["checksum-checks"] is False
    assert all(a["checksum-checks"] is False for a in conf["af-packet"])
    assert conf["rule-files"] == ["*.rules"] and conf["default-rule-path"] == "/etc/tapcase/rules"
    assert conf["stats"]["enabled"] is True


# -- Zeek -------------------------------------------------------------------------------------


def test_zeek_policy_parses() -> None:
    script = zeekscript.Script(LOCAL_ZEEK)
    ok = script.parse()
    assert ok and not script.has_error(), script.get_error()


def test_zeekscript_would_catch_a_broken_policy() -> None:
    broken = LOCAL_ZEEK.read_bytes().replace(b"{ 4789/udp };", b"{ 4789/udp ;")
    script = zeekscript.Script(io.BytesIO(broken))
    assert script.parse() is False
    _line, _lineno, message = script.get_error()
    assert message and "missing" in message


def test_zeek_policy_content() -> None:
    text = LOCAL_ZEEK.read_text()
    loads = set(re.findall(r"^@load\s+(\S+)", text, flags=re.M))
    assert {"tuning/json-logs", "protocols/conn/community-id-logging"} <= loads
    assert "frameworks/files/detect-MHR" not in loads  # no lookups to the internet from a sensor
    assert re.search(r"^redef LogAscii::json_timestamps = JSON::TS_EPOCH;", text, flags=re.M)
    assert re.search(r"^redef PacketAnalyzer::VXLAN::vxlan_ports \+= \{ 4789/udp \};", text, flags=re.M)
    assert re.search(r"^redef ignore_checksums = T;", text, flags=re.M)


# -- containers -------------------------------------------------------------------------------


def _from_lines(dockerfile: Path) -> list[str]:
    return [line for line in dockerfile.read_text().splitlines() if line.startswith("FROM")]


@pytest.mark.parametrize(
    ("engine", "base"), [("suricata", versions.SURICATA_BASE_IMAGE), ("zeek", versions.ZEEK_BASE_IMAGE)]
)
def test_dockerfiles_are_pinned(engine: str, base: str) -> None:
    dockerfile = SENSOR_IMAGE / engine / "Dockerfile"
    (line,) = _from_lines(dockerfile)
    m = PINNED_FROM.match(line)
    assert m, f"{dockerfile}: FROM not pinned to a version: {line!r}"
    assert f"{m['image']}:{m['tag']}" == base
    assert "latest" not in line
    for src in re.findall(r"^COPY\s+(\S+)\s", dockerfile.read_text(), flags=re.M):
        assert (dockerfile.parent / src).exists(), src


def test_compose_file() -> None:
    compose = yaml.safe_load((SENSOR_IMAGE / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"suricata", "zeek"}
    expected = {"suricata": versions.SURICATA_IMAGE, "zeek": versions.ZEEK_IMAGE}
    for name, svc in services.items():
        assert svc["image"] == expected[name]
        assert not svc["image"].endswith(":latest")
        assert svc["network_mode"] == "host"
        assert {"NET_ADMIN", "NET_RAW"} <= set(svc["cap_add"])
        assert (SENSOR_IMAGE / svc["build"]["context"] / "Dockerfile").is_file()
        assert svc["restart"] == "no"
        assert "${SENSOR_INTERFACE:?" in " ".join(svc["command"])
        assert any(v.endswith(("/var/log/suricata", ":/logs")) for v in svc["volumes"])
        assert svc["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
    assert "--af-packet=${SENSOR_INTERFACE:?SENSOR_INTERFACE is not set}" in services["suricata"]["command"]
    assert "af_packet::${SENSOR_INTERFACE:?SENSOR_INTERFACE is not set}" in services["zeek"]["command"]
    assert "/opt/tapcase/zeek/local.zeek" in services["zeek"]["command"]


def test_compose_hands_the_capture_filter_and_pcap_settings_to_the_engines() -> None:
    # Both engines get the same BPF (Suricata: its last argument; Zeek: -f), and Suricata's
    # pcap-log gets the env file's settings at the index packet_log.py writes to
    services = yaml.safe_load((SENSOR_IMAGE / "compose.yaml").read_text())["services"]
    suricata, zeek = services["suricata"]["command"], services["zeek"]["command"]
    capture_filter = "${SENSOR_CAPTURE_FILTER:?SENSOR_CAPTURE_FILTER is not set}"
    assert suricata[-1] == capture_filter
    assert zeek[zeek.index("-f") + 1] == capture_filter and zeek[-1] == "/opt/tapcase/zeek/local.zeek"
    settings = [suricata[i + 1] for i, arg in enumerate(suricata) if arg == "--set"]
    out = f"outputs.{PCAP_LOG_OUTPUT}.pcap-log"
    assert settings == [f"{out}.{key}=${{{var}:?{var} is not set}}" for key, var in (
        ("enabled", "SENSOR_PCAP_ENABLED"), ("limit", "SENSOR_PCAP_FILE_LIMIT"), ("max-files", "SENSOR_PCAP_MAX_FILES"))]
    assert set(PacketLog(8).env_values()) == {"SENSOR_PCAP_ENABLED", "SENSOR_PCAP_FILE_LIMIT", "SENSOR_PCAP_MAX_FILES"}
    assert f"${{SENSOR_LOG_DIR:-/var/log/tapcase}}/pcap:{CONTAINER_DIR}" in services["suricata"]["volumes"]
    install = (SENSOR_IMAGE / "recipe" / "install.sh").read_text()
    assert all(var in install for var in ("SENSOR_CAPTURE_FILTER=", "SENSOR_PCAP_ENABLED=", "SENSOR_PCAP_MAX_FILES="))


def test_suricata_pcap_log_output() -> None:
    conf = yaml.safe_load(SURICATA_YAML.read_text())
    entry = conf["outputs"][PCAP_LOG_OUTPUT]
    assert list(entry) == ["pcap-log"]
    pcap_log = entry["pcap-log"]
    assert pcap_log["enabled"] is False  # the agent enables it, sized from EvidencePcapMaxMB
    assert (pcap_log["filename"], pcap_log["dir"], pcap_log["mode"]) == (FILENAME, CONTAINER_DIR, "normal")
    assert pcap_log["ts-format"] == "usec" and pcap_log["compression"] == "none"
    assert pcap_log["conditional"] == "all" and pcap_log["use-stream-depth"] is False
    assert pcap_log["honor-pass-rules"] is False


@pytest.mark.skipif(
    subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode != 0
    if shutil.which("docker")
    else True,
    reason="docker compose plugin not installed here (the YAML checks above still run)",
)
def test_compose_config_with_docker(tmp_path: Path) -> None:
    proc = subprocess.run(
        ["docker", "compose", "--file", str(SENSOR_IMAGE / "compose.yaml"), "config", "--quiet"],
        capture_output=True, text=True, check=False,
        env={"SENSOR_INTERFACE": "eth0", "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


# -- boot path and AMI recipe -----------------------------------------------------------------


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((SENSOR_IMAGE / "boot" / name).read_text())
    return parser


def test_systemd_units() -> None:
    engines, agent = _unit("tapcase-engines.service"), _unit("tapcase-sensor.service")
    for unit in (engines, agent):
        assert {"Unit", "Service", "Install"} <= set(unit.sections())
        assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert "docker.service" in engines["Unit"]["Requires"]
    start = engines["Service"]["ExecStart"]
    assert "/opt/tapcase-sensor/compose.yaml" in start and "up --detach --no-build --pull never" in start
    pre = re.findall(r"^ExecStartPre=(.*)$", (SENSOR_IMAGE / "boot" / "tapcase-engines.service").read_text(), flags=re.M)
    assert pre == ["/opt/tapcase-sensor/venv/bin/tapcase-sensor prepare-host", "/opt/tapcase-sensor/boot/firewall.sh"]
    assert agent["Service"]["ExecStart"] == "/opt/tapcase-sensor/venv/bin/tapcase-sensor run"
    assert "tapcase-engines.service" in agent["Unit"]["After"]


@pytest.mark.parametrize("script", ["boot/firewall.sh", "recipe/install.sh"])
def test_shell_scripts_parse(script: str) -> None:
    proc = subprocess.run(["bash", "-n", str(SENSOR_IMAGE / script)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_cloud_init_user_data_renders() -> None:
    config = {
        "investigation_id": "inv-1234", "control_queue_name": "tapcase-inv-1234-control", "bucket": "tapcase-evidence",
        "prefix": "investigations/inv-1234", "region": "eu-west-1", "interface": "auto",
    }  # fmt: skip
    text = render_user_data(config)
    assert text.startswith("#cloud-config\n")
    doc = yaml.safe_load(text)
    (agent_json,) = [f for f in doc["write_files"] if f["path"] == "/etc/tapcase-sensor/agent.json"]
    assert json.loads(agent_json["content"]) == config and agent_json["permissions"] == "0600"
    assert any("tapcase-sensor.service" in cmd for cmd in doc["runcmd"])


def test_image_builder_component() -> None:
    text = (SENSOR_IMAGE / "recipe" / "component.yaml").read_text()
    doc = yaml.safe_load(text)
    assert doc["schemaVersion"] == 1.0 and doc["name"] == "tapcase-sensor"
    declared = {next(iter(p)) for p in doc["parameters"]}
    assert set(re.findall(r"\{\{\s*(\w+)\s*\}\}", text)) <= declared
    phases = {p["name"]: p for p in doc["phases"]}
    assert {"build", "validate"} <= set(phases)
    for phase in phases.values():
        for step in phase["steps"]:
            assert step["name"] and step["action"] in {"S3Download", "ExecuteBash"}
    install = (SENSOR_IMAGE / "recipe" / "install.sh").read_text()
    assert "recipe/install.sh" in text
    for image in (versions.SURICATA_IMAGE, versions.ZEEK_IMAGE):
        assert image in install and image in text
    assert "systemctl enable tapcase-engines.service tapcase-sensor.service" in install
    for needed in ("compose.yaml", "suricata", "zeek", "boot", "agent", "README.md"):
        assert (SENSOR_IMAGE / needed).exists(), needed


def test_readme_sensor_section() -> None:
    readme = (SENSOR_IMAGE / "README.md").read_text()
    for needed in ("Build the AMI", "4789", "SSM", "instance type", "Session Manager"):
        assert needed.lower() in readme.lower(), needed
