"""Orchestration alone (not a test): the state machine with a sensor that answers at once.

    .venv/bin/python -m tests.bench.bench_orchestration [--runs 10] [--json FILE]

In a fresh process, one local cloud at time scale 0 and an instance with no traffic: the local
sensor answers ``ready`` and ``collect`` at once (its engines have nothing to analyse: no Suricata
run, an empty manifest), so what is measured is the workflow itself -- Plan, lock, security group,
queue, RunInstances, the sensor's readiness, filter, target, sessions, stop, collect, the pack on
(empty) tables, report, teardown. For each run, from StartExecution (the client's clock) to:

* **sessions created**: the last ``CreateMirrorSession`` task succeeded (history timestamps);
* **teardown complete**: the ``Teardown`` state exited.

Medians over ``--runs`` runs after one warm-up run (the first run pays imports and clients).
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.bench.captures import REPO


def _at(event: dict[str, Any]) -> float:
    stamp = event["timestamp"]
    if isinstance(stamp, datetime.datetime):
        return stamp.timestamp()
    return float(stamp)


def milestones(history: list[dict[str, Any]], started: float) -> dict[str, float]:
    """Seconds from ``started`` (epoch) to the sessions created and the teardown complete."""
    entered: dict[int, str] = {}
    current = ""
    sessions = teardown = None
    for event in history:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            current = event["stateEnteredEventDetails"]["name"]
            entered[event["id"]] = current
        elif kind == "TaskSucceeded" and current == "CreateMirrorSession":
            sessions = _at(event)
        elif kind.endswith("StateExited") and event["stateExitedEventDetails"]["name"] == "Teardown":
            teardown = _at(event)
    if sessions is None or teardown is None:
        raise RuntimeError("the execution did not create sessions and tear down")
    return {"sessions_created_s": sessions - started, "teardown_complete_s": teardown - started,
            "execution_s": _at(history[-1]) - started}


def child(runs: int) -> dict[str, Any]:
    from tapcase.investigate import Clients, investigate_once
    from tapcase.localcloud import LocalCloud, sensors
    from tests.bench.stages import Timers, state_durations
    from tests.e2e.test_load import instances_with_the_suspect_address

    timers = Timers()
    from tapcase_sensor import agent as agent_module

    timers.wrap(agent_module.Agent, "wait_for_sensor", "sensor: ready")
    timers.wrap(agent_module.Agent, "collect_evidence", "sensor: collect")
    with LocalCloud(time_scale=0) as cloud:
        sensors.set_capture(None)  # no traffic: the sensor has nothing to analyse
        (instance,) = instances_with_the_suspect_address(cloud, 1, 1)
        sfn = Clients.of(cloud.endpoint).sfn
        out = Path("/tmp/tapcase-bench-orchestration")
        request = {"instance_id": instance, "duration_seconds": 600, "reason": "orchestration benchmark"}
        investigate_once(cloud.endpoint, request, out=out)  # warm-up
        timers.intervals.clear()
        measured: list[dict[str, float]] = []
        states: list[dict[str, float]] = []
        for index in range(runs):
            name = f"orchestration-{index}-{time.time_ns()}"
            began = time.time()
            summary = investigate_once(cloud.endpoint, request, out=out, name=name)
            if summary["status"] != "SUCCEEDED" or any(summary["leftovers"].values()):
                raise RuntimeError(f"orchestration run failed: {summary}")
            history = sfn.get_execution_history(executionArn=summary["execution_arn"], maxResults=1000)["events"]
            measured.append({**milestones(history, began), "investigate_once_s": time.time() - began})
            states.append(state_durations(history))
    def median(key: str, rows: list[dict[str, float]]) -> float:
        return round(statistics.median(r.get(key, 0.0) for r in rows), 4)

    names = sorted({k for s in states for k in s})
    return {
        "runs": runs,
        "sessions_created_s": median("sessions_created_s", measured),
        "teardown_complete_s": median("teardown_complete_s", measured),
        "execution_s": median("execution_s", measured),
        "sessions_created_runs_s": [round(m["sessions_created_s"], 4) for m in measured],
        "teardown_complete_runs_s": [round(m["teardown_complete_s"], 4) for m in measured],
        "states_s": {n: median(n, states) for n in names},
        "sensor_ready_s": round(timers.total("sensor: ready") / max(1, timers.count("sensor: ready")), 4),
        "sensor_collect_s": round(timers.total("sensor: collect") / max(1, timers.count("sensor: collect")), 4),
    }


def measure(runs: int) -> dict[str, Any]:
    """Run :func:`child` in a fresh process and return its figures."""
    proc = subprocess.run([sys.executable, "-m", "tests.bench.bench_orchestration", "--child", str(runs)],
                          capture_output=True, text=True, check=False, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"orchestration benchmark failed:\n{proc.stderr[-4000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    figures = measure(args.runs)
    print(f"orchestration alone, median of {figures['runs']}: start -> sessions created "
          f"{figures['sessions_created_s']:.2f} s, start -> teardown complete {figures['teardown_complete_s']:.2f} s")
    for name, seconds in sorted(figures["states_s"].items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {name:28} {seconds:6.2f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
