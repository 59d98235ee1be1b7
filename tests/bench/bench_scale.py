"""Scale on one local cloud (not a test): investigations at once, and a long-running ``local serve``.

    .venv/bin/python -m tests.bench.bench_scale [--levels 1 10 50] [--sequential 100] [--json FILE]

**At once**: for each level N, a fresh process with one local cloud (time scale 0) and N instances,
each in a VPC of its own with the c2-dns story's suspect address, so that every sensor receives the
story's first two minutes (~1.3 MB) and runs Suricata on them; after one warm-up investigation, N
start at once (one thread each, as N analysts would): total time, each investigation's time
(median and max), the process's peak memory (VmHWM), CPU seconds, and every status.

**Memory over time**: ``tapcase local serve --time-scale 0`` in its own process, driven over HTTP
from this one: ``--sequential`` investigations one after the other (no traffic: what grows is the
cloud's own bookkeeping, not evidence), the server's resident memory (VmRSS) sampled every tenth
run, the number of finished executions ListExecutions still answers (bounded retention), and what
the server holds per holder (``GET /_tapcase/holdings?sizes=1``: records and deep size), so that the
growth per run is split between the data AWS keeps too (S3 object versions, Athena's query history,
DynamoDB items...) and the process's own.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.bench.captures import REPO
from tests.bench.machine import load, peak_rss_mb, rss_mb
from tests.bench.report import AWS_KEPT


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def at_once_child(level: int) -> dict[str, Any]:
    from tapcase.investigate import investigate_once
    from tapcase.localcloud import LocalCloud, sensors
    from tapcase.scenario import generate
    from tests.e2e.test_load import instances_with_the_suspect_address

    with tempfile.TemporaryDirectory(prefix="tapcase-bench-scale-") as scratch:
        capture = Path(scratch) / "c2-dns-120s.pcap"
        generate("c2-dns", capture, duration_seconds=120)
        with LocalCloud(time_scale=0) as cloud:
            sensors.set_capture(capture)
            instances = instances_with_the_suspect_address(cloud, level + 1, 1)
            out = Path(scratch) / "out"

            def one(instance: str) -> dict[str, Any]:
                return investigate_once(cloud.endpoint, {"instance_id": instance, "duration_seconds": 600,
                                                         "reason": "scale benchmark"}, out=out, timeout=1800)

            one(instances[0])  # warm-up
            cpu0, began = _cpu(), time.monotonic()
            with ThreadPoolExecutor(max_workers=level) as pool:
                summaries = list(pool.map(one, instances[1:]))
            wall, cpu = time.monotonic() - began, _cpu() - cpu0
    seconds = [s["seconds"] for s in summaries]
    return {
        "level": level, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
        "per_investigation_median_s": round(statistics.median(seconds), 2),
        "per_investigation_max_s": round(max(seconds), 2),
        "peak_rss_mb": peak_rss_mb(),
        "statuses": {s: sum(1 for x in summaries if x["status"] == s) for s in {x["status"] for x in summaries}},
        "errors": sorted({x["error"] for x in summaries if x["error"]}),
        "causes": sorted({(x.get("cause") or "")[:400] for x in summaries if x["error"]})[:5],
        "leftovers": sum(sum(x["leftovers"].values()) for x in summaries),
    }


def at_once(level: int) -> dict[str, Any]:
    before = load()
    proc = subprocess.run([sys.executable, "-m", "tests.bench.bench_scale", "--child", str(level)],
                          capture_output=True, text=True, check=False, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f"scale level {level} failed:\n{proc.stderr[-4000:]}")
    figures = dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    figures["load_before"], figures["load_after"] = before, load()
    return figures


def _instance(endpoint: str) -> str:
    import boto3

    from tapcase.localcloud.seed import amazon_image_id

    ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                       aws_secret_access_key="bench")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    return str(ec2.run_instances(ImageId=amazon_image_id(ec2), MinCount=1, MaxCount=1, InstanceType="m5.large",
                                 SubnetId=subnet)["Instances"][0]["InstanceId"])


def holdings(endpoint: str) -> dict[str, dict[str, Any]]:
    """What the server holds per holder, with deep sizes (``GET /_tapcase/holdings?sizes=1``)."""
    import urllib.request

    with urllib.request.urlopen(f"{endpoint}/_tapcase/holdings?sizes=1", timeout=120) as response:
        return dict(json.loads(response.read()))


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares growth per run of ``(runs, value)`` points (0 with fewer than two)."""
    if len(points) < 2:
        return 0.0
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


