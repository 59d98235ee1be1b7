"""``tapcase-sensor process`` as a user runs it (a subprocess of the installed console script)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tapcase_sensor.logs import read_eve

from .conftest import BTEST, SV, unmask

CLI = Path(sys.executable).parent / "tapcase-sensor"
VXLAN03 = SV / "vxlan-decoder-03" / "vxlan.pcap"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=120, env=env, check=False)


def _manifest(out: Path) -> dict[str, Any] | None:
    path = out / "raw" / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else None


def _fake_bin(directory: Path, name: str, script: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory, suricata_bin: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("process") / "out"
    return run_cli("process", "--pcap", str(VXLAN03), "--out", str(out), "--investigation-id", "inv-cli-1"), out


def test_process_writes_logs_and_manifest(processed: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, out = processed
    assert proc.returncode == 0, proc.stderr
    manifest = _manifest(out)
    assert manifest is not None and manifest["complete"] is True
    assert manifest["investigation_id"] == "inv-cli-1" and manifest["mode"] == "offline"
    assert manifest["engine_versions"]["suricata"] == "7.0.10"
    assert manifest["packets"] == {"seen": 100, "dropped": 0, "vxlan": 100,
                                   # every packet's bytes: the file less its 24-byte header and 16-byte record headers
                                   "bytes": VXLAN03.stat().st_size - 24 - 16 * 100,
                                   # the real AWS session's VirtualNetworkId, read from every VXLAN header
                                   "vnis": {"5569041": 100}}
    assert manifest["capture"]["start"] == "2019-06-27T14:01:10.047299Z"
    assert manifest["source"]["pcap"]["sha256"] == hashlib.sha256(VXLAN03.read_bytes()).hexdigest()
    assert manifest["record_counts"]["suricata"] == {"dns": 16, "flow": 26, "ssh": 4, "stats": 1}
    assert "suricata 7.0.10: 47 records" in proc.stdout


def test_manifest_sha256_and_counts_match_the_files(processed: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = processed
    manifest = _manifest(out)
    assert manifest is not None
    listed = {f["key"] for f in manifest["files"]}
    pcaps = {f["key"] for f in manifest["pcap"]["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in (out / "raw").rglob("*") if p.is_file() and p.name != "manifest.json"}
    assert listed | pcaps == on_disk and pcaps == {"raw/pcap/packets.1561644070.047299.pcap"}
    for entry in manifest["files"] + manifest["pcap"]["files"]:
        data = (out / entry["key"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), entry["key"]
        assert entry["bytes"] == len(data)
    eve = next(f for f in manifest["files"] if f["key"] == "raw/suricata/eve.json")
    assert eve["log_type"] == "eve" and eve["records"] == sum(1 for _ in read_eve(out / eve["key"]))
    assert manifest["totals"]["files"] == len(listed)


def test_zeek_is_run_or_skipped_with_a_reason(processed: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, out = processed
    manifest = _manifest(out)
    assert manifest is not None
    zeek = manifest["engines"]["zeek"]
    if zeek["status"] == "skipped":
        assert manifest["zeek_skipped_reason"] == zeek["reason"] and "zeek" in zeek["reason"]
        assert f"zeek: SKIPPED: {zeek['reason']}" in proc.stdout
        assert not any(f["engine"] == "zeek" for f in manifest["files"])
    else:
        assert zeek["status"] == "ok" and manifest["record_counts"]["zeek"]["conn"] > 0


def test_process_with_rules(tmp_path: Path, suricata_bin: str) -> None:
    out = tmp_path / "out"
    pcap, rules = SV / "bug-28" / "input.pcap", SV / "bug-28" / "test.rules"
    # bug-28 is a plain capture of a host (no VXLAN): processed as such
    proc = run_cli("process", "--pcap", str(pcap), "--plain", "--rules", str(rules), "--out", str(out), "--zeek", "skip")
    assert proc.returncode == 0, proc.stderr
    manifest = _manifest(out)
    assert manifest is not None and manifest["record_counts"]["suricata"]["alert"] == 4
    assert manifest["capture_filter"]["mode"] == "plain" and manifest["capture_filter"]["bpf"] is None
    assert manifest["zeek_skipped_reason"] == "disabled by option (--zeek skip)"


def test_truncated_pcap_is_analysed_up_to_the_damage_with_a_warning(tmp_path: Path, suricata_bin: str) -> None:
    """A capture cut short (a sensor's disk filled, a copy interrupted) is read as forensic tools read
    it: the complete packets before the damage are analysed, and the manifest says where it was cut."""
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(VXLAN03.read_bytes()[:20_000])
    out = tmp_path / "out"
    proc = run_cli("process", "--pcap", str(cut), "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = _manifest(out)
    assert manifest is not None and manifest["complete"] is True
    (warning,) = [w for w in manifest["warnings"] if "truncated" in w]
    assert "the 70 complete packets before byte" in warning, warning
    assert (out / "raw" / "suricata" / "eve.json").is_file()


def test_header_only_pcap_is_refused(tmp_path: Path, suricata_bin: str) -> None:
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(VXLAN03.read_bytes()[:24])
    proc = run_cli("process", "--pcap", str(empty), "--out", str(tmp_path / "out"))
    assert proc.returncode != 0 and "holds no packets" in proc.stderr


def test_missing_suricata_is_a_clear_error(tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    out = tmp_path / "out"
    proc = run_cli("process", "--pcap", str(VXLAN03), "--out", str(out), env={**os.environ, "PATH": str(empty_bin)})
    assert proc.returncode != 0
    assert "SensorEngineMissing" in proc.stderr and "suricata not found" in proc.stderr
    manifest = _manifest(out)
    assert manifest is not None and manifest["complete"] is False


def test_suricata_crash_is_a_clear_error(tmp_path: Path) -> None:
    # A stand-in `suricata` that answers -V like the real one, then dies of SIGSEGV on a run.
    fake = tmp_path / "bin"
    _fake_bin(
        fake, "suricata", 'case "$1" in -V) echo "This is Suricata version 7.0.10 RELEASE";; *) kill -SEGV $$;; esac\n'
    )
    out = tmp_path / "out"
    env = {**os.environ, "PATH": f"{fake}:/usr/bin:/bin"}
    proc = run_cli("process", "--pcap", str(VXLAN03), "--out", str(out), "--zeek", "skip", env=env)
    assert proc.returncode != 0
    assert "SensorEngineFailed" in proc.stderr and "suricata was killed by signal 11" in proc.stderr
    manifest = _manifest(out)
    assert manifest is not None and manifest["complete"] is False


def test_existing_results_need_overwrite(processed: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = processed
    proc = run_cli("process", "--pcap", str(VXLAN03), "--out", str(out))
    assert proc.returncode == 2 and "already holds results" in proc.stderr


def test_zeek_binary_path_is_used_when_present(tmp_path: Path, suricata_bin: str) -> None:
    # A stand-in `zeek` that records how it was called and writes the logs real Zeek wrote for
    # this very pcap (btest baselines of core/tunnels/vxlan): the agent must run it in the log
    # directory with the sensor policy, then hash and count what it wrote.
    pcap = BTEST / "vxlan" / "vxlan.pcap"
    logs = tmp_path / "baseline"
    conn, tunnel = unmask(BTEST / "vxlan" / "conn.log", logs), unmask(BTEST / "vxlan" / "tunnel.log", logs)
    fake = tmp_path / "bin"
    _fake_bin(
        fake,
        "zeek",
        f'if [ "$1" = "--version" ]; then echo "zeek version 8.0.8"; exit 0; fi\n'
        f'echo "$@" > "{tmp_path}/argv"; pwd > "{tmp_path}/cwd"\n'
        f'cp "{conn}" conn.log; cp "{tunnel}" tunnel.log\n',
    )
    out = tmp_path / "out"
    path = f"{fake}:{Path(suricata_bin).parent}:/usr/bin:/bin"
    proc = run_cli("process", "--pcap", str(pcap), "--out", str(out), "--zeek", "require", env={**os.environ, "PATH": path})
    assert proc.returncode == 0, proc.stderr
    # Zeek reads the capture with the same capture filter as Suricata (-f), then the sensor policy
    argv = (tmp_path / "argv").read_text().strip()
    assert argv.startswith(f"-C -r {pcap} -f udp dst port 4789 ") and argv.endswith("sensor_image/zeek/local.zeek")
    assert Path((tmp_path / "cwd").read_text().strip()) == (out / "raw" / "zeek").resolve()
    manifest = _manifest(out)
    assert manifest is not None and manifest["complete"] is True
    assert manifest["engine_versions"]["zeek"] == "8.0.8" and manifest["zeek_skipped_reason"] is None
    assert manifest["record_counts"]["zeek"] == {"conn": 5, "tunnel": 4}
    zeek_files = {f["key"]: f for f in manifest["files"] if f["engine"] == "zeek"}
    assert zeek_files["raw/zeek/conn.log"]["sha256"] == hashlib.sha256(conn.read_bytes()).hexdigest()


def test_zeek_required_but_absent(tmp_path: Path, suricata_bin: str) -> None:
    path = f"{Path(suricata_bin).parent}"
    if shutil.which("zeek", path=path) or shutil.which("docker", path=path):
        pytest.skip("a zeek binary or docker lives next to suricata here")
    env = {**os.environ, "PATH": path}
    proc = run_cli("process", "--pcap", str(VXLAN03), "--out", str(tmp_path / "out"), "--zeek", "require", env=env)
    assert proc.returncode != 0 and "Zeek is required but cannot run" in proc.stderr


@pytest.mark.skipif(
    shutil.which("zeek") is None, reason="no zeek binary here (Zeek output is covered by the shared Zeek logs)"
)
def test_real_zeek_on_the_vxlan_pcap(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli("process", "--pcap", str(BTEST / "vxlan" / "vxlan.pcap"), "--out", str(out), "--zeek", "require")
    assert proc.returncode == 0, proc.stderr
    from tapcase_sensor.logs import ZeekLog

    conn = ZeekLog(out / "raw" / "zeek" / "conn.log")
    rows = list(conn)
    assert conn.shape == "json" and len(rows) == 5
    assert all(r["community_id"].startswith("1:") for r in rows)
    assert {r["service"] for r in rows if r["proto"] == "udp"} == {"vxlan"}
