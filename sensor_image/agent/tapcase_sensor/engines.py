"""Zeek and Suricata behind one interface.

* :class:`LiveEngines` drives the containers of ``sensor_image/compose.yaml`` on the sensor
  instance: they capture the mirror interface (VXLAN on UDP 4789) until told to stop.
* :class:`OfflineEngines` runs the same engines, with the same configuration, on a capture
  file: Suricata for real (``suricata -r``), Zeek through a ``zeek`` binary or a container
  engine when one is available, otherwise Zeek is skipped and the reason is recorded.

The agent only uses :meth:`Engines.start`, :meth:`Engines.status` and :meth:`Engines.stop`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from tapcase_sensor import paths
from tapcase_sensor.errors import (
    SensorConfigError,
    SensorEngineFailed,
    SensorEngineMissing,
    SensorError,
    SensorNotReady,
)
from tapcase_sensor.logs import ZeekLog
from tapcase_sensor.model import CaptureResult, EngineInfo, EngineStatus, LogFile
from tapcase_sensor.pcap import PcapInfo, inspect_capture
from tapcase_sensor.versions import ZEEK_BASE_IMAGE

log = logging.getLogger(__name__)

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


def _tail(text: str, lines: int = 8) -> str:
    rows = [r for r in text.strip().splitlines() if r.strip()]
    return "\n".join(rows[-lines:])


def _describe_exit(code: int) -> str:
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


# ---------------------------------------------------------------------------------------------
# Offline: a capture file
# ---------------------------------------------------------------------------------------------

_SURICATA_VERSION = re.compile(r"Suricata version (\S+)")
_ZEEK_VERSION = re.compile(r"version (\S+)")


class OfflineEngines(Engines):
    """Run Suricata (and Zeek when possible) on a pcap; logs go to ``<workdir>/raw/<engine>/``.

    ``zeek``: ``"auto"`` (binary, else container engine, else skip with a reason),
    ``"require"`` (no Zeek is an error) or ``"skip"``.

    A capture without packets (the local cloud's "no traffic") is valid unless
    ``allow_empty=False``: the engines are not run (they cannot read an empty pcap), their
    status is ``idle`` and the capture has no log files.
    """

    mode = "offline"

    def __init__(
        self,
        pcap: str | os.PathLike[str],
        workdir: str | os.PathLike[str],
        *,
        rules: str | os.PathLike[str] | None = None,
        suricata_config: str | os.PathLike[str] | None = None,
        suricata_rules_dir: str | os.PathLike[str] | None = None,
        zeek_script: str | os.PathLike[str] | None = None,
        zeek: str = "auto",
        suricata_bin: str = "suricata",
        zeek_bin: str = "zeek",
        container_cli: str = "docker",
        zeek_image: str = ZEEK_BASE_IMAGE,
        env: Mapping[str, str] | None = None,
        timeout: float = 3600.0,
        allow_empty: bool = True,
    ) -> None:
        if zeek not in ("auto", "require", "skip"):
            raise SensorConfigError(f"zeek must be auto, require or skip, not {zeek!r}")
        self.pcap = Path(pcap).resolve()
        self.workdir = Path(workdir).resolve()
        self.rules = Path(rules).resolve() if rules else None
        self.suricata_config = Path(suricata_config).resolve() if suricata_config else paths.suricata_config()
        self.suricata_rules_dir = (
            Path(suricata_rules_dir).resolve() if suricata_rules_dir else paths.suricata_rules_dir()
        )
        self.zeek_script = Path(zeek_script).resolve() if zeek_script else paths.zeek_script()
        self.zeek_mode = zeek
        self.suricata_bin = suricata_bin
        self.zeek_bin = zeek_bin
        self.container_cli = container_cli
        self.zeek_image = zeek_image
        self.env = dict(env) if env is not None else dict(os.environ)
        self.timeout = timeout
        self.allow_empty = allow_empty
        self.capture: PcapInfo | None = None
        self._suricata: str | None = None
        self._suricata_version: str | None = None
        self._zeek_plan: tuple[str, str] | None = None  # ("binary"|"container"|"skip", detail)
        self._result: CaptureResult | None = None
        self._bytes_seen: int | None = 0

    # -- helpers ----------------------------------------------------------------------------
    @property
    def suricata_dir(self) -> Path:
        return self.workdir / "raw" / "suricata"

    @property
    def zeek_dir(self) -> Path:
        return self.workdir / "raw" / "zeek"

    def _which(self, name: str) -> str | None:
        return shutil.which(name, path=self.env.get("PATH", ""))

    def _run(
        self, argv: Sequence[str], *, cwd: Path | None = None, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_command(argv, timeout or self.timeout, cwd=cwd, env=self.env)

    def _plan_zeek(self) -> tuple[str, str]:
        if self.zeek_mode == "skip":
            return "skip", "disabled by option (--zeek skip)"
        binary = self._which(self.zeek_bin)
        if binary:
            return "binary", binary
        cli = self._which(self.container_cli)
        if cli:
            try:
                probe = run_command([cli, "info", "--format", "{{.ServerVersion}}"], 20, env=self.env)
            except SensorError as exc:  # a hung daemon
                probe = subprocess.CompletedProcess([cli], 1, "", str(exc))
            if probe.returncode == 0 and probe.stdout.strip():
                return "container", cli
            why = _tail(probe.stderr or probe.stdout, 1) or f"exit status {probe.returncode}"
            reason = f"no `{self.zeek_bin}` binary on PATH and the container engine is not usable ({cli}: {why})"
        else:
            reason = f"no `{self.zeek_bin}` binary and no `{self.container_cli}` container engine on PATH"
        if self.zeek_mode == "require":
            raise SensorEngineMissing(f"Zeek is required but cannot run: {reason}")
        return "skip", reason

    # -- Engines ----------------------------------------------------------------------------
    def start(self) -> None:
        if self.capture is not None:
            return
        for label, path in (("Suricata configuration", self.suricata_config), ("Zeek script", self.zeek_script)):
            if not path.is_file():
                raise SensorConfigError(f"{label} not found: {path}")
        if self.rules is not None and not self.rules.is_file():
            raise SensorConfigError(f"rules file not found: {self.rules}")
        capture = inspect_capture(self.pcap, allow_empty=self.allow_empty)
        suricata = self._which(self.suricata_bin)
        if not suricata:
            raise SensorEngineMissing(
                f"suricata not found: `{self.suricata_bin}` is not on PATH ({self.env.get('PATH', '')!r}); "
                "install Suricata 7 (e.g. apt-get install suricata) or put it on PATH"
            )
        version = self._run([suricata, "-V"], timeout=60)
        match = _SURICATA_VERSION.search(version.stdout + version.stderr)
        if version.returncode != 0 or not match:
            output = _tail(version.stderr or version.stdout)
            raise SensorEngineFailed(f"`{suricata} -V` {_describe_exit(version.returncode)}: {output}")
        self._suricata, self._suricata_version = suricata, match.group(1)
        self._zeek_plan = self._plan_zeek()
        self.capture = capture

    def status(self) -> EngineStatus:
        if self.capture is None:
            return EngineStatus(False, {}, False, 0, 0, detail="not started")
        plan = self._zeek_plan or ("skip", "")
        engines = {
            "suricata": {"running": True, "listening": True, "version": self._suricata_version},
            "zeek": {
                "running": plan[0] != "skip",
                "listening": plan[0] != "skip",
                "version": None,
                "mode": plan[0],
                **({"skipped_reason": plan[1]} if plan[0] == "skip" else {}),
            },
        }
        return EngineStatus(
            ready=True,
            engines=engines,
            vxlan_seen=self.capture.vxlan_packets > 0,
            vxlan_packets=self.capture.vxlan_packets,
            packets_seen=self.capture.packets,
            detail=f"offline: {self.capture.packets} packets in {self.pcap.name}",
        )

    def stop(self) -> CaptureResult:
        if self._result is not None:
            return self._result
        self.start()
        assert self.capture is not None and self._zeek_plan is not None
        if self.capture.packets == 0:
            idle = "the capture holds no packets: nothing to analyse"
            suricata = EngineInfo("suricata", "idle", self._suricata_version, idle, 0, 0)
            kind, detail = self._zeek_plan
            zeek = EngineInfo("zeek", "skipped" if kind == "skip" else "idle", reason=detail if kind == "skip" else idle)
        else:
            suricata = self._run_suricata()
            zeek = self._run_zeek()
        self._result = CaptureResult(
            mode=self.mode,
            started_at=self.capture.first_ts,
            ended_at=self.capture.last_ts,
            packets_seen=suricata.packets_seen,
            packets_dropped=suricata.packets_dropped,
            vxlan_packets=self.capture.vxlan_packets,
            engines={"suricata": suricata, "zeek": zeek},
            log_files=list_log_files("suricata", self.suricata_dir) + list_log_files("zeek", self.zeek_dir),
            source={"pcap": self.capture.to_dict()},
            bytes_seen=self._bytes_seen,
        )
        return self._result

    # -- the runs ---------------------------------------------------------------------------
    def suricata_argv(self) -> list[str]:
        assert self._suricata is not None
        argv = [
            self._suricata,
            "-r", str(self.pcap),
            "-c", str(self.suricata_config),
            "-l", str(self.suricata_dir),
            "-k", "none",
            "--init-errors-fatal",
            "--set", "unix-command.enabled=no",
            "--set", f"default-rule-path={self.suricata_rules_dir}",
        ]  # fmt: skip
        if self.rules is not None:
            argv += ["-S", str(self.rules)]
        return argv

    @staticmethod
    def _fresh_dir(directory: Path) -> None:
        """An empty output directory (engines append to existing logs; a re-run must not)."""
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)

    def _run_suricata(self) -> EngineInfo:
        assert self.capture is not None
        self._fresh_dir(self.suricata_dir)
        proc = self._run(self.suricata_argv(), cwd=self.suricata_dir)
        errors = [line for line in proc.stderr.splitlines() + proc.stdout.splitlines() if line.startswith("E: ")]
        if proc.returncode != 0:
            raise SensorEngineFailed(f"suricata {_describe_exit(proc.returncode)}: {_tail(proc.stderr or proc.stdout)}")
        if errors:
            raise SensorEngineFailed("suricata reported errors: " + "; ".join(errors[:5]))
        eve = self.suricata_dir / "eve.json"
        stats = last_eve_stats(eve)
        if stats is None:
            raise SensorEngineFailed(f"suricata wrote no eve.json stats record to {eve}; output: {_tail(proc.stderr)}")
        decoded = counter(stats, "decoder.pkts")
        self._bytes_seen = counter(stats, "decoder.bytes")
        if decoded != self.capture.packets:
            raise SensorEngineFailed(
                f"suricata decoded {decoded} of the {self.capture.packets} packets in {self.pcap.name}"
            )
        return EngineInfo(
            name="suricata", status="ok", version=self._suricata_version, packets_seen=decoded, packets_dropped=0
        )

    def _run_zeek(self) -> EngineInfo:
        assert self._zeek_plan is not None
        kind, detail = self._zeek_plan
        if kind == "skip":
            log.warning("Zeek skipped: %s", detail)
            return EngineInfo(name="zeek", status="skipped", reason=detail)
        self._fresh_dir(self.zeek_dir)
        if kind == "binary":
            version_proc = self._run([detail, "--version"], timeout=60)
            argv = [detail, "-C", "-r", str(self.pcap), str(self.zeek_script)]
        else:
            uid_gid = f"{os.getuid()}:{os.getgid()}" if hasattr(os, "getuid") else "0:0"
            version_proc = self._run([detail, "run", "--rm", self.zeek_image, "zeek", "--version"], timeout=600)
            argv = [
                detail, "run", "--rm", "--network", "none", "--user", uid_gid,
                "-v", f"{self.pcap.parent}:/pcap:ro",
                "-v", f"{self.zeek_script.parent}:/opt/tapcase/zeek:ro",
                "-v", f"{self.zeek_dir}:/logs",
                "-w", "/logs",
                self.zeek_image,
                "zeek", "-C", "-r", f"/pcap/{self.pcap.name}", f"/opt/tapcase/zeek/{self.zeek_script.name}",
            ]  # fmt: skip
        match = _ZEEK_VERSION.search(version_proc.stdout + version_proc.stderr)
        proc = self._run(argv, cwd=self.zeek_dir)
        if proc.returncode != 0:
            raise SensorEngineFailed(f"zeek {_describe_exit(proc.returncode)}: {_tail(proc.stderr or proc.stdout)}")
        seen, dropped = zeek_packet_stats(self.zeek_dir)
        return EngineInfo(
            name="zeek",
            status="ok",
            version=match.group(1) if match else None,
            packets_seen=seen,
            packets_dropped=dropped,
        )


# ---------------------------------------------------------------------------------------------
# Live: the containers on the sensor instance
# ---------------------------------------------------------------------------------------------

SURICATA_SOCKET = "/var/run/suricata/suricata-command.socket"
_CLEAN_EXIT = {0, 143}  # 143: terminated by the SIGTERM of `docker compose stop`


def default_route_interface(route_table: Path = Path("/proc/net/route")) -> str:
    """The interface of the IPv4 default route (the ENI mirrored traffic arrives on)."""
    try:
        with route_table.open() as fh:
            next(fh, None)
            for line in fh:
                cols = line.split()
                if len(cols) > 2 and cols[1] == "00000000":
                    return cols[0]
    except OSError as exc:
        raise SensorConfigError(f"cannot read {route_table}: {exc}") from None
    raise SensorConfigError(f"no default route in {route_table}: set 'interface' in the agent config")


def prepare_host(interface: str, log_dir: str | os.PathLike[str], env_file: str | os.PathLike[str]) -> str:
    """Resolve the mirror interface, create the log dirs, write the compose env file."""
    iface = default_route_interface() if interface == "auto" else interface
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,15}", iface):
        raise SensorConfigError(f"invalid interface name {iface!r}")
    logs = Path(log_dir)
    for service in LiveEngines.services:
        (logs / service).mkdir(parents=True, exist_ok=True)
    env = Path(env_file)
    env.parent.mkdir(parents=True, exist_ok=True)
    env.write_text(f"SENSOR_INTERFACE={iface}\nSENSOR_LOG_DIR={logs}\n", encoding="utf-8")
    return iface


def parse_compose_ps(text: str) -> list[dict[str, Any]]:
    """``docker compose ps --format json``: a JSON array (old) or one object per line (new)."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        data = json.loads(text)
        return [d for d in data if isinstance(d, dict)]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _largest(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None, name: str) -> int | None:
    """The larger of a counter in two snapshots (either may lack it)."""
    return max((c for c in (counter(a, name), counter(b, name)) if c is not None), default=None)


def _parse_docker_time(value: str) -> float | None:
    m = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$", value.strip())
    if not m:
        return None
    base, frac, zone = m.groups()
    dt = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    return dt.timestamp() + (float(frac) if frac else 0.0)


class LiveEngines(Engines):
    """The engine containers (``compose.yaml``) capturing the mirror interface."""

    mode = "live"
    services = ("suricata", "zeek")

    def __init__(
        self,
        interface: str = "auto",
        *,
        compose_file: str | os.PathLike[str] | None = None,
        log_dir: str | os.PathLike[str] = "/var/log/tapcase",
        env_file: str | os.PathLike[str] = "/etc/tapcase-sensor/engines.env",
        project: str = "tapcase-sensor",
        docker: str = "docker",
        runner: Runner | None = None,
        stop_timeout: int = 120,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.interface = default_route_interface() if interface == "auto" else interface
        self.compose_file = Path(compose_file) if compose_file else paths.compose_file()
        self.log_dir = Path(log_dir)
        self.env_file = Path(env_file)
        self.project = project
        self.docker = docker
        self.runner: Runner = runner or (lambda argv, timeout: run_command(argv, timeout))
        self.stop_timeout = stop_timeout
        self.clock = clock
        self.started_at: float | None = None
        self._versions: dict[str, str | None] = {}
        self._result: CaptureResult | None = None

    def _compose(self, *args: str) -> list[str]:
        return [
            self.docker, "compose", "--project-name", self.project,
            "--file", str(self.compose_file), "--env-file", str(self.env_file), *args,
        ]  # fmt: skip

    def _call(self, argv: Sequence[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        proc = self.runner(argv, timeout)
        if proc.returncode != 0:
            command = " ".join(argv[:4])
            output = _tail(proc.stderr or proc.stdout)
            raise SensorEngineFailed(f"`{command} ...` {_describe_exit(proc.returncode)}: {output}")
        return proc

    def start(self) -> None:
        if self._result is not None:
            raise SensorEngineFailed("the capture was already stopped; launch a new sensor to capture again")
        prepare_host(self.interface, self.log_dir, self.env_file)
        self._call(self._compose("up", "--detach", "--no-build", "--pull", "never"), timeout=300)
        if self.started_at is None:
            self.started_at = self._container_started_at("suricata") or self.clock()

    def _container_started_at(self, service: str) -> float | None:
        ids = self.runner(self._compose("ps", "--quiet", service), 60)
        container = ids.stdout.strip().splitlines()[0] if ids.returncode == 0 and ids.stdout.strip() else None
        if not container:
            return None
        inspected = self.runner([self.docker, "inspect", "--format", "{{.State.StartedAt}}", container], 60)
        return _parse_docker_time(inspected.stdout) if inspected.returncode == 0 else None

    def _services(self) -> dict[str, dict[str, Any]]:
        proc = self._call(self._compose("ps", "--all", "--format", "json"), timeout=60)
        return {str(s.get("Service")): s for s in parse_compose_ps(proc.stdout)}

    def suricata_counters(self) -> dict[str, Any] | None:
        argv = self._compose("exec", "-T", "suricata", "suricatasc", "-c", "dump-counters", SURICATA_SOCKET)
        proc = self.runner(argv, 60)
        if proc.returncode != 0:
            return None
        try:
            answer = json.loads(proc.stdout)
        except ValueError:
            return None
        if not isinstance(answer, dict) or answer.get("return") != "OK" or not isinstance(answer.get("message"), dict):
            return None
        return answer["message"]

    def _version(self, service: str) -> str | None:
        if self._versions.get(service):
            return self._versions[service]
        argv = ["suricata", "-V"] if service == "suricata" else ["zeek", "--version"]
        proc = self.runner(self._compose("exec", "-T", service, *argv), 60)
        pattern = _SURICATA_VERSION if service == "suricata" else _ZEEK_VERSION
        match = pattern.search(proc.stdout + proc.stderr) if proc.returncode == 0 else None
        self._versions[service] = match.group(1) if match else None
        return self._versions[service]

    def status(self) -> EngineStatus:
        try:
            services = self._services()
        except SensorError as exc:
            return EngineStatus(False, {}, False, 0, 0, detail=str(exc))
        counters = self.suricata_counters()
        engines: dict[str, dict[str, Any]] = {}
        problems: list[str] = []
        for name in self.services:
            svc = services.get(name, {})
            running = svc.get("State") == "running"
            health = str(svc.get("Health") or "")
            listening = running and health in ("healthy", "") and (name != "suricata" or counters is not None)
            engines[name] = {
                "running": running,
                "listening": listening,
                "health": health or None,
                "version": self._version(name) if running else None,
            }
            if not listening:
                problems.append(f"{name}: state={svc.get('State', 'absent')} health={health or '-'}")
        vxlan = counter(counters, "decoder.vxlan") or 0
        packets = counter(counters, "capture.kernel_packets") or counter(counters, "decoder.pkts") or 0
        ready = not problems
        return EngineStatus(
            ready=ready,
            engines=engines,
            vxlan_seen=vxlan > 0,
            vxlan_packets=vxlan,
            packets_seen=packets,
            detail=f"capturing on {self.interface}" if ready else "; ".join(problems),
        )

    def stop(self) -> CaptureResult:
        if self._result is not None:
            return self._result
        before = self.suricata_counters() or {}
        versions = {name: self._version(name) for name in self.services}
        self._call(self._compose("stop", "--timeout", str(self.stop_timeout)), timeout=self.stop_timeout + 60)
        ended_at = self.clock()
        services = self._services()
        failed = {
            name: svc.get("ExitCode")
            for name, svc in services.items()
            if name in self.services and svc.get("ExitCode") not in _CLEAN_EXIT
        }
        if failed:
            raise SensorEngineFailed(
                "engine containers did not stop cleanly: "
                + ", ".join(f"{k} exit {v}" for k, v in sorted(failed.items()))
            )
        final = last_eve_stats(self.log_dir / "suricata" / "eve.json") or {}
        seen = _largest(final, before, "capture.kernel_packets")
        dropped = _largest(final, before, "capture.kernel_drops")
        vxlan = _largest(final, before, "decoder.vxlan")
        zeek_seen, zeek_dropped = zeek_packet_stats(self.log_dir / "zeek")
        self._result = CaptureResult(
            mode=self.mode,
            started_at=self.started_at,
            ended_at=ended_at,
            packets_seen=seen,
            packets_dropped=dropped,
            vxlan_packets=vxlan,
            engines={
                "suricata": EngineInfo("suricata", "ok", versions["suricata"], None, seen, dropped),
                "zeek": EngineInfo("zeek", "ok", versions["zeek"], None, zeek_seen, zeek_dropped),
            },
            log_files=list_log_files("suricata", self.log_dir / "suricata")
            + list_log_files("zeek", self.log_dir / "zeek"),
            source={"interface": self.interface},
            bytes_seen=_largest(final, before, "decoder.bytes"),
        )
        return self._result
