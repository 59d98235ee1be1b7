"""The sensor's detection content: tapcase.rules loads in Suricata 7 with nothing failed, every rule
is tapcase's (sid range, TAPCASE prefix) and names its MITRE ATT&CK technique; the image fetches ET
Open for its own Suricata version at build time (suricata-update), pinnable by sha256."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tapcase_sensor import paths, versions

RULES = paths.suricata_rules_dir() / "tapcase.rules"
DOCKERFILE = paths.suricata_config().parent / "Dockerfile"


def rules() -> list[str]:
    return [line for line in RULES.read_text().splitlines() if line.startswith("alert ")]


def test_every_rule_is_tapcases_and_names_its_technique():
    found = rules()
    assert len(found) >= 7
    sids = [int(re.search(r"\bsid:(\d+);", r).group(1)) for r in found]
    assert len(set(sids)) == len(sids) and all(9_100_000 <= s <= 9_100_999 for s in sids)
    for rule in found:
        assert re.search(r'msg:"TAPCASE ', rule), rule
        assert re.search(r"mitre_technique_id T\d{4}", rule), rule
        assert "classtype:" in rule and "rev:" in rule


def test_suricata_loads_the_rules_directory_with_nothing_failed(tmp_path):
    binary = shutil.which("suricata")
    if binary is None:
        pytest.fail("suricata is not installed: `make test` installs it (scripts/install-system-deps.sh)")
    proc = subprocess.run(
        [binary, "-T", "-c", str(paths.suricata_config()), "-l", str(tmp_path), "--init-errors-fatal",
         "--set", f"default-rule-path={paths.suricata_rules_dir()}", "--set", "unix-command.enabled=no"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = (tmp_path / "suricata.log").read_text()
    loaded = re.search(r"(\d+) rules successfully loaded, (\d+) rules failed", log)
    assert loaded and int(loaded.group(1)) == len(rules()) and loaded.group(2) == "0", log[-2000:]


def test_the_image_fetches_et_open_for_its_suricata_version_pinnable_by_sha256():
    text = DOCKERFILE.read_text()
    assert f"ARG ET_OPEN_URL={versions.ET_OPEN_URL}" in text
    assert f"suricata-update --no-test --no-reload --suricata-version {versions.SURICATA_VERSION}" in text
    assert "ARG ET_OPEN_SHA256=" in text and "sha256sum -c -" in text
    assert "ARG ET_OPEN=1" in text  # fetched by default
    # ET Open and tapcase.rules land where suricata.yaml loads every *.rules file from
    assert "--output /etc/tapcase/rules" in text
    assert "default-rule-path: /etc/tapcase/rules" in paths.suricata_config().read_text()
