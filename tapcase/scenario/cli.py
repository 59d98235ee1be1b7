"""``tapcase scenario NAME --out FILE.pcap [--seed N] [--json] [--vxlan]`` (wired in :mod:`tapcase.cli`)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TextIO

from tapcase.scenario.generator import UnknownScenario, generate, names
from tapcase.scenario.model import ScenarioInfo

EXIT_OK = 0
EXIT_USAGE = 2


def run(name: str, out: Path, seed: int, as_json: bool, *, form: str = "plain", stdout: TextIO | None = None,
        stderr: TextIO | None = None) -> int:
    """Generate the scenario (``form``: ``plain`` or ``vxlan``) and print a summary (or the
    ScenarioInfo as JSON). Returns the exit code: 0 on success, 2 for an unknown name or a bad
    argument."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    started = time.perf_counter()
    try:
        info = generate(name, Path(out), seed=seed, form=form)
    except UnknownScenario:
        print(f"error: unknown scenario {name!r}. Available scenarios: {', '.join(names())}", file=stderr)
        return EXIT_USAGE
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=stderr)
        return EXIT_USAGE
    elapsed = time.perf_counter() - started
    if as_json:
        json.dump(info.to_dict(), stdout, indent=2)
        stdout.write("\n")
    else:
        stdout.write(summary(info, elapsed))
    return EXIT_OK


def summary(info: ScenarioInfo, elapsed: float | None = None) -> str:
    took = f" in {elapsed:.1f} s" if elapsed is not None else ""
    lines = [
        f"scenario   {info.name} (seed {info.seed}, {info.form}): {info.description}",
        f"pcap       {info.pcap}  {info.packets} packets, {info.file_bytes / 1e6:.1f} MB{took}",
        f"sha256     {info.sha256}",
    ]
    if info.form == "plain":
        lines += [
            f"plain      the subnet as captured: {info.suspect_packets} packets on {info.suspect_ip} ({info.eni_id}), "
            f"{info.not_mirrorable_packets} of them never mirrored (ARP, DHCP, metadata, Time Sync); "
            f"{info.neighbour_packets} of neighbours {', '.join(info.neighbour_ips)}",
            f"mirroring  an accept-all session with amazon-dns delivers {info.mirrored_packets} packets "
            f"({info.resolver_packets} of them DNS to the VPC resolver)",
        ]
    else:
        lines.append(
            f"mirroring  {info.suspect_ip} ({info.eni_id}) -> sensor {info.sensor_ip}, VXLAN UDP 4789, VNI {info.vni}")
    lines += [
        f"window     {info.start_time.isoformat()} .. {info.end_time.isoformat()} ({info.duration_seconds} s)",
        f"finding    {info.finding_type} on {info.instance_id}: {info.sample_finding}",
        "expected:",
    ]
    skip = {"benign_domains", "dga_domains"}
    for key, value in info.expected.__dict__.items():
        if key in skip or value in (None, [], ""):
            continue
        lines.append(f"  {key:26} {', '.join(map(str, value)) if isinstance(value, list) else value}")
    if info.expected.dga_domains:
        lines.append(f"  {'dga_domains':26} {len(info.expected.dga_domains)} names")
    return "\n".join(lines) + "\n"
