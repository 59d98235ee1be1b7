"""`tapcase local serve --story` in one process, the stack's CLI in others, as a user runs them:
investigate (--wait, --dry-run), status, report, list, schedule create/list/delete."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

TAPCASE = Path(sys.executable).parent / "tapcase"
INSTANCE = "i-0a1b2c3d4e5f60718"  # the c2-dns story's suspect


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("serve")
    proc = subprocess.Popen([str(TAPCASE), "local", "serve", "--port", "0", "--time-scale", "0.005", "--story", "c2-dns"],
                            cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("endpoint: http://127.0.0.1:"), (line, proc.stderr.read() if proc.poll() else "")
        yield line.split()[-1], proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


def _tapcase(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TAPCASE), *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


def test_serve_prints_an_example_command(served):
    _, proc = served
    lines = [proc.stdout.readline() for _ in range(3)]
    assert f"tapcase investigate --instance-id {INSTANCE} --duration 1m --wait --endpoint http://127.0.0.1:" in lines[1]


def test_investigate_wait_runs_to_succeeded_and_says_where_the_report_is(served, tmp_path):
    endpoint, _ = served
    result = _tapcase("investigate", "--instance-id", INSTANCE, "--duration", "1m", "--wait", "--endpoint", endpoint,
                      "--out", str(tmp_path), "--reason", "cli test")
    assert result.returncode == 0, result.stderr[-2000:]
    err = result.stderr
    assert "SUCCEEDED" in err and "report: s3://tapcase-evidencebucket/investigations/" in err
    local = next(line.split(": ", 1)[1] for line in err.splitlines() if line.strip().startswith("local copy:"))
    assert Path(local).is_file() and json.loads(Path(local).read_text())
    # progress: plain lines, one per state with its time (not a terminal); no function JSON logs
    assert any(line.strip().startswith("✓ Capture") and line.rstrip().endswith("s") for line in err.splitlines())
    assert not any(line.lstrip().startswith('{"level"') or '"_aws"' in line for line in err.splitlines())
    assert "Traceback" not in err and "Warning" not in err


def test_dry_run_prints_the_plan_and_leaves_nothing(served):
    endpoint, _ = served
    result = _tapcase("investigate", "--instance-id", INSTANCE, "--duration", "1m", "--dry-run", "--endpoint", endpoint,
                      "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    (plan,) = summary["dry_run"]["plans"]
    assert plan["sources"][0]["eni_id"] == "eni-0a1b2c3d4e5f60718" and plan["duration_seconds"] == 60
    import boto3

    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x",
                       aws_secret_access_key="x")
    tagged = [{"Name": "tag-key", "Values": ["tapcase:investigation-id"]}]
    assert not ec2.describe_traffic_mirror_sessions(Filters=tagged)["TrafficMirrorSessions"]
    assert not ec2.describe_security_groups(Filters=tagged)["SecurityGroups"]


def test_status_report_and_list_find_the_investigation(served, tmp_path):
    endpoint, _ = served
    result = _tapcase("list", "--endpoint", endpoint, "--json")
    listed = json.loads(result.stdout)
    assert listed, result.stderr
    done = listed[-1]  # newest first: the first one started is the --wait investigation
    status = json.loads(_tapcase("status", done["name"], "--endpoint", endpoint, "--json").stdout)
    assert status["status"] == "SUCCEEDED" and status["execution_arn"] == done["execution_arn"]
    fetched = json.loads(_tapcase("report", done["name"], "--endpoint", endpoint, "--out", str(tmp_path), "--json").stdout)
    assert Path(fetched["report"]).is_file()
    missing = _tapcase("status", "no-such-run", "--endpoint", endpoint)
    assert missing.returncode == 2 and "no execution no-such-run" in missing.stderr


def test_schedules_are_created_listed_and_deleted(served):
    endpoint, _ = served
    created = _tapcase("schedule", "create", "weekly", "--expression", "cron(0 3 ? * MON *)", "--tag", "team=payments",
                       "--duration", "5m", "--endpoint", endpoint)
    assert created.returncode == 0, created.stderr
    rows = json.loads(_tapcase("schedule", "list", "--endpoint", endpoint, "--json").stdout)
    assert {"name": "weekly", "state": "ENABLED", "expression": "cron(0 3 ? * MON *)", "timezone": "UTC",
            "selects": {"team": "payments"}, "duration_seconds": 300} in rows
    refused = _tapcase("schedule", "create", "bad", "--expression", "daily", "--tag", "a=b", "--endpoint", endpoint)
    assert refused.returncode == 2 and "Invalid Schedule Expression daily" in refused.stderr
    assert _tapcase("schedule", "delete", "weekly", "--endpoint", endpoint).returncode == 0
    assert not json.loads(_tapcase("schedule", "list", "--endpoint", endpoint, "--json").stdout)
