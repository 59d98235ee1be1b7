"""BENCHMARKS.md from a run's results (not a test): the goals met or missed, every figure with a
sentence saying what it is, the machine and its load, the commands; the previous run's section kept.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

MB = 1_000_000
#: Holders of ``local serve`` whose records AWS keeps too (data, until AWS's own retention ends); the
#: rest of the growth of its resident memory is the process's own.
AWS_KEPT = ("s3 object versions", "athena query history", "dynamodb items", "sqs messages",
            "stepfunctions executions", "ec2 instances", "ec2 tags", "ec2 network interfaces")
#: glibc's free heap (tapcase.localcloud.holdings.allocator_heap): freed memory kept for reuse.
ALLOCATOR = "allocator free heap"
START, END = "<!-- latest-run:start -->", "<!-- latest-run:end -->"
PREV_START, PREV_END = "<!-- previous-run:start -->", "<!-- previous-run:end -->"


def _mark(met: bool | None) -> str:
    return "not measured" if met is None else ("**met**" if met else "**missed**")


def _top_stages(stages: dict[str, float], n: int = 3) -> str:
    total = sum(stages.values()) or 1.0
    ranked = sorted(stages.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{name} {seconds:.2f} s ({100 * seconds / total:.0f}%)" for name, seconds in ranked)


def growth(pipeline: list[dict[str, Any]]) -> dict[str, Any] | None:
    """How the investigation and plain ``suricata -r`` grow between the smallest and the largest
    capture measured: seconds per MB of each (the marginal cost), the investigation's fixed part
    (its time extrapolated to an empty capture), the marginal ratio (what the overhead ratio tends
    to as captures grow) and the stages that grow most. None with a single size."""
    if len(pipeline) < 2:
        return None
    small, large = min(pipeline, key=lambda e: e["capture_bytes"]), max(pipeline, key=lambda e: e["capture_bytes"])
    mb = (large["capture_bytes"] - small["capture_bytes"]) / MB
    if mb <= 0:
        return None
    investigation = (large["investigation_s"] - small["investigation_s"]) / mb
    plain = (large["plain_suricata_s"] - small["plain_suricata_s"]) / mb
    stages = {name: round((large["stages_s"].get(name, 0.0) - small["stages_s"].get(name, 0.0)) / mb * 100, 3)
              for name in large["stages_s"]}
    return {
        "from_mb": round(small["capture_bytes"] / MB), "to_mb": round(large["capture_bytes"] / MB),
        "investigation_s_per_100mb": round(investigation * 100, 2), "plain_suricata_s_per_100mb": round(plain * 100, 2),
        "investigation_fixed_s": round(small["investigation_s"] - investigation * small["capture_bytes"] / MB, 2),
        "marginal_ratio": round(investigation / plain, 1) if plain > 0 else None,
        "growing_stages_s_per_100mb": dict(sorted(((k, v) for k, v in stages.items() if v > 0),
                                                   key=lambda kv: -kv[1])[:6]),
    }


def _growth_sentence(g: dict[str, Any]) -> str:
    stages = ", ".join(f"{k} {v:.2f} s" for k, v in list(g["growing_stages_s_per_100mb"].items())[:4])
    return (f"from {g['from_mb']} to {g['to_mb']} MB the investigation grows by {g['investigation_s_per_100mb']:.2f} s "
            f"per 100 MB against {g['plain_suricata_s_per_100mb']:.2f} s for plain `suricata -r` (marginal ratio "
            f"{g['marginal_ratio']}x), on a fixed part of {g['investigation_fixed_s']:.1f} s (start-up, orchestration, the "
            f"query pack); per 100 MB the stages that grow are {stages}")


def goals(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(goal, measured, met/missed, why) rows."""
    rows = []
    pipeline = {e["size_mb"]: e for e in r["pipeline"]}
    for size, limit in ((100, 1.5), (500, 1.2)):
        e = pipeline.get(size)
        if e is None:
            rows.append((f"overhead <= {limit}x at {size} MB", "-", _mark(None), "this size runs in `make bench` only"))
            continue
        suricata_mb_s = e["capture_bytes"] / MB / e["plain_suricata_s"]
        why = (f"plain `suricata -r` reads the capture at {suricata_mb_s:.0f} MB/s ({e['plain_suricata_s']:.2f} s): "
               f"the investigation's largest stages are {_top_stages(e['stages_s'])}")
        g = growth(r["pipeline"])
        if g:
            why += f"; {_growth_sentence(g)}"
        rows.append((f"overhead <= {limit}x at {size} MB", f"{e['overhead_ratio']:.1f}x "
                     f"({e['overhead_ratio_on_running_cloud']:.1f}x on a running cloud)", _mark(e["overhead_ratio"] <= limit),
                     "" if e["overhead_ratio"] <= limit else why))
    c = r["conversion"]
    for kind, key in (("Suricata EVE", "eve"), ("Zeek JSON", "zeek_json")):
        wall, cpu = c[f"{key}_mb_per_s"], c.get(f"{key}_cpu_mb_per_s")
        met = (cpu if cpu is not None else wall) >= 100  # per second of the one core's time (see run.conversion_summary)
        why = ("measured bottleneck: pyarrow's JSON reader and grouping the lines by event type (one table per "
               "event type), on one core (tests/bench/bench_convert.py)") if kind == "Suricata EVE" else \
            "pyarrow's JSON reader on one core"
        measured = f"{cpu:.0f} MB per CPU-second ({wall:.0f} MB/s of wall time)" if cpu is not None else f"{wall:.0f} MB/s"
        rows.append((f"conversion >= 100 MB/s on one core ({kind})", measured, _mark(met), "" if met else why))
    bounded = c.get("memory_bounded")
    if bounded:
        worst = max(v["memory_ratio"] for v in bounded.values())
        rows.append(("conversion memory bounded", "; ".join(f"{k}: x{v['memory_ratio']} memory for x{v['input_ratio']} input"
                                                             for k, v in bounded.items()), _mark(worst < 1.5), ""))
    o = r["orchestration"]
    for label, key, limit in (("start -> sessions created <= 1 s", "sessions_created_s", 1.0),
                              ("start -> teardown complete <= 3 s", "teardown_complete_s", 3.0)):
        met = o[key] <= limit
        why = "" if met else f"largest states: {_top_stages({k: v for k, v in o['states_s'].items() if k not in ('execution', 'Investigate', 'RunQuery', 'QueryDone')})}"
        rows.append((label, f"{o[key]:.2f} s", _mark(met), why))
    cost = r["cost"]
    share = cost["pack_scan_share_of_raw"]
    rows.append(("pack scans <= 5% of raw bytes", f"{100 * share:.1f}%" if share is not None else "-",
                 _mark(share is not None and share <= 0.05), ""))
    line, usd = max(cost["lines_usd"].items(), key=lambda kv: kv[1])
    rows.append(("everything but the sensor < $0.05 per investigation", f"${cost['without_sensor_usd']:.4f}",
                 _mark(cost["without_sensor_usd"] < 0.05), f"largest line: {line} ${usd:.4f}"))
    m = (r.get("scale") or {}).get("memory")
    if m:
        # Flat: what the process keeps besides the records AWS keeps too (S3 object versions, Athena's
        # query history, DynamoDB items..., measured per holder) does not grow, within 0.1 MB a run,
        # once the retention limits are reached.
        bookkeeping = m["bookkeeping_growth_mb_per_run_second_half"]
        judged = m["runs"] >= 50
        holders = m.get("holders_mb_per_run_second_half") or {}
        # memory the allocator keeps after it was freed is resident but held by nothing: reused,
        # not a record kept per run; shown, and judged apart from what the process holds
        allocator = holders.get(ALLOCATOR, 0.0)
        held = bookkeeping - allocator
        if holders:
            measured = (f"{m['rss_growth_mb_per_run_second_half']:+.2f} MB/run over the second half: "
                        f"{m['aws_kept_mb_per_run_second_half']:.2f} MB/run records AWS keeps too, "
                        f"{allocator:+.2f} MB/run freed memory the allocator keeps, {held:+.2f} MB/run the rest")
            top = sorted(((k, v) for k, v in holders.items() if k != ALLOCATOR), key=lambda kv: -abs(kv[1]))[:4]
            why = ("per holder (deep size, MB/run): " + ", ".join(f"{k} {v:+.3f}" for k, v in top)
                   + f"; {ALLOCATOR} {allocator:+.3f}; the other {held:+.3f} MB/run of RSS is in no holder measured")
        else:  # results of a run before holders were measured
            measured = (f"{m['rss_growth_mb_per_run_second_half']:+.2f} MB/run over the second half, of which "
                        f"{m['s3_stored_mb_per_run_second_half']:.2f} MB/run stored in S3")
            why = ""
            held = bookkeeping
        rows.append((f"`local serve` memory flat over {m['runs']} runs", measured,
                     _mark(held <= 0.1 if judged else None),
                     why if judged else "too few runs in a quick run to judge (the retention limit is 25 executions)"))
    a = r["aws_paper"]
    rows.append(("finding -> mirroring <= 90 s on AWS (on paper)", f"{a['finding_to_mirroring_s']:.0f} s", _mark(a["goal_met"]),
                 f"decided by the sensor's boot: the rest takes "
                 f"{a['finding_to_mirroring_s'] - a['assumed']['sensor_boot_to_ready_s']:.0f} s, "
                 f"so the boot may take up to {a['sensor_boot_budget_s']:.0f} s (assumed {a['assumed']['sensor_boot_to_ready_s']:.0f} s)"))
    return rows


