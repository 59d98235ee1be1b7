"""Cost of one investigation on AWS, read from a local run (not a test).

    .venv/bin/python -m tests.bench.bench_cost [--size-mb 10] [--json FILE]

One investigation of the c2-dns story's capture (:mod:`tests.bench.captures`) with its sample
GuardDuty finding, in a fresh process on the local cloud, counted as AWS would bill it:

* **state transitions**: the execution history's ``StateEntered`` events, plus every retry of a task
  (AWS counts retries as transitions);
* **API calls by service**: every request the local cloud answered, by caller
  (:mod:`tapcase.localcloud.api_calls`): the state machine's integrations, the Lambda functions and
  the sensor -- what runs in the account; the CLI's own calls are left out;
* **Lambda**: invocations and their durations here, in GB-seconds at each function's MemorySize;
* **Athena**: bytes scanned per query, with the 10 MB minimum per query: the local engine's figure
  (whole objects read) and what Athena reads of the Parquet (the column chunks of the columns each
  query references, from the Parquet footers: ``tests.bench.bench_lake``), against the raw JSON bytes
  the same queries would read;
* **S3**: requests by price tier, plus Athena's own reads of the objects and writes of the results;
* **sensor instance-hours and session-hours** on AWS: the declared capture window (the finding's
  ``DefaultCaptureSeconds``, 600 s) plus the sensor's boot (assumed, see ``SENSOR_BOOT_S``) plus the
  measured time after the window (collect, analysis, report, teardown).

Prices: :mod:`tests.bench.prices` (us-east-1, on-demand, with their sources).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from tests.bench.aws_paper import ASSUMED
from tests.bench.captures import MB, REPO, story_capture
from tests.bench.prices import LOOKED_UP, PRICES, REGION, price

#: Seconds from RunInstances to the agent's "ready" on AWS: an assumption, not a measurement
#: (tests.bench.aws_paper.ASSUMED, with what AWS documents about it).
SENSOR_BOOT_S = ASSUMED["sensor_boot_to_ready_s"]
#: The capture window of an investigation started by a GuardDuty finding (template DefaultCaptureSeconds).
WINDOW_S = 600.0
#: The agent long-polls its queue 20 s at a time on AWS (AgentConfig.poll_wait_seconds).
AGENT_POLL_S = 20.0
ATHENA_MINIMUM = 10 * MB
BILLED_CALLERS = ("states", "lambda", "sensor")
S3_PUT_TIER = {"PutObject", "CopyObject", "PostObject", "ListObjectsV2", "ListObjects", "ListBuckets",
               "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "CreateBucket"}


def state_transitions(history: list[dict[str, Any]]) -> dict[str, int]:
    """States entered, and task attempts beyond the first of each task state entered (retries)."""
    entered = sum(1 for e in history if e["type"].endswith("StateEntered"))
    kinds = Counter(e["type"] for e in history)
    retries = max(0, kinds["TaskScheduled"] - kinds["TaskStateEntered"])
    return {"states_entered": entered, "task_retries": retries, "billed": entered + retries}


def athena_queries(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every Athena query of the execution: its local DataScannedInBytes and state."""
    out = []
    for event in history:
        if event["type"] != "TaskSucceeded":
            continue
        details = event.get("taskSucceededEventDetails", {})
        if details.get("resourceType") != "athena":
            continue
        execution = json.loads(details["output"])["QueryExecution"]
        sql = execution["Query"]
        name = sql.splitlines()[0].removeprefix("-- name:").strip() if sql.startswith("-- name:") else "?"
        out.append({"id": execution["QueryExecutionId"], "query": name, "sql": sql,
                    "state": execution["Status"]["State"],
                    "local_bytes": int(execution["Statistics"]["DataScannedInBytes"])})
    return out


def _download_prefix(cloud: Any, bucket: str, prefix: str, root: Path) -> None:
    from tapcase.localcloud.athena.storage import S3Store

    store = S3Store(cloud.account_id, cloud.region)
    for obj in store.list(f"s3://{bucket}/{prefix}"):
        target = root / obj.key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(store.read(obj))


