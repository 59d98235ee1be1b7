"""Pipeline overhead (not a test): a full local investigation against plain ``suricata -r``.

    .venv/bin/python -m tests.bench.bench_pipeline [--sizes 10 100 500] [--repeat 3] [--json FILE]

For each size, a plain story capture (:mod:`tests.bench.captures`) and its sample finding:

* **plain Suricata**: ``suricata -r CAPTURE`` with the sensor's configuration and rules
  (``sensor_image/suricata``), Suricata's default run mode, logs to a fresh directory;
* **full local investigation**: ``tapcase local investigate --finding F --pcap CAPTURE
  --time-scale 0 --json`` as the CLI runs it (:func:`tapcase.investigate.run`), in a fresh process:
  Python start-up and imports, the local cloud's start and deploy, the real state machine, the
  mirror data plane, Suricata on the sensor's interface capture, curation, upload, the pack on the
  local Athena, the report, teardown, the summary (leftovers, report download), shutdown.

The investigation's process times its stages (:class:`tests.bench.stages.Timers` around the real
functions, and the execution history's state times) and reports them; the parent measures the
whole process. Every figure is the median over ``--repeat`` runs; the overhead ratio is the
median investigation over the median plain Suricata run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from tests.bench.captures import MB, REPO, story_capture

SURICATA_DIR = REPO / "sensor_image" / "suricata"


def plain_suricata_argv(pcap: Path, log_dir: Path, single: bool = False) -> list[str]:
    """``single``: in the single run mode (one packet thread), as the sensor runs it (its pcap-log
    evidence names its files right only there): the part of the sensor's Suricata time that is the
    run mode rather than the mirrored capture or the pcap evidence."""
    return ["suricata", "-r", str(pcap), "-c", str(SURICATA_DIR / "suricata.yaml"), "-l", str(log_dir),
            "-k", "none", "--set", "unix-command.enabled=no", "--set", f"default-rule-path={SURICATA_DIR / 'rules'}",
            *(["--runmode", "single"] if single else [])]


def plain_suricata(pcap: Path, work: Path, single: bool = False) -> float:
    """Seconds of one plain ``suricata -r`` run (fresh log directory)."""
    log_dir = work / "plain-suricata"
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True)
    began = time.perf_counter()
    proc = subprocess.run(plain_suricata_argv(pcap, log_dir, single), capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    if proc.returncode != 0:
        raise RuntimeError(f"suricata failed: {proc.stderr[-2000:]}")
    return seconds


# ---------------------------------------------------------------------------------------------
# The investigation, in its own process
# ---------------------------------------------------------------------------------------------


def install_timers(timers: Any, count_costs: bool = False) -> dict[str, Any]:
    """Time the stages of a local investigation in this process (see the module docstring);
    ``count_costs``: also count what AWS would bill (:mod:`tests.bench.bench_cost`), outside the
    measured time."""
    from tapcase import investigate
    from tapcase.localcloud import cloud, deploy, lambda_runtime, patches, sensor_engines
    from tapcase.localcloud.athena import api as athena_api
    from tapcase_sensor import agent as agent_module
    from tapcase_sensor.engines import offline

    captured: dict[str, Any] = {}
    timers.wrap(cloud.LocalCloud, "start", "startup")
    timers.wrap(patches, "apply_all", "startup: patch moto")
    timers.wrap(deploy, "deploy_template", "startup: deploy the template")
    timers.wrap(cloud.LocalCloud, "stop", "shutdown")
    timers.wrap(sensor_engines.MirroredEngines, "build_interface_capture", "collect: data plane")
    timers.wrap(offline.OfflineEngines, "start", "engines: start (capture inspected)")
    timers.wrap(offline.OfflineEngines, "_run_suricata", "collect: engines (Suricata)")
    timers.wrap(offline.OfflineEngines, "_packet_evidence", "collect: engines (pcap evidence)")
    timers.wrap(agent_module, "build_manifest", "collect: manifest")
    timers.wrap(agent_module.Agent, "_curate", "collect: curation")
    timers.wrap(agent_module.Agent, "_upload", "collect: upload")
    timers.wrap(agent_module.Agent, "wait_for_sensor", "sensor: ready")
    timers.wrap(agent_module.Agent, "collect_evidence", "sensor: collect")
    timers.wrap(lambda_runtime, "run_function", lambda fn, event: f"lambda: {fn.function_name.split('-', 1)[-1]}")
    timers.wrap(athena_api, "execute", "athena: queries")

    original = investigate.investigate_once

    def investigate_once(endpoint: str, event: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        from tapcase.localcloud import api_calls
        from tapcase.localcloud import cloud as cloud_module

        api_calls.reset()
        began = time.perf_counter()
        summary = original(endpoint, event, **kwargs)
        timers.add("investigation", began, time.perf_counter())
        captured["began"] = began
        with timers.stage("bench: reading the history"):  # not part of the command: subtracted
            calls = api_calls.snapshot()
            sfn = investigate.Clients.of(endpoint).sfn
            captured["history"] = sfn.get_execution_history(
                executionArn=summary["execution_arn"], maxResults=1000)["events"]
            if count_costs and summary["status"] == "SUCCEEDED":
                from tests.bench.bench_cost import collect

                spans = {k.removeprefix("lambda: "): v for k, v in timers.intervals.items() if k.startswith("lambda: ")}
                captured["cost"] = collect(cloud_module.active(), summary, captured["history"], calls, spans)
        captured["summary"] = summary
        return summary

    investigate.investigate_once = investigate_once  # run() looks it up by name
    return captured


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """One ``tapcase local investigate`` in this process, with its stages timed."""
    interpreter = time.time() - spec["spawned"]
    from tests.bench.stages import Timers, state_durations

    timers = Timers()
    with timers.stage("imports"):
        from tapcase import investigate
    captured = install_timers(timers, count_costs=bool(spec.get("count_costs")))
    out = io.StringIO()
    with timers.stage("command"), redirect_stdout(out):
        code = investigate.run(finding=Path(spec["finding"]), pcap=Path(spec["pcap"]), rules=None, endpoint=None,
                               as_json=True, out=Path(spec["out"]), time_scale=0.0)
    summary = json.loads(out.getvalue())
    history = captured.get("history", [])
    states = state_durations(history)
    stages = timers.summary()
    # client: from investigate_once's start to the execution's first event (seeding, capture, start)
    seed_start = 0.0
    if history and "began" in captured:
        first_event = history[0]["timestamp"].timestamp()
        entered_wall = time.time() - (time.perf_counter() - captured["began"])
        seed_start = max(0.0, first_event - entered_wall)
    return {"exit_code": code, "status": summary["status"], "error": summary.get("error"),
            "leftovers": summary.get("leftovers"), "interpreter_start_s": round(interpreter, 4),
            "stages": stages, "states": states, "cost": captured.get("cost"), "seed_start_s": round(seed_start, 4),
            "history_events": len(captured.get("history", []))}


def investigate_in_process(pcap: Path, finding: Path, work: Path, count_costs: bool = False) -> dict[str, Any]:
    """Run one investigation in a fresh process; its figures plus the wall time seen from here."""
    spec = {"pcap": str(pcap), "finding": str(finding), "out": str(work / "out"), "spawned": time.time(),
            "count_costs": count_costs}
    began = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tests.bench.bench_pipeline", "--child", json.dumps(spec)],
                          capture_output=True, text=True, check=False, cwd=REPO,
                          env={**os.environ, "TAPCASE_LOG_LEVEL": "WARNING", "POWERTOOLS_LOG_LEVEL": "WARNING"})
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise RuntimeError(f"investigation process failed:\n{proc.stderr[-4000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    history_read = figures["stages"].get("bench: reading the history", {}).get("seconds", 0.0)
    figures["wall_s"] = wall - history_read  # the command's own time
    return figures


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------

#: Stages reported, in pipeline order, with what each one is.
STAGES = {
    "interpreter start": "Python starts, before any import of tapcase",
    "imports": "importing tapcase and what the CLI needs",
    "startup: patch moto": "moto's modules and tapcase's patches",
    "startup: deploy the template": "the SAM template deployed into the local cloud",
    "startup: server and backends": "moto's app, the HTTP server, fresh backends, the AMI for the sensor",
    "client: seed, start": "the CLI seeds the finding's instance, sets the capture, starts the execution",
    "orchestration to collect": "execution start -> CollectEvidence (Plan, lock, sensor, mirroring)",
    "collect: data plane": "the mirror data plane builds the sensor's interface capture",
    "collect: engines (Suricata)": "Suricata on the sensor's interface capture",
    "collect: engines (pcap evidence)": "the packets kept as pcap evidence, checked",
    "collect: manifest": "sha256 and record counts of every log file",
    "collect: curation": "logs -> curated Parquet",
    "collect: upload": "raw logs, pcap, Parquet and manifest to the local S3",
    "collect: other (messages, agent)": "the control messages and the agent around the work above",
    "Analyze": "the query pack on the local Athena (the state's wall time)",
    "WriteReport": "the report Lambda (the state's wall time)",
    "Teardown": "the teardown Lambda (the state's wall time)",
    "client: follow, leftovers, report": "the CLI notices the end, counts leftovers, downloads the report",
    "shutdown": "the local cloud stopped",
    "process exit": "the interpreter finishing after the command",
}


def stage_seconds(run: dict[str, Any]) -> dict[str, float]:
    """The per-stage seconds of one run (see :data:`STAGES`), plus what is left unaccounted."""
    stages, states = run["stages"], run["states"]

    def wall(name: str) -> float:
        return float(stages.get(name, {}).get("seconds", 0.0))

    collect_parts = ["collect: data plane", "collect: engines (Suricata)", "collect: engines (pcap evidence)",
                     "collect: manifest", "collect: curation", "collect: upload"]
    out: dict[str, float] = {
        "interpreter start": run["interpreter_start_s"],
        "imports": wall("imports"),
        "startup: patch moto": wall("startup: patch moto"),
        "startup: deploy the template": wall("startup: deploy the template"),
        "startup: server and backends": max(0.0, wall("startup") - wall("startup: patch moto")
                                            - wall("startup: deploy the template")),
    }
    execution = states.get("execution", 0.0)
    later = sum(states.get(s, 0.0) for s in ("CollectEvidence", "Analyze", "WriteReport", "Teardown", "Outcome",
                                              "Succeeded"))
    out["orchestration to collect"] = max(0.0, execution - later)
    for name in collect_parts:
        out[name] = wall(name)
    out["collect: other (messages, agent)"] = max(0.0, states.get("CollectEvidence", 0.0) - sum(
        out[n] for n in collect_parts))
    for name in ("Analyze", "WriteReport", "Teardown"):
        out[name] = states.get(name, 0.0)
    client = max(0.0, wall("investigation") - execution)
    seed_start = float(run.get("seed_start_s", 0.0))
    out["client: seed, start"] = min(seed_start, client)
    out["client: follow, leftovers, report"] = max(0.0, client - seed_start)
    out["shutdown"] = wall("shutdown")
    command = wall("command")
    out["process exit"] = max(0.0, run["wall_s"] - run["interpreter_start_s"] - wall("imports") - command)
    accounted = sum(out.values())
    out["unaccounted"] = max(0.0, run["wall_s"] - accounted)
    return {k: round(v, 4) for k, v in out.items()}


def measure_size(size_mb: float, repeat: int, work: Path, count_costs: bool = False) -> dict[str, Any]:
    capture = story_capture(size_mb, work / "captures")
    plain = [plain_suricata(capture.path, work) for _ in range(repeat)]
    single = [plain_suricata(capture.path, work, single=True) for _ in range(repeat)]
    runs = [investigate_in_process(capture.path, capture.finding, work, count_costs=(index == 0 and count_costs))
            for index in range(repeat)]
    failed = [r for r in runs if r["status"] != "SUCCEEDED" or any((r["leftovers"] or {}).values())]
    if failed:
        raise RuntimeError(f"an investigation of {capture.path.name} did not succeed cleanly: {failed[0]}")
    per_stage = [stage_seconds(r) for r in runs]
    stages = {name: round(statistics.median(s[name] for s in per_stage), 4) for name in per_stage[0]}
    investigation = statistics.median(r["wall_s"] for r in runs)
    warm = statistics.median(r["stages"]["investigation"]["seconds"] for r in runs)
    plain_s = statistics.median(plain)
    return {
        "size_mb": size_mb, "capture": capture.path.name, "capture_bytes": capture.bytes,
        "capture_packets": capture.packets, "story": capture.story, "repeat": repeat,
        "plain_suricata_s": round(plain_s, 4), "plain_suricata_runs_s": [round(p, 4) for p in plain],
        "plain_suricata_single_runmode_s": round(statistics.median(single), 4),
        "investigation_s": round(investigation, 4), "investigation_runs_s": [round(r["wall_s"], 4) for r in runs],
        "investigation_on_running_cloud_s": round(warm, 4),
        "overhead_ratio": round(investigation / plain_s, 2),
        "overhead_ratio_on_running_cloud": round(warm / plain_s, 2),
        "stages_s": stages,
        "history_events": runs[0]["history_events"],
        "cost_run": runs[0].get("cost"),
    }


def print_size(result: dict[str, Any]) -> None:
    print(f"\n{result['capture']}: {result['capture_bytes'] / MB:.1f} MB, {result['capture_packets']:,} packets "
          f"(median of {result['repeat']})")
    print(f"  plain suricata -r          {result['plain_suricata_s']:7.2f} s   "
          f"(single run mode, as on the sensor: {result['plain_suricata_single_runmode_s']:.2f} s)")
    print(f"  tapcase local investigate  {result['investigation_s']:7.2f} s   ratio {result['overhead_ratio']:.1f}x")
    print(f"  ... on a running cloud     {result['investigation_on_running_cloud_s']:7.2f} s   "
          f"ratio {result['overhead_ratio_on_running_cloud']:.1f}x")
    for name, seconds in sorted(result["stages_s"].items(), key=lambda kv: -kv[1]):
        print(f"    {name:36} {seconds:7.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=float, nargs="+", default=[10, 100, 500])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the figures to this file too")
    parser.add_argument("--work", type=Path, help="keep captures and outputs in this folder")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))), flush=True)
        sys.stderr.flush()
        os._exit(0)  # as the tapcase program ends (tapcase.cli.main): no interpreter teardown
    work = args.work or Path(tempfile.mkdtemp(prefix="tapcase-bench-pipeline-"))
    try:
        results = []
        for size in args.sizes:
            results.append(measure_size(size, args.repeat, work))
            print_size(results[-1])
        if args.json:
            args.json.write_text(json.dumps(results, indent=1) + "\n")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
