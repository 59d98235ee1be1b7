"""The agent distribution carries tapcase_contract, and the sensor bundle carries what it needs.

The AMI recipe installs the agent with a plain ``pip install sensor_image/agent`` from the unpacked
bundle (``sensor_image/recipe/install.sh``); the agent's pyproject takes ``tapcase_contract`` from
``../../functions/tapcase_contract``. Here the bundle is built (``make sensor-bundle``), unpacked
into an empty folder and the agent installed from it, non-editable, into a fresh virtualenv.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile

import pytest

from tapcase.sensor_bundle import PARTS, build_bundle, members
from tests.conftest import REPO


def test_bundle_holds_the_sensor_image_and_the_contract(tmp_path):
    bundle = build_bundle(tmp_path / "sensor_image.tar.gz")
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
    assert names == sorted(names) == [p.as_posix() for p in members()]
    for needed in ("sensor_image/compose.yaml", "sensor_image/recipe/install.sh", "sensor_image/agent/pyproject.toml",
                   "functions/tapcase_contract/__init__.py", "functions/tapcase_contract/sensor_config.py"):
        assert needed in names
    assert not [n for n in names if "__pycache__" in n or ".egg-info" in n or "/." in n]
    assert {n.split("/")[0] for n in names} == {"sensor_image", "functions"}
    assert not [n for n in names if n.startswith("functions/") and not n.startswith(f"{PARTS[1]}/")]


@pytest.mark.slow
def test_plain_install_of_the_agent_from_the_bundle_imports_the_contract(tmp_path):
    src = tmp_path / "src"
    with tarfile.open(build_bundle(tmp_path / "sensor_image.tar.gz")) as tar:
        tar.extractall(src, filter="data")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    # what install.sh runs (its dependencies, boto3 and pyarrow, are not what is checked here)
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                                str(src / "sensor_image" / "agent")], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr[-3000:]
    check = ("import tapcase_contract, tapcase_contract.sensor_config, tapcase_sensor, tapcase_sensor.config;"
             "print(tapcase_contract.__file__); print(tapcase_sensor.config.__file__)")
    proc = subprocess.run([str(python), "-s", "-c", check], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    contract, config = proc.stdout.split()
    # copies in the venv, not the checkout or the unpacked bundle
    assert contract == f"{site}/tapcase_contract/__init__.py" and config.startswith(site)
    assert not contract.startswith(str(REPO))
    version = subprocess.run([str(venv / "bin" / "tapcase-sensor"), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "tapcase-sensor" in version.stdout + version.stderr