def memory_over_time(runs: int, every: int = 10) -> dict[str, Any]:
    """``tapcase local serve``'s resident memory over ``runs`` sequential investigations, and what it
    holds (per holder: records and deep size) every ``every`` runs."""
    from tapcase.investigate import Clients, investigate_once, state_machine_arn

    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "tapcase"), "local", "serve", "--port", "0", "--time-scale", "0",
         "--template", str(REPO / "template.yaml"), "--parameter", "LogLevel=WARNING"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    try:
        assert server.stdout is not None
        endpoint = None
        for line in server.stdout:
            match = re.match(r"endpoint: (http://\S+)", line)
            if match:
                endpoint = match.group(1)
                break
        if endpoint is None:
            raise RuntimeError("tapcase local serve did not print its endpoint")
        instance = _instance(endpoint)
        sfn = Clients.of(endpoint).sfn
        machine = state_machine_arn(sfn)

        def sample(index: int) -> dict[str, Any]:
            held = holdings(endpoint)
            return {"runs": index, "rss_mb": rss_mb(server.pid),
                    "s3_stored_mb": round(held["s3 object versions"]["data_bytes"] / 1e6, 3),
                    "holdings": {name: {k: v for k, v in h.items() if v is not None} for name, h in held.items()}}

        samples = [sample(0)]
        out = Path(tempfile.mkdtemp(prefix="tapcase-bench-serve-"))
        began = time.monotonic()
        for index in range(1, runs + 1):
            summary = investigate_once(endpoint, {"instance_id": instance, "duration_seconds": 600,
                                                  "reason": "memory benchmark"}, out=out)
            if summary["status"] != "SUCCEEDED":
                raise RuntimeError(f"run {index} failed: {summary}")
            if index % every == 0 or index == runs:
                listed = len(sfn.list_executions(stateMachineArn=machine, maxResults=1000)["executions"])
                samples.append({**sample(index), "executions_listed": listed,
                                "seconds_per_run": round(summary["seconds"], 2)})
        wall = time.monotonic() - began
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return summarise(runs, round(wall, 1), samples)


def summarise(runs: int, wall: float, samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Growth per run over the second half (least squares over its samples): resident memory, and
    the deep size of each holder; what AWS keeps too is set apart from the process's own growth."""
    half = [s for s in samples if s["runs"] >= runs // 2]
    rss = slope([(s["runs"], s["rss_mb"]) for s in half])
    names = sorted({name for s in half for name, h in s.get("holdings", {}).items() if "bytes" in h})
    holders = {name: round(slope([(s["runs"], s["holdings"][name]["bytes"] / 1e6) for s in half
                                  if "bytes" in s["holdings"].get(name, {})]), 4) for name in names}
    records = {name: round(slope([(s["runs"], s["holdings"][name]["count"]) for s in half
                                  if name in s.get("holdings", {})]), 2)
               for name in sorted({n for s in half for n in s.get("holdings", {})})}
    aws_kept = sum(v for k, v in holders.items() if k in AWS_KEPT)
    stored = slope([(s["runs"], s["s3_stored_mb"]) for s in half])
    return {"runs": runs, "wall_s": wall, "samples": samples,
            "rss_growth_mb_per_run_second_half": round(rss, 3),
            "s3_stored_mb_per_run_second_half": round(stored, 3),
            "holders_mb_per_run_second_half": holders,
            "holders_records_per_run_second_half": records,
            "aws_kept_mb_per_run_second_half": round(aws_kept, 3),
            "bookkeeping_growth_mb_per_run_second_half": round(rss - aws_kept, 3),
            "rss_first_mb": samples[1]["rss_mb"] if len(samples) > 1 else None, "rss_last_mb": samples[-1]["rss_mb"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", type=int, nargs="*", default=[1, 10, 50])
    parser.add_argument("--sequential", type=int, default=100)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(at_once_child(args.child)))
        return 0
    figures: dict[str, Any] = {"at_once": [], "memory": None}
    for level in args.levels:
        f = at_once(level)
        figures["at_once"].append(f)
        print(f"{level:3} at once: {f['wall_s']:.1f} s in all, each {f['per_investigation_median_s']:.1f} s "
              f"(max {f['per_investigation_max_s']:.1f}), peak {f['peak_rss_mb']:.0f} MB, {f['statuses']}")
    if args.sequential:
        m = memory_over_time(args.sequential)
        figures["memory"] = m
        print(f"local serve over {m['runs']} runs: RSS {m['rss_first_mb']} MB after 10 -> {m['rss_last_mb']} MB; "
              f"{m['rss_growth_mb_per_run_second_half']} MB per run over the second half")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
