"""Live engines: the containers of ``sensor_image/compose.yaml`` capturing the mirror interface.

``prepare_host`` (run by ``tapcase-engines.service`` at boot, and again by the agent before it
starts the containers) resolves the interface and its IPv4 address, and writes the compose env
file: the capture filter built from that address (:func:`~tapcase_sensor.capture_filter.mirror_bpf`)
and the pcap evidence settings (:class:`~tapcase_sensor.packet_log.PacketLog`), which
``compose.yaml`` hands to both containers.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tapcase_contract.layout import PCAP_DIR
from tapcase_contract.limits import DEFAULT_PCAP_MAX_MB
from tapcase_sensor import paths
from tapcase_sensor.capture_filter import CaptureFilter
from tapcase_sensor.engines.base import (
    Engines,
    Runner,
    counter,
    describe_exit,
    last_eve_stats,
    list_log_files,
    run_command,
    tail,
    zeek_packet_stats,
)
from tapcase_sensor.engines.offline import SURICATA_VERSION_RE, ZEEK_VERSION_RE
from tapcase_sensor.errors import SensorConfigError, SensorEngineFailed, SensorError
from tapcase_sensor.model import CaptureResult, EngineInfo, EngineStatus
from tapcase_sensor.packet_log import PacketLog, collect_packet_log

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


_SIOCGIFADDR = 0x8915


def interface_address(interface: str) -> str:
    """The interface's primary IPv4 address: where VPC Traffic Mirroring sends this ENI its VXLAN."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            answer = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, struct.pack("256s", interface.encode()[:15]))
        except OSError as exc:
            raise SensorConfigError(
                f"cannot read the IPv4 address of {interface!r} ({exc.strerror}): set 'sensor_ip' in the agent config"
            ) from None
    return socket.inet_ntoa(answer[20:24])


@dataclass(frozen=True)
class HostSetup:
    """What the engines' containers are started with (the compose env file)."""

    interface: str
    capture_filter: CaptureFilter
    packet_log: PacketLog

    def env_values(self, log_dir: Path) -> dict[str, str]:
        assert self.capture_filter.bpf is not None and self.capture_filter.sensor_ip is not None
        return {
            "SENSOR_INTERFACE": self.interface,
            "SENSOR_LOG_DIR": str(log_dir),
            "SENSOR_IP": self.capture_filter.sensor_ip,
            "SENSOR_CAPTURE_FILTER": self.capture_filter.bpf,
            **self.packet_log.env_values(),
        }


def _env_line(key: str, value: str) -> str:
    if re.search(r"[\s#'\"\\$]", value):
        if '"' in value or "\\" in value or "$" in value:
            raise SensorConfigError(f"{key} cannot be written to the compose env file: {value!r}")
        value = f'"{value}"'
    return f"{key}={value}\n"


def prepare_host(
    interface: str,
    log_dir: str | os.PathLike[str],
    env_file: str | os.PathLike[str],
    *,
    sensor_ip: str | None = None,
    pcap_max_mb: int = DEFAULT_PCAP_MAX_MB,
) -> HostSetup:
    """Resolve the mirror interface and its address, create the log dirs, write the compose env file."""
    iface = default_route_interface() if interface == "auto" else interface
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,15}", iface):
        raise SensorConfigError(f"invalid interface name {iface!r}")
    setup = HostSetup(
        interface=iface,
        capture_filter=CaptureFilter.of(sensor_ip=sensor_ip or interface_address(iface)),
        packet_log=PacketLog(pcap_max_mb),
    )
    logs = Path(log_dir)
    for name in (*LiveEngines.services, PCAP_DIR):
        (logs / name).mkdir(parents=True, exist_ok=True)
    env = Path(env_file)
    env.parent.mkdir(parents=True, exist_ok=True)
    env.write_text("".join(_env_line(k, v) for k, v in setup.env_values(logs).items()), encoding="utf-8")
    return setup


def read_env_file(env_file: Path) -> dict[str, str]:
    """The compose env file written by :func:`prepare_host` (empty when there is none)."""
    if not env_file.is_file():
        return {}
    values = {}
    for line in env_file.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            values[key.strip()] = value.strip().removeprefix('"').removesuffix('"')
    return values


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
        sensor_ip: str | None = None,
        pcap_max_mb: int = DEFAULT_PCAP_MAX_MB,
    ) -> None:
        self.interface = default_route_interface() if interface == "auto" else interface
        self.sensor_ip = sensor_ip
        self.packet_log = PacketLog(pcap_max_mb)
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
            output = tail(proc.stderr or proc.stdout)
            raise SensorEngineFailed(f"`{command} ...` {describe_exit(proc.returncode)}: {output}")
        return proc

    def start(self) -> None:
        if self._result is not None:
            raise SensorEngineFailed("the capture was already stopped; launch a new sensor to capture again")
        prepare_host(
            self.interface, self.log_dir, self.env_file, sensor_ip=self.sensor_ip, pcap_max_mb=self.packet_log.max_mb
        )
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
        message: dict[str, Any] = answer["message"]
        return message

    def _version(self, service: str) -> str | None:
        if self._versions.get(service):
            return self._versions[service]
        argv = ["suricata", "-V"] if service == "suricata" else ["zeek", "--version"]
        proc = self.runner(self._compose("exec", "-T", service, *argv), 60)
        pattern = SURICATA_VERSION_RE if service == "suricata" else ZEEK_VERSION_RE
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
        capture_filter = self._capture_filter()
        # pcap-log writes every packet Suricata decoded (after the capture filter): compare with that
        decoded = _largest(final, before, "decoder.pkts")
        packets = collect_packet_log(self.log_dir / PCAP_DIR, self.packet_log, decoded, capture_filter)
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
            capture_filter=capture_filter.to_dict(),
            packet_log=packets,
            # Suricata counts no VNIs: the kept packets tell them (all of them unless the cap was reached).
            vnis=packets.vnis_kept if packets.files else None,
        )
        return self._result

    def _capture_filter(self) -> CaptureFilter:
        """The filter the containers were started with (from the env file compose read)."""
        env = read_env_file(self.env_file)
        if not env.get("SENSOR_IP"):
            raise SensorEngineFailed(f"{self.env_file} names no sensor address: the engines' capture filter is unknown")
        described = CaptureFilter.of(sensor_ip=env["SENSOR_IP"])
        if env.get("SENSOR_CAPTURE_FILTER") != described.bpf:
            raise SensorEngineFailed(
                f"{self.env_file} holds the capture filter {env.get('SENSOR_CAPTURE_FILTER')!r}, "
                f"not the sensor's {described.bpf!r}"
            )
        return described
