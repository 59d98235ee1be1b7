"""Shared test helpers.

Only one local cloud can run per process, so local-cloud fixtures are module-scoped and the suite
runs with ``pytest -n 2 --dist loadfile`` (a file's tests stay in one worker).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "test")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")


def shared(*parts: str) -> Path:
    """A file of ../shared/data (the real external test oracles)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"shared test data missing: {path} (../shared must sit beside the repo)")
    return path


def wait_for_execution(sfn: Any, execution_arn: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll DescribeExecution until the execution leaves RUNNING (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        desc = sfn.describe_execution(executionArn=execution_arn)
        if desc["status"] != "RUNNING":
            return desc
        if time.monotonic() > deadline:
            raise TimeoutError(f"{execution_arn} still RUNNING after {timeout}s")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def deployed_cloud():
    """The local cloud with template.yaml deployed, time scaled to 0."""
    from tapcase.localcloud import LocalCloud

    with LocalCloud(time_scale=0) as cloud:
        yield cloud


_SESSION_STARTED = time.time()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The fault table (tests/e2e/test_fault_table.py), when this run wrote it (also under xdist:
    a worker writes the file, the controller prints it)."""
    from tests.e2e.fault_table import TABLE_FILE

    if TABLE_FILE.is_file() and TABLE_FILE.stat().st_mtime >= _SESSION_STARTED:
        terminalreporter.write_sep("-", "fault table")
        terminalreporter.write(TABLE_FILE.read_text())
