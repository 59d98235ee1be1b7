"""Capture-file validation: Suricata exits 0 on a truncated pcap, so the agent checks first."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest
from scapy.utils import rdpcap, wrpcapng

from tapcase_sensor.errors import SensorBadCapture
from tapcase_sensor.pcap import inspect_capture

from .conftest import BTEST, SV, ZEEK

VXLAN03 = SV / "vxlan-decoder-03" / "vxlan.pcap"


def test_real_aws_mirror_capture() -> None:
    info = inspect_capture(VXLAN03)
    assert (info.format, info.packets, info.vxlan_packets, info.linktypes) == ("pcap", 100, 100, [1])
    assert info.first_ts == pytest.approx(1561644070.047299) and info.last_ts == pytest.approx(1561644100.877673)
    assert info.sha256 == hashlib.sha256(VXLAN03.read_bytes()).hexdigest()
    assert info.bytes == VXLAN03.stat().st_size


@pytest.mark.parametrize(
    ("pcap", "packets", "vxlan"),
    [
        (BTEST / "vxlan" / "vxlan.pcap", 10, 10),
        (BTEST / "vxlan-encapsulated-http" / "vxlan-encapsulated-http.pcap", 12, 12),
        (BTEST / "wikipedia" / "wikipedia.pcap", 136, 0),
        (ZEEK / "zeek-doc-quickstart" / "quickstart.pcap", 20, 0),
    ],
)
def test_packet_and_vxlan_counts(pcap: Path, packets: int, vxlan: int) -> None:
    info = inspect_capture(pcap)
    assert (info.packets, info.vxlan_packets) == (packets, vxlan)


def test_pcapng_is_read(tmp_path: Path) -> None:
    ng = tmp_path / "vxlan.pcapng"
    wrpcapng(str(ng), rdpcap(str(VXLAN03)))
    info = inspect_capture(ng)
    assert (info.format, info.packets, info.vxlan_packets) == ("pcapng", 100, 100)
    assert info.first_ts == pytest.approx(1561644070.047299)


def test_truncated_in_a_packet(tmp_path: Path) -> None:
    bad = tmp_path / "cut.pcap"
    bad.write_bytes(VXLAN03.read_bytes()[:20_000])
    with pytest.raises(SensorBadCapture, match=r"truncated capture: packet 71 .* needs 184 bytes but only 172 remain"):
        inspect_capture(bad)


def test_truncated_in_a_record_header(tmp_path: Path) -> None:
    data = VXLAN03.read_bytes()
    first_len = struct.unpack_from("<I", data, 24 + 8)[0]
    bad = tmp_path / "cut.pcap"
    bad.write_bytes(data[: 24 + 16 + first_len + 7])
    with pytest.raises(SensorBadCapture, match=r"packet 2 header .* has 7 of 16 bytes"):
        inspect_capture(bad)


def test_truncated_pcapng(tmp_path: Path) -> None:
    ng = tmp_path / "vxlan.pcapng"
    wrpcapng(str(ng), rdpcap(str(VXLAN03)))
    ng.write_bytes(ng.read_bytes()[:-10])
    with pytest.raises(SensorBadCapture, match="truncated capture"):
        inspect_capture(ng)


def test_not_a_capture_and_empty(tmp_path: Path) -> None:
    text = tmp_path / "notes.pcap"
    text.write_text("this is not a capture\n")
    with pytest.raises(SensorBadCapture, match="not a pcap or pcapng file"):
        inspect_capture(text)
    header_only = tmp_path / "empty.pcap"
    header_only.write_bytes(VXLAN03.read_bytes()[:24])
    with pytest.raises(SensorBadCapture, match="holds no packets"):
        inspect_capture(header_only)
    assert inspect_capture(header_only, allow_empty=True).packets == 0
    with pytest.raises(SensorBadCapture, match="not found"):
        inspect_capture(tmp_path / "missing.pcap")


def test_corrupt_length(tmp_path: Path) -> None:
    data = bytearray(VXLAN03.read_bytes())
    struct.pack_into("<I", data, 24 + 8, 0x7FFFFFFF)  # first record's incl_len
    bad = tmp_path / "corrupt.pcap"
    bad.write_bytes(bytes(data))
    with pytest.raises(SensorBadCapture, match="corrupt capture: packet 1"):
        inspect_capture(bad)
