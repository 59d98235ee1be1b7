"""Fixtures for the scenario tests: each story generated once (seed 0) and read by real Suricata."""

from __future__ import annotations

import json
import shutil
import socket
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from scapy.utils import RawPcapReader

from tapcase.scenario import ScenarioInfo, generate, names


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ScenarioInfo]:
    """Each story in its VXLAN form: what an AWS mirror session delivers to the sensor."""
    directory = tmp_path_factory.mktemp("scenarios")
    return {name: generate(name, directory / f"{name}.pcap", seed=0, form="vxlan") for name in names()}


@pytest.fixture(scope="session")
def plain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ScenarioInfo]:
    """Each story in its plain form (the default): the suspect's subnet as captured."""
    directory = tmp_path_factory.mktemp("plain")
    return {name: generate(name, directory / f"{name}.pcap", seed=0) for name in names()}


def run_suricata(pcap: Path, outdir: Path) -> list[dict]:
    """Stock Suricata (default config, VXLAN decapsulation on 4789 by default), no rules, no
    checksum validation; returns the eve.json events."""
    binary = shutil.which("suricata")
    if binary is None:
        pytest.fail("suricata is not installed: `make test` installs it (scripts/install-system-deps.sh)")
    outdir.mkdir(parents=True, exist_ok=True)
    rules = outdir / "empty.rules"
    rules.write_text("")
    proc = subprocess.run(
        [binary, "-r", str(pcap), "-l", str(outdir), "-k", "none", "-S", str(rules)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with (outdir / "eve.json").open() as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="session")
def eve(generated: dict[str, ScenarioInfo], tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    directory = tmp_path_factory.mktemp("suricata")
    return {name: run_suricata(Path(info.pcap), directory / name) for name, info in generated.items()}


@dataclass
class Mirrored:
    """One mirrored packet, decoded with plain struct (independent of the generator's code)."""

    ts_us: int
    frame: bytes
    outer_dst_mac: bytes
    outer_src_mac: bytes
    outer_src: str
    outer_dst: str
    outer_ttl: int
    outer_id: int
    outer_flags_frag: int
    outer_ip_header: bytes
    sport: int
    dport: int
    udp_len: int
    udp_checksum: int
    vxlan_flags: int
    vni: int
    inner_dst_mac: bytes
    inner_src_mac: bytes
    inner_ethertype: int
    inner_ip: bytes
    proto: int
    src: str
    dst: str
    ttl: int
    l4: bytes

    @property
    def src_port(self) -> int:
        return struct.unpack("!H", self.l4[:2])[0]

    @property
    def dst_port(self) -> int:
        return struct.unpack("!H", self.l4[2:4])[0]

    @property
    def tcp_flags(self) -> int:
        return self.l4[13]

    @property
    def tcp_payload(self) -> bytes:
        return self.l4[(self.l4[12] >> 4) * 4 :]

    @property
    def udp_payload(self) -> bytes:
        return self.l4[8:]


def mirrored(path: Path | str) -> Iterator[Mirrored]:
    for raw, meta in RawPcapReader(str(path)):
        ip = raw[14:34]
        ihl = (ip[0] & 0x0F) * 4
        udp = raw[14 + ihl : 14 + ihl + 8]
        vx = raw[14 + ihl + 8 : 14 + ihl + 16]
        inner = raw[14 + ihl + 16 :]
        inner_ip = inner[14:]
        inner_ihl = (inner_ip[0] & 0x0F) * 4
        total = struct.unpack("!H", inner_ip[2:4])[0]
        yield Mirrored(
            ts_us=meta.sec * 1_000_000 + meta.usec,
            frame=raw,
            outer_dst_mac=raw[0:6],
            outer_src_mac=raw[6:12],
            outer_src=socket.inet_ntoa(ip[12:16]),
            outer_dst=socket.inet_ntoa(ip[16:20]),
            outer_ttl=ip[8],
            outer_id=struct.unpack("!H", ip[4:6])[0],
            outer_flags_frag=struct.unpack("!H", ip[6:8])[0],
            outer_ip_header=raw[14 : 14 + ihl],
            sport=struct.unpack("!H", udp[0:2])[0],
            dport=struct.unpack("!H", udp[2:4])[0],
            udp_len=struct.unpack("!H", udp[4:6])[0],
            udp_checksum=struct.unpack("!H", udp[6:8])[0],
            vxlan_flags=vx[0],
            vni=int.from_bytes(vx[4:7], "big"),
            inner_dst_mac=inner[0:6],
            inner_src_mac=inner[6:12],
            inner_ethertype=struct.unpack("!H", inner[12:14])[0],
            inner_ip=inner_ip[:total],
            proto=inner_ip[9],
            src=socket.inet_ntoa(inner_ip[12:16]),
            dst=socket.inet_ntoa(inner_ip[16:20]),
            ttl=inner_ip[8],
            l4=inner_ip[inner_ihl:total],
        )
