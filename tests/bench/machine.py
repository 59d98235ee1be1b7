"""The machine a benchmark ran on, and how busy it was while it ran (not a test)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.bench.captures import REPO


def _meminfo_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _version(argv: list[str]) -> str | None:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (proc.stdout or proc.stderr).strip().splitlines()
    return text[0] if text else None


def describe() -> dict[str, Any]:
    """Cores, memory, CPU model, OS, the versions that matter, the commit measured."""
    import duckdb
    import moto
    import pyarrow

    commit = _version(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = _version(["git", "-C", str(REPO), "status", "--porcelain"])
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": _meminfo_gb(),
        "cpu": _cpu_model(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "suricata": (_version(["suricata", "-V"]) or "").replace("This is Suricata version ", "Suricata ") or None,
        "moto": moto.__version__,
        "duckdb": duckdb.__version__,
        "pyarrow": pyarrow.__version__,
        "commit": (commit or "?") + ("+changes" if dirty else ""),
    }


def load() -> dict[str, float]:
    """The 1/5/15-minute load averages now (runnable processes, all users of the machine)."""
    one, five, fifteen = os.getloadavg()
    return {"load_1m": round(one, 2), "load_5m": round(five, 2), "load_15m": round(fifteen, 2),
            "at": round(time.time(), 1)}


def peak_rss_mb() -> float:
    """This process image's peak resident memory (VmHWM)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rss_mb(pid: int | None = None) -> float:
    """Resident memory (VmRSS) of a process (this one by default)."""
    path = Path(f"/proc/{pid}/status") if pid else Path("/proc/self/status")
    for line in path.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS in {path}")
