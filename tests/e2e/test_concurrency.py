"""Caps on concurrency: MaxConcurrentInvestigations in the account (extra investigations wait for a
slot, or are refused, with the reason) and MaxConcurrentSensors per multi-instance request."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from tests.conftest import wait_for_execution
from tests.e2e.conftest import TIME_SCALE, created_anything, make_instance

NOTHING = {"security_groups": 0, "instances": 0, "filters": 0, "targets": 0, "sessions": 0, "queues": 0, "locks": 0}


@pytest.fixture(scope="module")
def cloud():
    from tapcase.localcloud import LocalCloud

    parameters = {"MaxConcurrentInvestigations": "1", "MaxConcurrentSensors": "1", "ConcurrencyLimitAction": "wait"}
    with LocalCloud(time_scale=TIME_SCALE, parameters=parameters) as local:
        yield local


def _start_all(cloud, requests: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    sfn = cloud.client("stepfunctions")
    arn = cloud.stack.outputs["InvestigationStateMachineArn"]
    started = {name: sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(req))["executionArn"]
               for name, req in requests.items()}
    results: dict[str, dict[str, Any]] = {}
    threads = [threading.Thread(target=lambda n=n, ex=ex: results.__setitem__(n, wait_for_execution(sfn, ex, 180)))
               for n, ex in started.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _states(cloud, execution_arn: str) -> list[str]:
    events = cloud.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def test_an_investigation_beyond_the_cap_waits_for_a_slot(cloud):
    a, b = make_instance(cloud, cidr="10.71"), make_instance(cloud, cidr="10.72")
    results = _start_all(cloud, {f"cap-{x}": {"instance_id": i["instance_id"], "duration_seconds": 120}
                                 for x, i in (("a", a), ("b", b))})
    assert {d["status"] for d in results.values()} == {"SUCCEEDED"}
    waited = [name for name, d in results.items() if "WaitForSlot" in _states(cloud, d["executionArn"])]
    assert len(waited) == 1  # the second one waited for the first one's slot
    first, second = sorted(results.values(), key=lambda d: "WaitForSlot" in _states(cloud, d["executionArn"]))
    assert second["stopDate"] > first["stopDate"]
    assert created_anything(cloud) == NOTHING


def test_a_selection_runs_at_most_max_concurrent_sensors_at_once(cloud):
    ec2 = cloud.client("ec2")
    instances = [make_instance(cloud, cidr=f"10.{73 + i}") for i in range(2)]
    ec2.create_tags(Resources=[i["instance_id"] for i in instances], Tags=[{"Key": "fleet", "Value": "web"}])
    results = _start_all(cloud, {"fleet-1": {"tags": {"fleet": "web"}, "duration_seconds": 120}})
    out = json.loads(results["fleet-1"]["output"])
    assert out["status"] == "fanned_out" and {c["status"] for c in out["investigations"]} == {"SUCCEEDED"}
    sfn = cloud.client("stepfunctions")
    children = sorted((sfn.describe_execution(executionArn=c["execution_arn"]) for c in out["investigations"]),
                      key=lambda d: d["startDate"])
    assert children[1]["startDate"] >= children[0]["stopDate"]  # MaxConcurrentSensors=1: one after the other


def test_an_investigation_beyond_the_cap_is_refused_when_asked_to(cloud):
    # the stack redeployed with ConcurrencyLimitAction=refuse: the Admit function's environment
    lam = cloud.client("lambda")
    name = cloud.resource("AdmitFunction")
    env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {**env,
                                                                                    "CONCURRENCY_LIMIT_ACTION": "refuse"}})
    try:
        a, b = make_instance(cloud, cidr="10.76"), make_instance(cloud, cidr="10.77")
        results = _start_all(cloud, {f"refuse-{x}": {"instance_id": i["instance_id"], "duration_seconds": 120}
                                     for x, i in (("a", a), ("b", b))})
    finally:
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": env})
    statuses = sorted((d["status"], d.get("error")) for d in results.values())
    assert statuses == [("FAILED", "TooManyInvestigations"), ("SUCCEEDED", None)]
    refused = next(d for d in results.values() if d["status"] == "FAILED")
    assert "allows 1 at once (MaxConcurrentInvestigations)" in refused["cause"] and "refuse" in refused["cause"]
    assert created_anything(cloud) == NOTHING  # the refused one created nothing and gave its lock back
