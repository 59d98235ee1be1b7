"""Plain data passed between engines, the manifest builder and the agent."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tapcase_sensor.packet_log import PacketEvidence

ENGINES = ("suricata", "zeek")


@dataclass(frozen=True)
class LogFile:
    """A file an engine wrote. ``name`` is relative to the engine's log directory."""

    engine: str
    path: Path
    name: str


@dataclass
class EngineInfo:
    """What one engine did during a capture."""

    name: str
    status: str  # "ok" | "skipped" (cannot run here; see reason) | "idle" (no packets to analyse)
    version: str | None = None
    reason: str | None = None
    packets_seen: int | None = None
    packets_dropped: int | None = None
    #: Suricata: signatures loaded and failed, from its stats (``detect.engines[].rules_loaded``).
    rules_loaded: int | None = None
    rules_failed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EngineStatus:
    """Readiness of the engines: running and capturing (live) or able to run (offline)."""

    ready: bool
    engines: dict[str, dict[str, Any]]
    vxlan_seen: bool
    vxlan_packets: int
    packets_seen: int
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CaptureResult:
    """The outcome of a capture once the engines are stopped: logs plus counters."""

    mode: str  # "live" | "offline"
    started_at: float | None
    ended_at: float | None
    packets_seen: int | None
    packets_dropped: int | None
    vxlan_packets: int | None
    engines: dict[str, EngineInfo]
    log_files: list[LogFile] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)
    bytes_seen: int | None = None  # bytes Suricata decoded (outer VXLAN packets included)
    capture_filter: dict[str, Any] | None = None  # CaptureFilter.to_dict(): mode, bpf, sensor_ip, note
    packet_log: PacketEvidence | None = None  # the pcap evidence files (None: not kept)
    # VXLAN packets the engines analysed, by VNI (None: not known, e.g. live without pcap evidence).
    vnis: dict[int, int] | None = None
    # What a reader of the evidence must know (e.g. a truncated capture analysed up to the damage).
    warnings: list[str] = field(default_factory=list)

    @property
    def engine_versions(self) -> dict[str, str | None]:
        return {name: info.version for name, info in self.engines.items()}

    @property
    def zeek_skipped_reason(self) -> str | None:
        zeek = self.engines.get("zeek")
        return zeek.reason if zeek is not None and zeek.status == "skipped" else None
