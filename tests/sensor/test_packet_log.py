"""The packets as evidence: pcap files of what the sensor received, hashed, capped, readable.

Real Suricata 7.0.10 writes them (pcap-log) from the same runs as the logs; the oracle is the
input capture itself: the files must hold exactly the packets the capture filter passes, as
received (VXLAN), record for record, or, past the cap, exactly the newest of them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.vxlan import VXLAN
from scapy.utils import rdpcap

from tapcase_contract.limits import DEFAULT_PCAP_MAX_MB
from tapcase_sensor.capture_filter import CaptureFilter
from tapcase_sensor.config import parse_config
from tapcase_sensor.engines import OfflineEngines
from tapcase_sensor.errors import SensorConfigError
from tapcase_sensor.manifest import build_manifest
from tapcase_sensor.model import CaptureResult
from tapcase_sensor.packet_log import (
    MIB,
    PCAP_LOG_OUTPUT,
    PacketLog,
    is_pseudo_packet,
    remove_pseudo_packets,
)

from .captures import SENSOR_IP, VXLAN03, large_vxlan_capture, mixed_capture, records
from .conftest import SENSOR_IMAGE
from .test_cli import run_cli


def _kept(result: CaptureResult) -> list[tuple[int, int, bytes]]:
    assert result.packet_log is not None
    return [r for f in result.packet_log.files for r in records(f.path)]


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """~10 MiB of VXLAN to the sensor: more than an 8 MiB cap, less than 12 MiB."""
    path = tmp_path_factory.mktemp("large") / "large.pcap"
    return path, large_vxlan_capture(path, 10)


# -- sizes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_mb", "file_mb", "max_files"),
    [(0, 0, 0), (4, 4, 1), (8, 4, 2), (12, 4, 3), (1024, 102, 10), (100_000, 256, 390)],
)
def test_cap_split_into_a_ring_of_files(max_mb: int, file_mb: int, max_files: int) -> None:
    log = PacketLog(max_mb)
    assert (log.file_mb, log.max_files) == (file_mb, max_files)
    assert log.max_bytes == file_mb * max_files * MIB <= max_mb * MIB


@pytest.mark.parametrize("bad", [1, 3, -1, "lots", 4.5, None])
def test_cap_below_suricatas_smallest_file_is_refused(bad: object) -> None:
    with pytest.raises(SensorConfigError, match="pcap_max_mb"):
        PacketLog(bad)  # type: ignore[arg-type]
    base = {"investigation_id": "inv-1", "bucket": "bkt-1", "control_queue_url": "https://q"}
    if bad is not None:
        with pytest.raises(SensorConfigError, match="pcap_max_mb"):
            parse_config({**base, "pcap_max_mb": bad})
    assert parse_config(base).pcap_max_mb == DEFAULT_PCAP_MAX_MB
    assert parse_config({**base, "pcap_max_mb": "0"}).pcap_max_mb == 0


def test_suricata_refuses_a_file_under_4_mib(tmp_path: Path, suricata_bin: str) -> None:
    # Suricata 7's own minimum, which PacketLog's sizes respect
    def check(limit: str) -> subprocess.CompletedProcess[str]:
        argv = [suricata_bin, "-T", "-c", str(SENSOR_IMAGE / "suricata" / "suricata.yaml"), "-l", str(tmp_path),
                "--init-errors-fatal", "--set", "unix-command.enabled=no",
                "--set", f"default-rule-path={SENSOR_IMAGE / 'suricata' / 'rules'}",
                "--set", f"outputs.{PCAP_LOG_OUTPUT}.pcap-log.enabled=yes",
                "--set", f"outputs.{PCAP_LOG_OUTPUT}.pcap-log.dir={tmp_path}",
                "--set", f"outputs.{PCAP_LOG_OUTPUT}.pcap-log.limit={limit}"]  # fmt: skip
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)

    refused = check("3mb")
    assert "limit less than allowed minimum of 4194304 bytes" in refused.stdout + refused.stderr
    accepted = check(PacketLog(4).env_values()["SENSOR_PCAP_FILE_LIMIT"])
    assert accepted.returncode == 0 and "successfully loaded" in accepted.stdout + accepted.stderr


# -- what the files hold --------------------------------------------------------------------------


def test_files_hold_exactly_the_mirrored_packets_as_received(tmp_path: Path, suricata_bin: str) -> None:
    # Given what a sensor's interface received: the real mirror capture plus its own traffic
    mixed = tmp_path / "interface.pcap"
    mixed_capture(mixed)
    result = OfflineEngines(mixed, tmp_path / "out", zeek="skip", sensor_ip=SENSOR_IP).stop()
    evidence = result.packet_log
    assert evidence is not None and len(evidence.files) == 1
    # Then the pcap evidence is the mirrored stream, record for record: VXLAN frames with their
    # capture timestamps, none of the sensor's own packets, none of Suricata's pseudo packets
    assert _kept(result) == records(VXLAN03)
    assert evidence.pseudo_packets_removed > 0  # SSH turning encrypted makes Suricata flush its flows
    assert (evidence.packets_seen, evidence.packets_kept, evidence.cap_reached) == (100, 100, False)
    assert evidence.note == "every packet the engines saw (100) is in the pcap files"
    # readable by scapy (as by Wireshark): VXLAN with the session's inner traffic
    packets = rdpcap(str(evidence.files[0].path))
    assert all(p[VXLAN].vni == 5569041 for p in packets)
    assert {p[VXLAN][IP].src for p in packets if p[VXLAN].haslayer(TCP)} >= {"18.196.145.224"}
    assert evidence.files[0].name == "packets.1561644070.047299.pcap"


def test_cap_reached_keeps_the_newest_packets(large: tuple[Path, int], tmp_path: Path, suricata_bin: str) -> None:
    pcap, count = large
    # Given ~10 MiB received and a cap of 8 MiB (two files of 4 MiB)
    result = OfflineEngines(pcap, tmp_path, zeek="skip", sensor_ip=SENSOR_IP, pcap_max_mb=8).stop()
    evidence = result.packet_log
    assert evidence is not None and result.packets_seen == count
    # Then the files hold at most the cap, the ring dropped the earliest packets, and says so
    assert len(evidence.files) == 2 and all(f.bytes <= 4 * MIB for f in evidence.files)
    assert evidence.bytes_kept <= 8 * MIB == evidence.settings.max_bytes
    kept = _kept(result)
    assert kept == records(pcap)[-len(kept):]  # the newest, in order, unchanged
    assert evidence.cap_reached is True and 0 < evidence.packets_kept < count
    assert evidence.note.startswith(f"the cap of 8 MiB was reached: the {count - len(kept)} earliest packets were not kept")
    manifest = build_manifest(investigation_id="inv-cap", capture=result)
    assert manifest["pcap"]["cap_reached"] is True and manifest["pcap"]["packets_kept"] == len(kept)


def test_rotated_files_below_the_cap_hold_everything(large: tuple[Path, int], tmp_path: Path, suricata_bin: str) -> None:
    pcap, count = large
    result = OfflineEngines(pcap, tmp_path, zeek="skip", sensor_ip=SENSOR_IP, pcap_max_mb=12).stop()
    evidence = result.packet_log
    assert evidence is not None and len(evidence.files) == 3 and not evidence.cap_reached
    assert _kept(result) == records(pcap) and evidence.packets_kept == count
    names = [f.name for f in evidence.files]
    assert names == sorted(names) and names[0] == "packets.1700000000.000000.pcap"


def test_cap_zero_keeps_no_packets(tmp_path: Path, suricata_bin: str) -> None:
    out = tmp_path / "out"
    proc = run_cli("process", "--pcap", str(VXLAN03), "--out", str(out), "--zeek", "skip", "--pcap-max-mb", "0")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "raw" / "manifest.json").read_text())
    assert manifest["pcap"]["enabled"] is False and manifest["pcap"]["files"] == []
    assert manifest["pcap"]["note"] == "keeping packets is disabled (EvidencePcapMaxMB = 0): no pcap evidence"
    assert not any((out / "raw" / "pcap").iterdir())
    assert "pcap: none kept" in proc.stdout
    assert manifest["record_counts"]["suricata"] == {"dns": 16, "flow": 26, "ssh": 4, "stats": 1}


def test_manifest_hashes_match_the_files(tmp_path: Path, suricata_bin: str) -> None:
    out = tmp_path / "out"
    proc = run_cli("process", "--pcap", str(VXLAN03), "--out", str(out), "--zeek", "skip", "--sensor-ip", SENSOR_IP)
    assert proc.returncode == 0, proc.stderr
    pcap = json.loads((out / "raw" / "manifest.json").read_text())["pcap"]
    assert [f["key"] for f in pcap["files"]] == ["raw/pcap/packets.1561644070.047299.pcap"]
    for entry in pcap["files"]:
        data = (out / entry["key"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
        assert entry["packets"] == 100 and entry["first"] == "2019-06-27T14:01:10.047299Z"
    assert "pcap: 1 file(s), 100 packets" in proc.stdout


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed here (scapy reads the files)")
def test_tshark_reads_the_files(tmp_path: Path, suricata_bin: str) -> None:
    result = OfflineEngines(VXLAN03, tmp_path, zeek="skip", sensor_ip=SENSOR_IP).stop()
    assert result.packet_log is not None
    path = result.packet_log.files[0].path
    proc = subprocess.run(["tshark", "-r", str(path), "-Y", "vxlan", "-T", "fields", "-e", "vxlan.vni"],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert proc.returncode == 0 and proc.stdout.split() == ["5569041"] * 100


# -- Suricata's pseudo packets --------------------------------------------------------------------


def _pseudo_ipv4() -> bytes:
    # flow-timeout.c: 45 00 00 28, id 0, no fragment bits, TTL 64, TCP, then a TCP header
    return bytes.fromhex("4500002800000000400600001256918fac1f00ee") + bytes(20)


def _pseudo_ipv6() -> bytes:
    return bytes.fromhex("600000000014064020010db8000000000000000000000001") + bytes(16) + bytes(20)


def test_pseudo_packet_layout() -> None:
    assert is_pseudo_packet(_pseudo_ipv4()) and is_pseudo_packet(_pseudo_ipv6())
    assert not any(is_pseudo_packet(frame) for _, _, frame in records(VXLAN03))
    assert not is_pseudo_packet(_pseudo_ipv4()[:39]) and not is_pseudo_packet(b"\x46" + _pseudo_ipv4()[1:])


def test_only_pseudo_packets_are_removed(tmp_path: Path) -> None:
    # A pcap-log file as Suricata left it: the real frames with pseudo packets between them
    data = VXLAN03.read_bytes()
    out, offset, n = [data[:24]], 24, 0
    while offset < len(data):
        caplen = struct.unpack_from("<I", data, offset + 8)[0]
        out.append(data[offset : offset + 16 + caplen])
        if n % 40 == 0:
            for fake in (_pseudo_ipv4(), _pseudo_ipv6()):
                out.append(data[offset : offset + 8] + struct.pack("<II", len(fake), len(fake)) + fake)
        offset, n = offset + 16 + caplen, n + 1
    path = tmp_path / "packets.1.pcap"
    path.write_bytes(b"".join(out))
    assert remove_pseudo_packets(path, CaptureFilter.of(sensor_ip=SENSOR_IP)) == 6
    assert path.read_bytes() == data
    assert remove_pseudo_packets(path, CaptureFilter.of(plain=True)) == 0  # nothing left to remove


def test_step_functions_answer_stays_small(tmp_path: Path, suricata_bin: str) -> None:
    # The collect answer goes through Step Functions (256 KB): the pcap file list goes first
    from tapcase_sensor.manifest import summary

    result = OfflineEngines(VXLAN03, tmp_path, zeek="skip").stop()
    manifest = build_manifest(investigation_id="inv-1", capture=result, prefix="investigations/inv-1", bucket="b-1")
    small = summary(manifest, "s3://b-1/investigations/inv-1/raw/manifest.json")
    assert small["pcap"]["files"][0]["key"] == "investigations/inv-1/raw/pcap/packets.1561644070.047299.pcap"
    manifest["pcap"]["files"] *= 2000
    trimmed = summary(manifest, "s3://b-1/investigations/inv-1/raw/manifest.json", limit_bytes=20_000)
    assert trimmed["pcap"]["files"] is None and trimmed["pcap"]["files_omitted"] is True
    assert trimmed["pcap"]["packets_kept"] == 100 and len(json.dumps(trimmed)) <= 20_000