def latest_section(r: dict[str, Any], results_path: Path) -> str:
    m = r["machine"]
    out = [START, f"## Latest run: {r['finished']} (`{r['command']}`, profile {r['profile']}, {r['seconds']:.0f} s)", ""]
    out += [f"Machine: {m['cores']} cores ({m['cores_usable']} usable), {m['memory_gb']} GB, {m['cpu']}, {m['os']}; "
            f"Python {m['python']}, {m['suricata']}, moto {m['moto']}, DuckDB {m['duckdb']}, pyarrow {m['pyarrow']}; "
            f"commit {m['commit']}. The machine is shared: its load (runnable processes, all users) before and after "
            "each section:", ""]
    out += ["| section | seconds | load before (1/5/15 min) | load after |", "|---|---:|---|---|"]
    for name, s in r["sections"].items():
        lb, la = s["load_before"], s["load_after"]
        out.append(f"| {name} | {s['seconds']:.0f} | {lb['load_1m']} / {lb['load_5m']} / {lb['load_15m']} | "
                   f"{la['load_1m']} / {la['load_5m']} / {la['load_15m']} |")
    out += ["", f"Command: `{r['command']}` (= `{' '.join(r['argv'])}`); every figure below is from this one run, "
            f"written to `{results_path.relative_to(results_path.parents[1])}`"
            + (", except:" if r.get("remeasured") else "."), ""]
    for name, again in (r.get("remeasured") or {}).items():
        out.append(f"- {name}: re-measured on its own at {again['at']} (`{' '.join(again['argv'])}`, "
                   f"load before {r['sections'][name]['load_before']['load_1m']}, commit {again['machine']['commit']}).")
    if r.get("remeasured"):
        out.append("")
    out += ["### Goals", "", "| goal | measured | | why (measured bottleneck) |", "|---|---|---|---|"]
    out += [f"| {g} | {v} | {met} | {why} |" for g, v, met, why in goals(r)]
    out += ["", "### 1. Pipeline overhead", "",
            "A full local investigation (`tapcase local investigate --time-scale 0`, a fresh process: start-up, "
            "the real state machine, data plane, Suricata, curation, upload, the pack on the local Athena, report, "
            "teardown) against plain `suricata -r` with the sensor's configuration and rules, on the c2-dns story's "
            f"capture cut at each size; medians of {r['pipeline'][0]['repeat']} runs.", "",
            "| size | packets | plain suricata -r | single run mode | investigation | ratio | on a running cloud | ratio |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for e in r["pipeline"]:
        single = e.get("plain_suricata_single_runmode_s")
        out.append(f"| {e['capture_bytes'] / MB:.0f} MB | {e['capture_packets']:,} | {e['plain_suricata_s']:.2f} s | "
                   f"{f'{single:.2f} s' if single is not None else '-'} | "
                   f"{e['investigation_s']:.2f} s | {e['overhead_ratio']:.1f}x | {e['investigation_on_running_cloud_s']:.2f} s | "
                   f"{e['overhead_ratio_on_running_cloud']:.1f}x |")
    out += ["", "Plain `suricata -r` runs in Suricata's default run mode (packet threads on every core); the sensor runs "
            "it in the single run mode (one packet thread: its pcap-log evidence names its files right only there) on "
            "the mirrored (VXLAN) interface capture and also writes the packets as pcap evidence: the single-run-mode "
            "column is the same plain run in that mode ('-': not measured in that run)."]
    g = growth(r["pipeline"])
    if g:
        out += ["", f"Growth: {_growth_sentence(g)}. The ratio falls as captures grow, towards the marginal ratio "
                "(`growth` in the results: seconds per 100 MB of each stage)."]
    names = list(r["pipeline"][0]["stages_s"])
    out += ["", "Stages (seconds, medians; each is one real function timed in the investigation's process, or a "
            "state's wall time from the execution history):", "",
            "| stage | " + " | ".join(f"{e['capture_bytes'] / MB:.0f} MB" for e in r["pipeline"]) + " |",
            "|---|" + "---:|" * len(r["pipeline"])]
    for name in names:
        out.append(f"| {name} | " + " | ".join(f"{e['stages_s'].get(name, 0):.2f}" for e in r["pipeline"]) + " |")
    c = r["conversion"]
    out += ["", "### 2. Conversion to Parquet", "",
            "Raw logs to curated Parquet in one process pinned to one core (`tests/bench/bench_convert.py`), "
            "MB of log read per second of wall time and per CPU-second of that core, and the process's peak memory "
            "(VmHWM, ~70 MB of it the interpreter). The goal is judged per CPU-second: on this shared machine the wall "
            "time also counts the other processes queued on the same core (see the load above).", "",
            "| kind | path | input | MB | MB/s (wall) | MB per CPU-s | peak RSS |", "|---|---|---|---:|---:|---:|---:|"]
    for row in c["runs"]:
        out.append(f"| {row['kind']} | {row['path']} | {row['input']} | {row['bytes'] / MB:.0f} | "
                   f"{row['mb_per_s']:.1f} | {row.get('cpu_mb_per_s', 0):.1f} | {row['peak_rss_mb']:.0f} MB |")
    o = r["orchestration"]
    out += ["", "### 3. Orchestration alone", "",
            f"The workflow with a sensor that answers at once (no traffic to analyse), median of {o['runs']} runs after a "
            f"warm-up: start -> mirror sessions created **{o['sessions_created_s']:.2f} s**, start -> teardown "
            f"complete **{o['teardown_complete_s']:.2f} s**; the local sensor itself took {o['sensor_ready_s']:.2f} s to "
            f"answer ready and {o['sensor_collect_s']:.2f} s to collect. Slowest states: "
            f"{_top_stages({k: v for k, v in o['states_s'].items() if k not in ('execution', 'Investigate', 'RunQuery', 'QueryDone')}, 5)}."]
    cost = r["cost"]
    out += ["", "### 4. Cost per investigation on AWS", "",
            f"Counted on one investigation of {cost['capture']} (the finding's 600 s window assumed on AWS): "
            f"**{cost['state_transitions']} state transitions**, "
            f"{sum(x['invocations'] for x in cost['lambda'])} Lambda invocations "
            f"({sum(x['gb_seconds'] for x in cost['lambda']):.3f} GB-s as measured here), {cost['athena_queries']} Athena "
            f"queries scanning {cost['athena_parquet_bytes'] / MB:.2f} MB of Parquet column chunks "
            f"({100 * (cost['pack_scan_share_of_raw'] or 0):.1f}% of the {cost['athena_raw_json_bytes'] / MB:.2f} MB of raw "
            f"JSON the same queries would read; billed {cost['athena_billed_parquet_bytes'] / MB:.0f} MB with the 10 MB "
            f"minimum per query), {cost['sensor_instance_hours']:.3f} sensor instance-hours and "
            f"{cost['session_hours']:.3f} session-hours.", "",
            "API calls made in the account (the state machine, the functions, the sensor; the CLI's own calls left "
            f"out), by service: {', '.join(f'{k} {v}' for k, v in cost['api_calls_by_service'].items())}.", "",
            "| line | USD |", "|---|---:|"]
    out += [f"| {line} | {usd:.6f} |" for line, usd in cost["lines_usd"].items()]
    out += [f"| **everything but the sensor instance** | **{cost['without_sensor_usd']:.4f}** |",
            f"| sensor instance ({cost['sensor_instance_hours']:.3f} h) | {cost['sensor_instance_usd']:.4f} |",
            f"| **total** | **{cost['total_usd']:.4f}** |", "",
            f"Prices: {cost['assumptions']['region']}, on-demand, looked up {cost['assumptions']['prices_looked_up']} "
            "(`tests/bench/prices.py`, each with its source); free tiers left out. Session-hours are billed as whole "
            "hours here (the conservative reading of the VPC pricing page).", ""]
    out += ["| price | USD | unit | source |", "|---|---:|---|---|"]
    out += [f"| {k} | {v['usd']:.10g} | {v['unit']} | {v['source']} |" for k, v in cost["prices"].items()]
    s = r["scale"]
    out += ["", "### 5. Scale", "",
            "Investigations started at once on one local cloud (each sensor runs Suricata on ~1.3 MB of the story), "
            "after a warm-up; peak memory is the whole process's (cloud, sensors, clients).", "",
            "| at once | total | per investigation (median / max) | CPU seconds | peak RSS | statuses |",
            "|---:|---:|---:|---:|---:|---|"]
    for f in s["at_once"]:
        out.append(f"| {f['level']} | {f['wall_s']:.1f} s | {f['per_investigation_median_s']:.1f} / "
                   f"{f['per_investigation_max_s']:.1f} s | {f['cpu_s']:.0f} | {f['peak_rss_mb']:.0f} MB | {f['statuses']} |")
    if s.get("memory"):
        m = s["memory"]
        out += ["", f"`tapcase local serve` over {m['runs']} sequential investigations (no traffic), resident memory "
                "and the finished executions ListExecutions still answers (bounded retention, 25 by default); "
                "stored in S3 counts every object version:", "",
                "| runs | RSS | stored in S3 | executions listed | seconds per run |", "|---:|---:|---:|---:|---:|"]
        out += [f"| {x['runs']} | {x['rss_mb']:.0f} MB | {x['s3_stored_mb']:.1f} MB | {x.get('executions_listed', '-')} | "
                f"{x.get('seconds_per_run', '-')} |" for x in m["samples"]]
        if m.get("holders_mb_per_run_second_half"):
            last = m["samples"][-1].get("holdings", {})
            out += ["", "What the server holds (`GET /_tapcase/holdings?sizes=1`), and how it grows per run over the "
                    "second half (least squares over its samples); *AWS keeps too*: the same records would be "
                    "there on AWS until its own retention ends (S3 lifecycle, Athena 45 days, Step Functions 90 days, "
                    "terminated instances ~1 hour):", "",
                    f"| holder | records after {m['runs']} runs | deep size | records/run | MB/run | AWS keeps too |",
                    "|---|---:|---:|---:|---:|---|"]
            records = m.get("holders_records_per_run_second_half", {})
            for name, h in last.items():
                size = f"{h['bytes'] / MB:.2f} MB" if "bytes" in h else "-"
                grow = m["holders_mb_per_run_second_half"].get(name)
                out.append(f"| {name} | {h['count']} | {size} | {records.get(name, 0):+.2f} | "
                           f"{f'{grow:+.3f}' if grow is not None else '-'} | {'yes' if name in AWS_KEPT else 'no'} |")
            out += ["", f"Resident memory grew {m['rss_growth_mb_per_run_second_half']:+.3f} MB/run over the second half; "
                    f"the holders AWS keeps too account for {m['aws_kept_mb_per_run_second_half']:+.3f} MB/run, "
                    f"leaving {m['bookkeeping_growth_mb_per_run_second_half']:+.3f} MB/run to the process itself "
                    "(allocator, caches, the noise of RSS)."]
    q = r["querypack"]
    out += ["", "### 6. Query pack at size", "",
            f"The pack on {q['log_bytes'] / MB:,.0f} MB of synthetic Zeek and Suricata logs ({q['records']:,} records, "
            f"{q['parquet_bytes'] / MB:,.0f} MB of Parquet), the local engine (the `tapcase analyze` path), each query "
            f"alone: **{q['pack_s']:.1f} s** in all; **{q['dominant_query']}** dominates "
            f"({100 * q['dominant_share']:.0f}%).", "", "| query | seconds | rows |", "|---|---:|---:|"]
    out += [f"| {x['query']} | {x['seconds']:.2f} | {x['rows']} |" for x in sorted(q["queries"], key=lambda x: -x["seconds"])]
    a = r["aws_paper"]
    out += ["", "### 7. On paper for AWS", "",
            f"From the measured orchestration plus assumed AWS latencies (`tests/bench/aws_paper.py` says what AWS "
            f"documents of each): finding -> mirroring **{a['finding_to_mirroring_s']:.0f} s** (goal 90 s: "
            f"{_mark(a['goal_met'])}); finding -> report **{a['finding_to_report_s']:.0f} s** with the 600 s window; "
            f"-> teardown {a['finding_to_teardown_s']:.0f} s. The sensor's boot decides: everything else takes "
            f"{a['finding_to_mirroring_s'] - a['assumed']['sensor_boot_to_ready_s']:.0f} s, so the goal holds while "
            f"RunInstances -> agent ready stays under {a['sensor_boot_budget_s']:.0f} s.", "",
            "| assumption | seconds |", "|---|---:|"]
    out += [f"| {k} | {v} |" for k, v in a["assumed"].items()]
    out += ["", END]
    return "\n".join(out)


HEADER = """# Benchmarks

How fast, how cheap and how far tapcase scales, measured side by side in one run:

```bash
make bench-quick   # small sizes, under two minutes: python -m tests.bench.run --quick
make bench         # every size: python -m tests.bench.run
```

Both write `bench/results.json` (every figure; `headline` holds the overhead ratios, the conversion
rates, the state-transition count and the dollar estimate) and this file. The run before the latest
one is kept below it for comparison. What each section measures and how is in its module's
docstring (`tests/bench/`).
"""


def update_latest(results: dict[str, Any], path: Path, results_path: Path) -> None:
    """Rewrites only the latest run's section (after a figure was re-measured into ``results``)."""
    text = path.read_text()
    start, end = text.index(START), text.index(END) + len(END)
    path.write_text(text[:start] + latest_section(results, results_path) + text[end:])


def write_markdown(results: dict[str, Any], path: Path, results_path: Path) -> None:
    previous = None
    if path.exists():
        text = path.read_text()
        match = re.search(re.escape(START) + r"(.*?)" + re.escape(END), text, re.S)
        if match:
            previous = match.group(1).strip().replace("## Latest run:", "## Previous run:", 1)
    body = [HEADER, latest_section(results, results_path), "", PREV_START]
    body.append(previous if previous else "## Previous run\n\nNone: this is the first run of these benchmarks.")
    body += [PREV_END, ""]
    path.write_text("\n".join(body))
