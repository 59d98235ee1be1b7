"""On paper for AWS (not a test): finding -> mirroring and finding -> report, from the measured local
orchestration plus service latencies that only AWS has.

The local figures come from the same run (:mod:`tests.bench.bench_orchestration`: the state
machine's own work, with the sensor answering at once; :mod:`tests.bench.bench_pipeline`: what the
sensor does when it collects). What a local run cannot measure is an assumption, stated here with
what AWS documents about it:

* GuardDuty -> EventBridge: GuardDuty sends a newly generated finding to EventBridge within 5 minutes
  of generating it (GuardDuty User Guide, "Processing GuardDuty findings with Amazon EventBridge" and
  its notification frequency: the first notification of a new finding ID); EventBridge delivers
  "near real time". The clock below starts when the finding's event is on the bus.
* EventBridge -> StartExecution, Lambda cold starts, per-call latencies of the EC2/SQS/DynamoDB APIs:
  not documented as numbers; assumed.
* The sensor: RunInstances to the agent's "ready" on a pre-baked AMI (engines' images pulled, agent
  installed): not documented; assumed, and the term that decides the goal.
* Athena: a query on a few MB of Parquet; QueryQueueTimeInMillis, QueryPlanningTimeInMillis and
  EngineExecutionTimeInMillis are reported per query (Athena API, QueryRuntimeStatisticsTimeline) but
  not promised; assumed per query, with the pack's MaxConcurrency of 5.
"""

from __future__ import annotations

import math
from typing import Any

#: Seconds (assumptions, see the module docstring).
ASSUMED = {
    "eventbridge_to_start_execution_s": 1.0,
    "lambda_cold_start_s": 1.5,  # Plan's first invocation (Python, powertools, pydantic)
    "aws_api_call_s": 0.15,  # each SDK integration call of the state machine
    "sensor_boot_to_ready_s": 60.0,  # RunInstances -> agent answers "ready" (pre-baked AMI)
    "athena_query_s": 2.5,  # queue + planning + execution on a few MB of Parquet
    "instance_terminate_s": 30.0,  # TerminateInstances -> terminated (the teardown waits for it)
}
#: Step Functions SDK calls before the sessions exist: lock, SG, ingress, queue, RunInstances,
#: SendMessage (ready), target, one session per ENI (one here).
CALLS_BEFORE_MIRRORING = 8
GOAL_FINDING_TO_MIRRORING_S = 90.0
WINDOW_S = 600.0
PACK_QUERIES = 19
MAX_CONCURRENCY = 5


def estimate(orchestration: dict[str, Any], collect_s: float) -> dict[str, Any]:
    """``orchestration``: bench_orchestration's figures; ``collect_s``: the sensor's collect after the
    window on AWS (stop the engines, curate, upload), from the pipeline's measured stages."""
    local_to_sessions = orchestration["sessions_created_s"]
    local_ready = orchestration.get("sensor_ready_s", 0.0)
    finding_to_mirroring = (
        ASSUMED["eventbridge_to_start_execution_s"] + ASSUMED["lambda_cold_start_s"]
        + CALLS_BEFORE_MIRRORING * ASSUMED["aws_api_call_s"]
        + max(0.0, local_to_sessions - local_ready)  # the interpreter's own work, measured
        + ASSUMED["sensor_boot_to_ready_s"]
    )
    analysis = math.ceil(PACK_QUERIES / MAX_CONCURRENCY) * ASSUMED["athena_query_s"]
    states = orchestration.get("states_s", {})
    report_and_teardown = states.get("WriteReport", 0.0) + states.get("Teardown", 0.0) + ASSUMED["instance_terminate_s"]
    finding_to_report = finding_to_mirroring + WINDOW_S + 2 * ASSUMED["aws_api_call_s"] + collect_s + analysis + \
        states.get("WriteReport", 0.0)
    return {
        "finding_to_mirroring_s": round(finding_to_mirroring, 1),
        "finding_to_report_s": round(finding_to_report, 1),
        "finding_to_teardown_s": round(finding_to_report + report_and_teardown, 1),
        "goal_finding_to_mirroring_s": GOAL_FINDING_TO_MIRRORING_S,
        "goal_met": finding_to_mirroring <= GOAL_FINDING_TO_MIRRORING_S,
        "sensor_boot_budget_s": round(GOAL_FINDING_TO_MIRRORING_S - (finding_to_mirroring
                                                                     - ASSUMED["sensor_boot_to_ready_s"]), 1),
        "window_s": WINDOW_S, "analysis_s": analysis, "collect_s": round(collect_s, 2),
        "assumed": dict(ASSUMED),
        "measured_local": {"start_to_sessions_s": local_to_sessions, "sensor_ready_local_s": local_ready},
    }
