"""Offline engines: Suricata (and Zeek when it can run) on a capture file, as a sensor would.

The capture stands for what a sensor's interface receives (VXLAN to the sensor plus the sensor's
own traffic): the engines get the mirror capture filter, the packets it passes are kept as pcap
evidence, and Suricata's ``decoder.pkts`` must equal what the filter passes. ``plain=True``
processes a plain capture of an instance instead (no filter).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from tapcase_contract.layout import PCAP_DIR, RAW_DIR
from tapcase_contract.limits import DEFAULT_PCAP_MAX_MB
from tapcase_sensor import paths
from tapcase_sensor.capture_filter import CaptureFilter
from tapcase_sensor.engines.base import (
    Engines,
    counter,
    describe_exit,
    last_eve_stats,
    list_log_files,
    rules_counts,
    run_command,
    tail,
    zeek_packet_stats,
)
from tapcase_sensor.errors import (
    SensorBadCapture,
    SensorConfigError,
    SensorEngineFailed,
    SensorEngineMissing,
    SensorError,
)
from tapcase_sensor.model import CaptureResult, EngineInfo, EngineStatus
from tapcase_sensor.packet_log import (
    PCAP_LOG_OUTPUT,
    PacketEvidence,
    PacketLog,
    collect_packet_log,
)
from tapcase_sensor.pcap import PcapInfo, inspect_capture
from tapcase_sensor.versions import ZEEK_BASE_IMAGE

log = logging.getLogger(__name__)

SURICATA_VERSION_RE = re.compile(r"Suricata version (\S+)")
ZEEK_VERSION_RE = re.compile(r"version (\S+)")


class OfflineEngines(Engines):
    """Run Suricata (and Zeek when possible) on a pcap; logs go to ``<workdir>/raw/<engine>/``.

    ``sensor_ip``: the sensor's address; the engines analyse only VXLAN (UDP 4789) sent to it.
    Without it, every UDP 4789 packet. ``plain=True``: a plain capture of an instance, no filter.
    ``vni``: only VXLAN with that network id (a fleet member analysing one investigation).

    ``pcap_max_mb``: the packets the filter passes are kept as pcap files in
    ``<workdir>/raw/pcap/``, at most this many MiB (0: none kept).

    ``zeek``: ``"auto"`` (binary, else container engine, else skip with a reason),
    ``"require"`` (no Zeek is an error) or ``"skip"``.

    A capture without packets (the local cloud's "no traffic"), or none the filter passes, is
    valid unless ``allow_empty=False``: the engines are not run (they cannot read an empty
    pcap), their status is ``idle`` and the capture has no log files.
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
        sensor_ip: str | None = None,
        plain: bool = False,
        pcap_max_mb: int = DEFAULT_PCAP_MAX_MB,
        vni: int | None = None,
    ) -> None:
        if zeek not in ("auto", "require", "skip"):
            raise SensorConfigError(f"zeek must be auto, require or skip, not {zeek!r}")
        self.capture_filter = CaptureFilter.of(sensor_ip=sensor_ip, plain=plain, vni=vni)
        self.packet_log = PacketLog(pcap_max_mb)
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
        self.warnings: list[str] = []

    # -- helpers ----------------------------------------------------------------------------
    @property
    def suricata_dir(self) -> Path:
        return self.workdir / RAW_DIR / "suricata"

    @property
    def zeek_dir(self) -> Path:
        return self.workdir / RAW_DIR / "zeek"

    @property
    def pcap_dir(self) -> Path:
        return self.workdir / RAW_DIR / PCAP_DIR

    @property
    def packets_to_analyze(self) -> int:
        """Packets of the capture the capture filter passes (what the engines must see)."""
        assert self.capture is not None and self.capture.matched_packets is not None
        return self.capture.matched_packets

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
            why = tail(probe.stderr or probe.stdout, 1) or f"exit status {probe.returncode}"
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
        capture = inspect_capture(self.pcap, allow_empty=self.allow_empty, capture_filter=self.capture_filter,
                                  allow_truncated=True)
        if capture.truncated:
            self.pcap = self._up_to_the_damage(capture)
        suricata = self._which(self.suricata_bin)
        if not suricata:
            raise SensorEngineMissing(
                f"suricata not found: `{self.suricata_bin}` is not on PATH ({self.env.get('PATH', '')!r}); "
                "install Suricata 7 (e.g. apt-get install suricata) or put it on PATH"
            )
        version = self._run([suricata, "-V"], timeout=60)
        match = SURICATA_VERSION_RE.search(version.stdout + version.stderr)
        if version.returncode != 0 or not match:
            output = tail(version.stderr or version.stdout)
            raise SensorEngineFailed(f"`{suricata} -V` {describe_exit(version.returncode)}: {output}")
        self._suricata, self._suricata_version = suricata, match.group(1)
        self._zeek_plan = self._plan_zeek()
        self.capture = capture

    def _up_to_the_damage(self, capture: PcapInfo) -> Path:
        """A truncated capture is analysed up to the damage, as forensic tools read it: the engines
        get its complete records (a copy of its first bytes); the evidence says where it was cut."""
        assert capture.truncated is not None
        cut = int(capture.truncated["byte_offset"])
        copy = self.workdir / "up-to-the-damage" / self.pcap.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        with self.pcap.open("rb") as src, copy.open("wb") as dst:
            remaining = cut
            while remaining > 0:
                chunk = src.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                dst.write(chunk)
                remaining -= len(chunk)
        warning = (f"the capture {self.pcap.name} is truncated ({capture.truncated['reason']}): the "
                   f"{capture.truncated['after_packets']} complete packets before byte {cut} were analysed, "
                   "the damaged rest was not")
        self.warnings.append(warning)
        log.warning(warning)
        return copy

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
            packets_seen=self.packets_to_analyze,
            detail=f"offline: {self.packets_to_analyze} of the {self.capture.packets} packets in {self.pcap.name} "
            f"pass the capture filter ({self.capture_filter.bpf or 'none: plain capture'})",
        )

    def stop(self) -> CaptureResult:
        if self._result is not None:
            return self._result
        self.start()
        assert self.capture is not None and self._zeek_plan is not None
        idle = self._idle_reason()
        if idle is not None:
            suricata = EngineInfo("suricata", "idle", self._suricata_version, idle, 0, 0)
            kind, detail = self._zeek_plan
            zeek = EngineInfo("zeek", "skipped" if kind == "skip" else "idle", reason=detail if kind == "skip" else idle)
            packets = PacketEvidence(self.packet_log, packets_seen=0, reason=f"no packets to keep: {idle}")
        else:
            suricata = self._run_suricata()
            packets = self._packet_evidence(suricata.packets_seen)
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
            capture_filter=self.capture_filter.to_dict(),
            packet_log=packets,
            vnis=self.capture.vnis,
            warnings=list(self.warnings),
        )
        return self._result

    def _idle_reason(self) -> str | None:
        """Why the engines have nothing to analyse (None: they have)."""
        assert self.capture is not None
        if self.capture.packets == 0:
            return "the capture holds no packets: nothing to analyse"
        if self.packets_to_analyze > 0:
            return None
        reason = (
            f"none of the {self.capture.packets} packets in {self.pcap.name} pass the capture filter "
            f"{self.capture_filter.bpf!r} ({self.capture.vxlan_packets} are VXLAN)"
        )
        if not self.allow_empty:
            hint = (
                "is the sensor IP the destination of the capture's VXLAN packets?"
                if self.capture_filter.sensor_ip and self.capture.vxlan_packets
                else "for a plain capture of an instance (not VXLAN), process it as plain (--plain)"
            )
            raise SensorBadCapture(f"{reason}: {hint}")
        return f"{reason}: nothing was mirrored to this sensor"

    def _packet_evidence(self, decoded: int | None) -> PacketEvidence:
        evidence = collect_packet_log(self.pcap_dir, self.packet_log, decoded, self.capture_filter)
        if self.packet_log.enabled and decoded and not evidence.files:
            raise SensorEngineFailed(
                f"suricata decoded {decoded} packets but wrote no pcap file to {self.pcap_dir}: "
                f"{self.suricata_config} needs its pcap-log output at outputs[{PCAP_LOG_OUTPUT}]"
            )
        return evidence

    # -- the runs ---------------------------------------------------------------------------
    def suricata_argv(self) -> list[str]:
        """``suricata -r``; single runmode (pcap-log names its files right only there, see packet_log)."""
        assert self._suricata is not None
        argv = [
            self._suricata,
            "-r", str(self.pcap),
            "-c", str(self.suricata_config),
            "-l", str(self.suricata_dir),
            "-k", "none",
            "--runmode", "single",
            "--init-errors-fatal",
            "--set", "unix-command.enabled=no",
            "--set", f"default-rule-path={self.suricata_rules_dir}",
            *self.packet_log.suricata_args(self.pcap_dir),
        ]  # fmt: skip
        if self.rules is not None:
            argv += ["-S", str(self.rules)]
        if self.capture_filter.bpf:
            argv.append(self.capture_filter.bpf)  # the trailing argument: Suricata's BPF filter
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
        self._fresh_dir(self.pcap_dir)
        proc = self._run(self.suricata_argv(), cwd=self.suricata_dir)
        errors = [line for line in proc.stderr.splitlines() + proc.stdout.splitlines() if line.startswith("E: ")]
        if proc.returncode != 0:
            raise SensorEngineFailed(f"suricata {describe_exit(proc.returncode)}: {tail(proc.stderr or proc.stdout)}")
        if errors:
            raise SensorEngineFailed("suricata reported errors: " + "; ".join(errors[:5]))
        eve = self.suricata_dir / "eve.json"
        stats = last_eve_stats(eve)
        if stats is None:
            raise SensorEngineFailed(f"suricata wrote no eve.json stats record to {eve}; output: {tail(proc.stderr)}")
        decoded = counter(stats, "decoder.pkts")
        self._bytes_seen = counter(stats, "decoder.bytes")
        if decoded != self.packets_to_analyze:
            raise SensorEngineFailed(
                f"suricata decoded {decoded} packets, but {self.packets_to_analyze} of the {self.capture.packets} "
                f"in {self.pcap.name} pass the capture filter {self.capture_filter.bpf!r}"
            )
        loaded, failed = rules_counts(stats)
        return EngineInfo(
            name="suricata", status="ok", version=self._suricata_version, packets_seen=decoded, packets_dropped=0,
            rules_loaded=loaded, rules_failed=failed,
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
            argv = [detail, "-C", "-r", str(self.pcap), *self._zeek_filter(), str(self.zeek_script)]
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
                "zeek", "-C", "-r", f"/pcap/{self.pcap.name}", *self._zeek_filter(),
                f"/opt/tapcase/zeek/{self.zeek_script.name}",
            ]  # fmt: skip
        match = ZEEK_VERSION_RE.search(version_proc.stdout + version_proc.stderr)
        proc = self._run(argv, cwd=self.zeek_dir)
        if proc.returncode != 0:
            raise SensorEngineFailed(f"zeek {describe_exit(proc.returncode)}: {tail(proc.stderr or proc.stdout)}")
        seen, dropped = zeek_packet_stats(self.zeek_dir)
        return EngineInfo(
            name="zeek",
            status="ok",
            version=match.group(1) if match else None,
            packets_seen=seen,
            packets_dropped=dropped,
        )

    def _zeek_filter(self) -> list[str]:
        """``-f FILTER``: Zeek's command-line capture filter (it overrides the scripts' filters)."""
        return ["-f", self.capture_filter.bpf] if self.capture_filter.bpf else []