def parquet_scan(cloud: Any, bucket: str, investigation_id: str, queries: list[dict[str, Any]]) -> dict[str, Any]:
    """What Athena reads of the Parquet for each query that ran (column chunks), and the raw JSON
    the same table references would read (whole files), with the 10 MB minimum applied."""
    from tapcase_contract.layout import CURATED_PREFIX, RAW_DIR, evidence_prefix
    from tests.bench.bench_lake import column_chunk_bytes, references, scanned

    with tempfile.TemporaryDirectory(prefix="tapcase-bench-cost-") as scratch:
        root = Path(scratch)
        _download_prefix(cloud, bucket, f"{CURATED_PREFIX}/", root)
        _download_prefix(cloud, bucket, f"{evidence_prefix(investigation_id)}/{RAW_DIR}/", root)
        chunks = column_chunk_bytes(root, investigation_id)
        raw_bytes: dict[str, int] = defaultdict(int)
        for path in (root / evidence_prefix(investigation_id) / RAW_DIR).rglob("*"):
            if path.is_file() and path.parent.name in ("suricata", "zeek") and path.suffix in (".json", ".log"):
                table = "suricata_eve" if path.parent.name == "suricata" else f"zeek_{path.stem}"
                raw_bytes[table] += path.stat().st_size
        per_query = []
        for query in queries:
            parquet, raw = scanned(references(query["sql"]), chunks, raw_bytes)
            per_query.append({"query": query["query"], "parquet_bytes": parquet, "raw_json_bytes": raw})
    total_parquet = sum(q["parquet_bytes"] for q in per_query)
    total_raw = sum(q["raw_json_bytes"] for q in per_query)
    return {
        "queries": per_query,
        "parquet_bytes": total_parquet,
        "raw_json_bytes": total_raw,
        "raw_json_log_bytes": sum(raw_bytes.values()),
        "parquet_share_of_raw": round(total_parquet / total_raw, 4) if total_raw else None,
        "billed_parquet_bytes": sum(max(q["parquet_bytes"], ATHENA_MINIMUM) for q in per_query),
        "billed_raw_json_bytes": sum(max(q["raw_json_bytes"], ATHENA_MINIMUM) for q in per_query),
    }


def function_memory() -> dict[str, int]:
    """MemorySize (MB) of each function of the template, by logical id."""
    from tapcase.localcloud.cfn import load_template

    template = load_template(REPO / "template.yaml")
    default = int(template.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    return {logical_id: int(resource["Properties"].get("MemorySize") or default)
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] == "AWS::Serverless::Function"}


def collect(cloud: Any, summary: dict[str, Any], history: list[dict[str, Any]], calls: list[dict[str, Any]],
            lambda_spans: dict[str, list[tuple[float, float]]]) -> dict[str, Any]:
    """The counts of one finished investigation (its cloud still running)."""
    from tests.bench.stages import state_durations

    memory = function_memory()
    queries = athena_queries(history)
    scan = parquet_scan(cloud, cloud.resource("EvidenceBucket"), summary["investigation_id"], queries)
    lambdas = []
    for name, spans in lambda_spans.items():
        logical = next((k for k in memory if name.endswith(k)), "")
        seconds = sum(end - begin for begin, end in spans)
        size = memory.get(logical, 128)
        lambdas.append({"function": logical or name, "invocations": len(spans), "seconds": round(seconds, 4),
                        "memory_mb": size, "gb_seconds": round(seconds * size / 1024, 4)})
    return {
        "investigation_id": summary["investigation_id"], "transitions": state_transitions(history),
        "states_s": state_durations(history), "calls": calls, "lambda": lambdas, "scan": scan,
        "athena": [{k: v for k, v in q.items() if k != "sql"} for q in queries],
    }


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """One investigation, counted (runs in a fresh process)."""
    from tapcase.investigate import Clients, investigate_once
    from tapcase.localcloud import LocalCloud, api_calls, lambda_runtime
    from tests.bench.stages import Timers

    timers = Timers()
    timers.wrap(lambda_runtime, "run_function", lambda fn, event: fn.function_name)
    event = json.loads(Path(spec["finding"]).read_text())
    with LocalCloud(time_scale=0) as cloud:
        api_calls.reset()
        summary = investigate_once(cloud.endpoint, event, pcap=Path(spec["pcap"]), out=Path(spec["out"]))
        calls = api_calls.snapshot()
        if summary["status"] != "SUCCEEDED":
            raise RuntimeError(f"the investigation did not succeed: {summary}")
        history = Clients.of(cloud.endpoint).sfn.get_execution_history(
            executionArn=summary["execution_arn"], maxResults=1000)["events"]
        return collect(cloud, summary, history, calls, dict(timers.intervals))


