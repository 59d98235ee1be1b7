"""The Lambda package boundary: every ``Handler`` of template.yaml imports where Lambda runs it.

``sam build`` ships ``functions/`` (``CodeUri``) with ``functions/requirements.txt``; the python3.11
runtime adds boto3/botocore. A fresh virtualenv holding exactly that imports each handler with only
``functions/`` on the path, so a handler that imports something Lambda does not have (duckdb, the
CLI's ``tapcase``, the sensor's ``tapcase_sensor``) fails here, not on AWS.

The virtualenv is built once per content of the requirements (and these pins) and kept under
``.venv/`` (``make clean`` removes it); building it needs pip's cache or the package index.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_template import FUNCTIONS

#: What the Lambda python3.11 runtime provides. AWS documents that the runtime's SDK version
#: depends on the runtime version and Region (Lambda developer guide, "Runtime-included SDK
#: versions") and publishes no fixed table: the project's own boto3 pin (pyproject.toml) and the
#: botocore released with it stand for it.
RUNTIME_PROVIDED = ("boto3==1.44.5", "botocore==1.44.5")
REQUIREMENTS = REPO / "functions" / "requirements.txt"
CACHE_ROOT = REPO / ".venv"

IMPORT_HANDLERS = r"""
import importlib, json, sys
functions = sys.argv[1]
sys.path[:] = [functions] + [p for p in sys.path if p.endswith(("site-packages", ".zip")) or "/lib/python3" in p]
results = {}
for handler in json.loads(sys.argv[2]):
    module, _, attr = handler.rpartition(".")
    try:
        results[handler] = "ok" if callable(getattr(importlib.import_module(module), attr)) else "not callable"
    except Exception as exc:
        results[handler] = f"{type(exc).__name__}: {exc}"
outside = sorted({m.split(".")[0] for m, mod in sys.modules.items()
                  if getattr(mod, "__file__", None) and mod.__file__.startswith(sys.argv[3])
                  and not mod.__file__.startswith((functions, sys.prefix))})
print(json.dumps({"handlers": results, "from_the_checkout": outside}))
"""


def _venv() -> Path:
    """The boundary virtualenv for the current requirements (built on first use, then reused)."""
    key = hashlib.sha256(REQUIREMENTS.read_bytes() + "\n".join(RUNTIME_PROVIDED).encode()
                         + sys.version.encode()).hexdigest()[:16]
    venv = CACHE_ROOT / f"lambda-boundary-{key}"
    CACHE_ROOT.mkdir(exist_ok=True)
    with open(CACHE_ROOT / ".lambda-boundary.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time (parallel workers, parallel runs)
        if (venv / ".complete").is_file():
            return venv
        building = venv.with_name(venv.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(building)], check=True, capture_output=True)
        pip = [str(building / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        done = subprocess.run([*pip, "-r", str(REQUIREMENTS), *RUNTIME_PROVIDED], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"cannot build the Lambda boundary virtualenv: {done.stderr[-2000:]}")
        shutil.rmtree(venv, ignore_errors=True)
        building.rename(venv)  # its interpreter finds its site-packages relative to itself; pip is not used again
        (venv / ".complete").write_text("\n".join([*REQUIREMENTS.read_text().splitlines(), *RUNTIME_PROVIDED]) + "\n")
        return venv


@pytest.fixture(scope="module")
def boundary() -> Path:
    return _venv()


def _run(venv: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "AWS_REGION": "us-east-1", "POWERTOOLS_DEV": "false"}
    return subprocess.run([str(venv / "bin" / "python"), "-s", "-c", script, *args], capture_output=True, text=True,
                          cwd=venv, env=env, timeout=120)


def test_the_runtime_pins_are_the_projects():
    pinned = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert RUNTIME_PROVIDED[0] in pinned


def test_every_handler_imports_with_only_the_lambda_package(boundary):
    handlers = sorted(f["Properties"]["Handler"] for f in FUNCTIONS.values())
    proc = _run(boundary, IMPORT_HANDLERS, str(REPO / "functions"), json.dumps(handlers), str(REPO))
    assert proc.returncode == 0, proc.stderr
    outcome = json.loads(proc.stdout)
    assert outcome["handlers"] == {h: "ok" for h in handlers}, outcome["handlers"]
    # nothing of the checkout but functions/ (no tapcase CLI, no sensor agent) was imported
    assert outcome["from_the_checkout"] == [], outcome["from_the_checkout"]


def test_the_boundary_has_no_cli_or_sensor_packages(boundary):
    # what a handler must not import is really absent there (so importing it would fail the test above)
    for module in ("duckdb", "tapcase", "tapcase_sensor", "pyarrow", "moto"):
        proc = _run(boundary, f"import {module}")
        assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr, module
