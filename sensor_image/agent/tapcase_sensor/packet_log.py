"""The packets as evidence: what the sensor received in the window, kept as pcap files.

Suricata's ``pcap-log`` output writes them (``outputs[3]`` of ``sensor_image/suricata/suricata.yaml``),
live and offline alike: every packet that passed the capture filter, as received (the outer
VXLAN packet, which Wireshark, Zeek and Suricata decode), in rotated files. The stack parameter
``EvidencePcapMaxMB`` (MiB; 0: keep no packets) becomes :class:`PacketLog`, which sizes the files
and the ring of files so that the files never hold more than the cap.

How Suricata 7 keeps them (checked on 7.0.10, ``suricata -r`` and the pcap-log code):

* a file is rotated before it would exceed ``limit`` (4 MiB at least: Suricata refuses less);
* with ``max-files`` set, the oldest file is deleted when a new one would exceed the count: a ring
  that keeps the **newest** packets. Past the cap the *earliest* packets are the ones not kept;
* it also writes the pseudo packets Suricata makes up to flush a TCP flow (e.g. when an SSH or TLS
  session turns encrypted): a bare IPv4/TCP (40 bytes) or IPv6/TCP (60 bytes) header, no link
  layer, in a file of Ethernet frames. They were never received: the agent removes them
  (:func:`is_pseudo_packet`; the manifest counts them) so the files hold only what arrived;
* file names carry the timestamp of the file's first packet (``ts-format: usec``, microseconds
  not zero-padded: the agent renames them ``packets.<s>.<µs, 6 digits>.pcap``). In ``-r`` mode
  with the default ``autofp`` runmode that timestamp stays at the start of the capture, so each
  rotation reopened and truncated the same file: offline runs use ``--runmode single``.

After the engines stop, :func:`collect_packet_log` lists the files (renamed ``*.pcap``), removes
the pseudo packets, hashes and counts each, and says whether the cap was reached.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tapcase_contract import ContractError
from tapcase_contract.limits import DEFAULT_PCAP_MAX_MB, MIN_PCAP_MB, check_pcap_max_mb
from tapcase_sensor.capture_filter import CaptureFilter
from tapcase_sensor.errors import SensorBadCapture, SensorConfigError
from tapcase_sensor.pcap import inspect_capture

#: Largest pcap-log file (the smallest is Suricata's, MIN_PCAP_MB).
MAX_FILE_MB = 256
#: Index of the pcap-log entry in the ``outputs`` list of sensor_image/suricata/suricata.yaml.
PCAP_LOG_OUTPUT = 3
#: File name prefix (Suricata appends ``.<seconds>.<microseconds>``).
FILENAME = "packets"
#: The same directory inside the Suricata container (compose.yaml mounts it).
CONTAINER_DIR = "/var/log/tapcase-pcap"
MIB = 1024 * 1024

_NAME = re.compile(rf"^{FILENAME}\.(\d+)(?:\.(\d+))?(\.pcap)?$")


def validate_max_mb(value: Any) -> int:
    """The cap in MiB: 0 (keep no packets) or at least 4 (Suricata's smallest file)."""
    try:
        return check_pcap_max_mb(value)
    except ContractError as exc:
        raise SensorConfigError(str(exc)) from None


@dataclass(frozen=True)
class PacketLog:
    """How many packets to keep: a cap in MiB, split into a ring of files Suricata rotates."""

    max_mb: int = DEFAULT_PCAP_MAX_MB

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_mb", validate_max_mb(self.max_mb))

    @property
    def enabled(self) -> bool:
        return self.max_mb > 0

    @property
    def file_mb(self) -> int:
        """About a tenth of the cap per file, within Suricata's bounds (so at most ~10% is lost to rotation)."""
        if not self.enabled:
            return 0
        return min(self.max_mb, max(MIN_PCAP_MB, min(MAX_FILE_MB, self.max_mb // 10)))

    @property
    def max_files(self) -> int:
        return self.max_mb // self.file_mb if self.enabled else 0

    @property
    def max_bytes(self) -> int:
        """The most the files can hold: ``max_files`` files of at most ``file_mb`` MiB each."""
        return self.max_files * self.file_mb * MIB

    def suricata_args(self, directory: str | Path) -> list[str]:
        """``--set`` options for Suricata's pcap-log output (offline runs)."""
        values = self.env_values()
        out = f"outputs.{PCAP_LOG_OUTPUT}.pcap-log"
        return [
            "--set", f"{out}.enabled={values['SENSOR_PCAP_ENABLED']}",
            "--set", f"{out}.limit={values['SENSOR_PCAP_FILE_LIMIT']}",
            "--set", f"{out}.max-files={values['SENSOR_PCAP_MAX_FILES']}",
            "--set", f"{out}.dir={directory}",
        ]  # fmt: skip

    def env_values(self) -> dict[str, str]:
        """The same settings for compose.yaml (written to the engines' env file)."""
        return {
            "SENSOR_PCAP_ENABLED": "yes" if self.enabled else "no",
            # a disabled output is not initialised, but the value must still be valid
            "SENSOR_PCAP_FILE_LIMIT": f"{self.file_mb or MIN_PCAP_MB}mb",
            "SENSOR_PCAP_MAX_FILES": str(self.max_files or 1),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "max_mb": self.max_mb,
            "file_mb": self.file_mb,
            "max_files": self.max_files,
            "max_bytes": self.max_bytes,
        }


@dataclass(frozen=True)
class PcapFile:
    """One evidence pcap file."""

    path: Path
    name: str
    bytes: int
    sha256: str
    packets: int
    first_ts: float | None
    last_ts: float | None
    vnis: dict[int, int] = field(default_factory=dict)  # VXLAN packets by VNI

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("path")
        return data


@dataclass
class PacketEvidence:
    """The pcap files of a capture and whether they hold every packet the engines saw."""

    settings: PacketLog
    files: list[PcapFile] = field(default_factory=list)
    packets_seen: int | None = None  # packets Suricata decoded (after the capture filter)
    reason: str | None = None  # why no packets were kept, when none were
    pseudo_packets_removed: int = 0  # Suricata's made-up flush packets taken out of the files

    @property
    def packets_kept(self) -> int:
        return sum(f.packets for f in self.files)

    @property
    def bytes_kept(self) -> int:
        return sum(f.bytes for f in self.files)

    @property
    def vnis_kept(self) -> dict[int, int]:
        """VXLAN packets of the kept files, by VNI."""
        total: dict[int, int] = {}
        for f in self.files:
            for vni, count in f.vnis.items():
                total[vni] = total.get(vni, 0) + count
        return dict(sorted(total.items()))

    @property
    def cap_reached(self) -> bool:
        """The ring was full: the earliest packets were deleted to stay within the cap."""
        return (
            self.settings.enabled
            and self.packets_seen is not None
            and self.packets_kept < self.packets_seen
            and len(self.files) >= self.settings.max_files
        )

    @property
    def packets_not_kept(self) -> int | None:
        return None if self.packets_seen is None else max(0, self.packets_seen - self.packets_kept)

    @property
    def note(self) -> str:
        if not self.settings.enabled:
            return "keeping packets is disabled (EvidencePcapMaxMB = 0): no pcap evidence"
        if self.reason:
            return self.reason
        if self.cap_reached:
            return (
                f"the cap of {self.settings.max_mb} MiB was reached: the {self.packets_not_kept} earliest packets "
                f"were not kept (the files hold the last {self.packets_kept} of {self.packets_seen})"
            )
        if self.packets_seen is None:
            return f"{self.packets_kept} packets kept (the engines' own packet count is not known)"
        if self.packets_kept != self.packets_seen:
            return (
                f"the pcap files hold {self.packets_kept} packets, but the engines saw {self.packets_seen}: "
                "the files are not the complete capture"
            )
        return f"every packet the engines saw ({self.packets_kept}) is in the pcap files"

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.settings.to_dict(),
            "packets_seen": self.packets_seen,
            "packets_kept": self.packets_kept,
            "bytes_kept": self.bytes_kept,
            "cap_reached": self.cap_reached,
            "pseudo_packets_removed": self.pseudo_packets_removed,
            "note": self.note,
        }


_PCAP_MAGIC = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">"}  # libpcap's microsecond pcap
_LINKTYPE_ETHERNET = 1


def is_pseudo_packet(data: bytes) -> bool:
    """A record that is one of Suricata's pseudo packets, not a received Ethernet frame.

    Suricata builds them (flow-timeout.c) as a bare IPv4 header (``45 00 00 28``, id 0, no
    fragment bits, TTL 64, TCP) or IPv6 header (``6``, flow 0, payload 20, TCP, hop limit 64)
    followed by a TCP header: 40 or 60 bytes with no link layer. As an Ethernet frame the IPv4
    one would be 40 bytes long (less than any frame) sent to the group address 45:00:00:28:00:00.
    """
    if len(data) == 40:
        return data[:8] == b"\x45\x00\x00\x28\x00\x00\x00\x00" and data[8] == 64 and data[9] == 6
    if len(data) == 60:
        return data[:6] == b"\x60\x00\x00\x00\x00\x14" and data[6] == 6 and data[7] == 64
    return False


def _pcap_records(path: Path) -> Iterator[tuple[int, bytes, bytes]]:
    """(linktype, record header, frame) of each record of a classic pcap file, streamed."""
    with path.open("rb") as fh:
        header = fh.read(24)
        endian = _PCAP_MAGIC.get(header[:4])
        if endian is None or len(header) < 24:
            raise SensorBadCapture(f"{path}: not a pcap file as Suricata's pcap-log writes them")
        linktype = struct.unpack_from(endian + "I", header, 20)[0] & 0x0FFFFFFF
        record = struct.Struct(endian + "IIII")
        yield linktype, header, b""
        while head := fh.read(16):
            frame = fh.read(record.unpack(head)[2]) if len(head) == 16 else b""
            if len(head) < 16 or len(frame) < record.unpack(head)[2]:
                raise SensorBadCapture(f"{path}: truncated pcap-log file")
            yield linktype, head, frame


def remove_pseudo_packets(path: Path, capture_filter: CaptureFilter) -> int:
    """Rewrite a pcap-log file without Suricata's pseudo packets; how many were removed.

    A record is removed when it has a pseudo packet's exact layout and, with a capture filter,
    does not pass it (every received packet did). Only Ethernet files tell a pseudo packet from
    a frame; other link types are left as they are.
    """

    def pseudo(linktype: int, frame: bytes) -> bool:
        if linktype != _LINKTYPE_ETHERNET or not is_pseudo_packet(frame):
            return False
        return capture_filter.bpf is None or not capture_filter.matches(linktype, frame)

    removed = sum(1 for linktype, _, frame in _pcap_records(path) if frame and pseudo(linktype, frame))
    if removed:
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("wb") as out:
            for linktype, head, frame in _pcap_records(path):
                if not (frame and pseudo(linktype, frame)):
                    out.write(head + frame)
        os.replace(tmp, path)
    return removed


def collect_packet_log(
    directory: Path, settings: PacketLog, packets_seen: int | None, capture_filter: CaptureFilter
) -> PacketEvidence:
    """The pcap files Suricata left in ``directory``: renamed ``*.pcap``, cleaned of pseudo
    packets, validated, hashed and counted."""
    evidence = PacketEvidence(settings=settings, packets_seen=packets_seen)
    if not settings.enabled or not directory.is_dir():
        return evidence
    files = []
    for path in sorted(directory.iterdir()):
        match = _NAME.match(path.name)
        if not match or not path.is_file():
            continue
        if not match.group(3):
            # Suricata's name is packets.<s>.<us> with the microseconds unpadded (.47299 for
            # .047299): padded, with the extension Wireshark expects, names sort by time.
            seconds, micro = match.group(1), int(match.group(2) or 0)
            path = path.rename(path.with_name(f"{FILENAME}.{seconds}.{micro:06d}.pcap"))
            evidence.pseudo_packets_removed += remove_pseudo_packets(path, capture_filter)
        info = inspect_capture(path, allow_empty=True)
        files.append(PcapFile(path, path.name, info.bytes, info.sha256, info.packets, info.first_ts, info.last_ts,
                              info.vnis))
    evidence.files = sorted(files, key=lambda f: (f.first_ts is None, f.first_ts or 0.0, f.name))
    return evidence