def estimate(run: dict[str, Any]) -> dict[str, Any]:
    """Dollars per investigation from one run's counts (see the module docstring)."""
    calls = [c for c in run["calls"] if c["caller"] in BILLED_CALLERS]
    by_service: dict[str, int] = defaultdict(int)
    for c in calls:
        by_service[c["service"]] += c["count"]
    s3_put = sum(c["count"] for c in calls if c["service"] == "s3" and c["action"] in S3_PUT_TIER)
    s3_get = sum(c["count"] for c in calls if c["service"] == "s3" and c["action"] not in S3_PUT_TIER)
    queries = run["athena"]
    # Athena's own S3 requests (not visible locally: the local engine reads its store directly): a GET
    # per object it reads (at least one per Parquet file of the tables) and a PUT of each result.
    objects_read = len(run["scan"]["queries"])  # at least one object per query
    athena_s3_get, athena_s3_put = objects_read, len(queries)
    states = run["states_s"]
    after_window = sum(states.get(s, 0.0) for s in ("StopMirroring", "CollectEvidence", "Analyze", "WriteReport",
                                                   "Teardown"))
    before_window = sum(states.get(s, 0.0) for s in ("CreateMirrorFilter", "CreateMirrorTarget",
                                                    "CreateMirrorSessions"))
    sensor_seconds = SENSOR_BOOT_S + before_window + WINDOW_S + after_window
    session_seconds = WINDOW_S + states.get("StopMirroring", 0.0)
    # SQS on AWS: the state machine's two sends, the agent's deletes, and its long polls over its life
    # (the local agent polls every second: its receive count is not AWS's).
    sqs_requests = by_service.get("sqs", 0) - sum(c["count"] for c in calls
                                                 if c["service"] == "sqs" and c["action"] == "ReceiveMessage")
    sqs_requests += math.ceil(sensor_seconds / AGENT_POLL_S)
    ddb_writes = sum(c["count"] for c in calls if c["service"] == "dynamodb" and c["action"] in
                     ("PutItem", "DeleteItem", "UpdateItem"))
    ddb_reads = sum(c["count"] for c in calls if c["service"] == "dynamodb" and c["action"] in ("GetItem", "Query"))
    lines = {
        "Step Functions state transitions": run["transitions"]["billed"] * price("stepfunctions_transition"),
        "Lambda requests": sum(f["invocations"] for f in run["lambda"]) * price("lambda_request"),
        "Lambda duration": sum(f["gb_seconds"] for f in run["lambda"]) * price("lambda_gb_second"),
        "Athena (Parquet column chunks, 10 MB minimum)": run["scan"]["billed_parquet_bytes"] / 1e12
        * price("athena_tb_scanned"),
        "S3 requests": (s3_put + athena_s3_put) * price("s3_put_tier") + (s3_get + athena_s3_get) * price("s3_get_tier"),
        "SQS requests": sqs_requests * price("sqs_request"),
        "DynamoDB": ddb_writes * price("dynamodb_write") + ddb_reads * price("dynamodb_read"),
        "SNS": by_service.get("sns", 0) * price("sns_publish"),
        "Traffic Mirroring sessions (whole hours)": math.ceil(session_seconds / 3600) * price("mirror_session_hour"),
    }
    without_sensor = sum(lines.values())
    sensor = sensor_seconds / 3600 * price("sensor_instance_hour")
    return {
        "lines_usd": {k: round(v, 6) for k, v in lines.items()},
        "without_sensor_usd": round(without_sensor, 4),
        "sensor_instance_usd": round(sensor, 4),
        "total_usd": round(without_sensor + sensor, 4),
        "api_calls_by_service": dict(sorted(by_service.items())),
        "s3_requests": {"put_tier": s3_put, "get_tier": s3_get, "athena_put_estimate": athena_s3_put,
                        "athena_get_estimate": athena_s3_get},
        "sqs_requests_on_aws": sqs_requests,
        "sensor_instance_hours": round(sensor_seconds / 3600, 4),
        "session_hours": round(session_seconds / 3600, 4),
        "assumptions": {"sensor_boot_s": SENSOR_BOOT_S, "window_s": WINDOW_S, "agent_poll_s": AGENT_POLL_S,
                        "region": REGION, "prices_looked_up": LOOKED_UP},
        "prices": {k: {"usd": v[0], "unit": v[1], "source": v[2]} for k, v in PRICES.items()},
    }


