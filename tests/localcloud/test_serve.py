"""`tapcase local serve`: a separate process that plain boto3 clients can use."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import REPO

TAPCASE = Path(sys.executable).parent / "tapcase"


@pytest.fixture(scope="module")
def served():
    proc = subprocess.Popen(
        [str(TAPCASE), "local", "serve", "--port", "0", "--time-scale", "0"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("endpoint: ") or proc.poll() is not None:
                break
        assert line.startswith("endpoint: http://127.0.0.1:"), (line, proc.stderr.read() if proc.poll() else "")
        yield line.split()[-1]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


def _client(service, endpoint, region):
    # Any region, any credentials: the local cloud serves one region.
    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id="AKIAANYTHING", aws_secret_access_key="whatever")


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1"])
def test_plain_boto3_sees_the_stack(served, region):
    machines = _client("stepfunctions", served, region).list_state_machines()["stateMachines"]
    assert [m["name"] for m in machines] == ["tapcase-InvestigationStateMachine"]
    functions = _client("lambda", served, region).list_functions()["Functions"]
    assert "tapcase-PlanFunction" in {f["FunctionName"] for f in functions}


def test_invoke_over_http_runs_the_handler(served):
    resp = _client("lambda", served, "ap-south-1").invoke(
        FunctionName="tapcase-PlanFunction",
        Payload=json.dumps({"request": {"instance_id": "i-0abcdef1234567890"}, "execution_name": "serve-test"}),
    )
    # The handler ran: it looked the instance up in the local EC2 and refused by name.
    assert resp["FunctionError"] == "Unhandled"
    payload = json.loads(resp["Payload"].read())
    assert payload["errorType"] == "InstanceNotFound" and "i-0abcdef1234567890" in payload["errorMessage"]


def test_refusal_comes_back_as_client_error(served):
    ec2 = _client("ec2", served, "us-west-2")
    with pytest.raises(ClientError) as err:
        ec2.create_traffic_mirror_session(
            NetworkInterfaceId="eni-0000000000000000a", TrafficMirrorTargetId="tmt-0000000000000000a",
            TrafficMirrorFilterId="tmf-0000000000000000a", SessionNumber=1,
        )
    assert err.value.response["Error"]["Code"].startswith("Invalid")


def test_serve_stops_on_sigterm():
    proc = subprocess.Popen([str(TAPCASE), "local", "serve", "--port", "0"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout.readline().startswith("endpoint: ")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
