"""What both kinds of engines share: running a command, Suricata's and Zeek's counters, log files."""

from __future__ import annotations

import json
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tapcase_sensor.errors import SensorEngineFailed, SensorEngineMissing, SensorNotReady
from tapcase_sensor.logs import ZeekLog
from tapcase_sensor.model import CaptureResult, EngineStatus, LogFile

Runner = Callable[[Sequence[str], float], "subprocess.CompletedProcess[str]"]


def run_command(
    argv: Sequence[str], timeout: float, *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing text output; a missing executable raises SensorEngineMissing."""
    try:
        return subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            check=False,
        )
    except FileNotFoundError as exc:
        raise SensorEngineMissing(f"{argv[0]}: not found ({exc.strerror})") from None
    except subprocess.TimeoutExpired as exc:
        raise SensorEngineFailed(f"{' '.join(argv[:2])} did not finish within {timeout:.0f} s") from exc


def tail(text: str, lines: int = 8) -> str:
    rows = [r for r in text.strip().splitlines() if r.strip()]
    return "\n".join(rows[-lines:])


def describe_exit(code: int) -> str:
    return f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"


def counter(stats: Mapping[str, Any] | None, dotted: str) -> int | None:
    """A Suricata counter from nested (``{"capture": {"kernel_packets": 1}}``) or dotted keys."""
    if not stats:
        return None
    if dotted in stats and isinstance(stats[dotted], (int, float)):
        return int(stats[dotted])
    node: Any = stats
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return int(node) if isinstance(node, (int, float)) else None


def rules_counts(stats: Mapping[str, Any] | None) -> tuple[int | None, int | None]:
    """Signatures loaded and failed, summed over Suricata's detection engines (its stats record:
    ``detect.engines[]`` with ``rules_loaded`` and ``rules_failed``, Suricata 7)."""
    engines = ((stats or {}).get("detect") or {}).get("engines")
    if not isinstance(engines, list) or not engines:
        return None, None
    loaded = sum(int(e.get("rules_loaded") or 0) for e in engines if isinstance(e, Mapping))
    failed = sum(int(e.get("rules_failed") or 0) for e in engines if isinstance(e, Mapping))
    return loaded, failed


def last_eve_stats(eve: Path) -> dict[str, Any] | None:
    """The ``stats`` object of the last stats record in an eve.json (streamed)."""
    last: dict[str, Any] | None = None
    if not eve.is_file():
        return None
    with eve.open("r", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if '"stats"' not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("event_type") == "stats" and isinstance(record.get("stats"), dict):
                last = record["stats"]
    return last


def zeek_packet_stats(zeek_dir: Path) -> tuple[int | None, int | None]:
    """Packets processed and dropped, summed over Zeek's stats.log (if it was written)."""
    stats_log = next((p for p in (zeek_dir / "stats.log", zeek_dir / "stats.log.gz") if p.is_file()), None)
    if stats_log is None:
        return None, None
    seen = dropped = 0
    for record in ZeekLog(stats_log):
        seen += int(record.get("pkts_proc") or 0)
        dropped += int(record.get("pkts_dropped") or 0)
    return seen, dropped


def list_log_files(engine: str, directory: Path) -> list[LogFile]:
    """Every regular, non-hidden file under an engine's log directory."""
    if not directory.is_dir():
        return []
    files: list[LogFile] = []
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        files.append(LogFile(engine=engine, path=path, name=rel.as_posix()))
    return files


class Engines(ABC):
    """What the agent needs from the engines."""

    mode: str

    @abstractmethod
    def start(self) -> None:
        """Start the engines (idempotent)."""

    @abstractmethod
    def status(self) -> EngineStatus:
        """Whether the engines run and listen, with versions and packet counters."""

    @abstractmethod
    def stop(self) -> CaptureResult:
        """Stop (or finish) the capture and return its logs and counters (idempotent)."""

    def wait_ready(
        self, timeout: float, interval: float = 2.0, sleep: Callable[[float], None] = time.sleep
    ) -> EngineStatus:
        """Poll :meth:`status` until ready; raise :class:`SensorNotReady` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if status.ready:
                return status
            if time.monotonic() >= deadline:
                raise SensorNotReady(f"engines not ready after {timeout:.0f} s: {status.detail}")
            sleep(interval)