def measure(size_mb: float, work: Path) -> dict[str, Any]:
    capture = story_capture(size_mb, work / "captures")
    spec = {"pcap": str(capture.path), "finding": str(capture.finding), "out": str(work / "cost-out")}
    proc = subprocess.run([sys.executable, "-m", "tests.bench.bench_cost", "--child", json.dumps(spec)],
                          capture_output=True, text=True, check=False, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"cost benchmark failed:\n{proc.stderr[-4000:]}")
    return figures(json.loads(proc.stdout.strip().splitlines()[-1]), capture.path.name, capture.bytes)


def figures(run: dict[str, Any], capture_name: str, capture_bytes: int) -> dict[str, Any]:
    """The cost figures of one counted investigation (:func:`collect`)."""
    costs = estimate(run)
    scan = run["scan"]
    return {
        "capture": capture_name, "capture_bytes": capture_bytes,
        "state_transitions": run["transitions"]["billed"], "transitions": run["transitions"],
        "lambda": run["lambda"], "athena_queries": len(run["athena"]),
        "athena_local_bytes": sum(q["local_bytes"] for q in run["athena"]),
        "athena_parquet_bytes": scan["parquet_bytes"], "athena_raw_json_bytes": scan["raw_json_bytes"],
        "athena_billed_parquet_bytes": scan["billed_parquet_bytes"],
        "athena_billed_raw_json_bytes": scan["billed_raw_json_bytes"],
        "pack_scan_share_of_raw": scan["parquet_share_of_raw"],
        "athena_per_query": scan["queries"], "calls": run["calls"], **costs,
    }


def print_figures(f: dict[str, Any]) -> None:
    print(f"\ncost of one investigation ({f['capture']}), us-east-1 prices of {f['assumptions']['prices_looked_up']}:")
    print(f"  state transitions {f['state_transitions']}, Lambda invocations "
          f"{sum(x['invocations'] for x in f['lambda'])}, Athena queries {f['athena_queries']}")
    print(f"  API calls in the account by service: {f['api_calls_by_service']}")
    print(f"  pack scan: Parquet {f['athena_parquet_bytes'] / MB:.2f} MB vs raw JSON {f['athena_raw_json_bytes'] / MB:.2f} MB "
          f"({100 * (f['pack_scan_share_of_raw'] or 0):.1f}%); billed with the 10 MB minimum "
          f"{f['athena_billed_parquet_bytes'] / MB:.0f} MB")
    for line, usd in f["lines_usd"].items():
        print(f"  {line:48} ${usd:.6f}")
    print(f"  everything but the sensor instance: ${f['without_sensor_usd']:.4f}; sensor "
          f"{f['sensor_instance_hours']:.3f} h = ${f['sensor_instance_usd']:.4f}; total ${f['total_usd']:.4f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=10)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    work = Path(tempfile.mkdtemp(prefix="tapcase-bench-cost-"))
    try:
        figures = measure(args.size_mb, work)
        print_figures(figures)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
