"""LiveEngines' decisions (with a stand-in for the docker CLI) and the agent configuration."""

from __future__ import annotations

import json
import struct
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tapcase_sensor.capture_filter import mirror_bpf
from tapcase_sensor.config import load_config, parse_config, resolve_queue_url
from tapcase_sensor.engines import (
    LiveEngines,
    counter,
    default_route_interface,
    interface_address,
    parse_compose_ps,
    prepare_host,
)
from tapcase_sensor.engines.live import read_env_file
from tapcase_sensor.errors import SensorConfigError, SensorEngineFailed, SensorNotReady

from .conftest import SURI_OUT, SV

VXLAN03 = SV / "vxlan-decoder-03" / "vxlan.pcap"

# `suricatasc -c dump-counters` answers with the same nested counters as EVE "stats".
COUNTERS = {
    "return": "OK",
    "message": {
        "uptime": 42,
        "capture": {"kernel_packets": 1200, "kernel_drops": 3, "errors": 0},
        "decoder": {"pkts": 1200, "vxlan": 1180, "ipv4": 2380},
    },
}


class FakeDocker:
    """Answers the docker commands LiveEngines issues, the way docker compose v2 prints them."""

    def __init__(self, states: dict[str, dict[str, Any]], counters: dict[str, Any] | None = COUNTERS) -> None:
        self.states = states
        self.counters = counters
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        argv = list(argv)
        self.calls.append(argv)
        out, code = "", 0
        if "ps" in argv and "--format" in argv:
            out = "\n".join(json.dumps({"Service": name, **state}) for name, state in self.states.items())
        elif "ps" in argv and "--quiet" in argv:
            out = "abc123\n"
        elif argv[:2] == ["docker", "inspect"]:
            out = "2026-11-23T10:00:00.123456789Z\n"
        elif "suricatasc" in argv:
            out, code = (json.dumps(self.counters), 0) if self.counters else ("", 1)
        elif argv[-2:] == ["suricata", "-V"]:
            out = "This is Suricata version 7.0.10 RELEASE\n"
        elif argv[-2:] == ["zeek", "--version"]:
            out = "zeek version 8.0.8\n"
        elif "stop" in argv:
            for state in self.states.values():
                state.update(State="exited", ExitCode=0)
        return subprocess.CompletedProcess(argv, code, out, "")


def _engines(tmp_path: Path, docker: FakeDocker) -> LiveEngines:
    return LiveEngines(
        "ens5", compose_file=tmp_path / "compose.yaml", log_dir=tmp_path / "logs", env_file=tmp_path / "engines.env",
        runner=docker, clock=lambda: 1_800_000_000.0, sensor_ip="10.0.1.20", pcap_max_mb=100,
    )  # fmt: skip


HEALTHY = {"suricata": {"State": "running", "Health": "healthy"}, "zeek": {"State": "running", "Health": "healthy"}}


def test_ready_when_both_engines_run_and_listen(tmp_path: Path) -> None:
    docker = FakeDocker({k: dict(v) for k, v in HEALTHY.items()})
    engines = _engines(tmp_path, docker)
    engines.start()
    assert (tmp_path / "engines.env").read_text() == (
        f"SENSOR_INTERFACE=ens5\nSENSOR_LOG_DIR={tmp_path / 'logs'}\nSENSOR_IP=10.0.1.20\n"
        'SENSOR_CAPTURE_FILTER="udp dst port 4789 and dst host 10.0.1.20"\n'
        "SENSOR_PCAP_ENABLED=yes\nSENSOR_PCAP_FILE_LIMIT=10mb\nSENSOR_PCAP_MAX_FILES=10\n"
    )
    up = next(c for c in docker.calls if "up" in c)
    assert up[:2] == ["docker", "compose"] and ["--no-build", "--pull", "never"] == up[-3:]
    assert engines.started_at == pytest.approx(1795428000.123456, abs=1e-6)
    status = engines.status()
    assert status.ready and status.vxlan_seen and status.vxlan_packets == 1180 and status.packets_seen == 1200
    assert status.engines["suricata"]["version"] == "7.0.10" and status.engines["zeek"]["version"] == "8.0.8"


def test_not_ready_while_starting(tmp_path: Path) -> None:
    states = {"suricata": {"State": "running", "Health": "starting"}, "zeek": {"State": "running", "Health": "healthy"}}
    docker = FakeDocker(states, counters=None)
    engines = _engines(tmp_path, docker)
    status = engines.status()
    assert not status.ready and "suricata: state=running health=starting" in status.detail
    with pytest.raises(SensorNotReady, match="health=starting"):
        engines.wait_ready(timeout=0, sleep=lambda _s: None)


def test_stop_reads_final_counters_and_lists_logs(tmp_path: Path) -> None:
    docker = FakeDocker({k: dict(v) for k, v in HEALTHY.items()})
    engines = _engines(tmp_path, docker)
    engines.start()
    eve = (SURI_OUT / "rules_vxlan-decoder-02" / "eve.json").read_bytes()
    (tmp_path / "logs" / "suricata" / "eve.json").write_bytes(eve)
    (tmp_path / "logs" / "zeek" / "conn.log").write_text('{"ts":1.0,"uid":"C1"}\n')
    result = engines.stop()
    assert any(c[-3:] == ["stop", "--timeout", "120"] for c in docker.calls)
    # each counter: the larger of the socket's last answer and eve.json's last stats record
    assert (result.packets_seen, result.packets_dropped, result.vxlan_packets) == (1200, 3, 1180)
    assert result.ended_at == 1_800_000_000.0 and result.source == {"interface": "ens5"}
    assert sorted((f.engine, f.name) for f in result.log_files) == [("suricata", "eve.json"), ("zeek", "conn.log")]
    assert engines.stop() is result  # idempotent


def test_engine_that_died_is_a_failure(tmp_path: Path) -> None:
    docker = FakeDocker({k: dict(v) for k, v in HEALTHY.items()})
    engines = _engines(tmp_path, docker)
    original = docker.__call__

    def crash_on_stop(argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        proc = original(argv, timeout)
        if "stop" in argv:
            docker.states["zeek"]["ExitCode"] = 139
        return proc

    engines.runner = crash_on_stop
    with pytest.raises(SensorEngineFailed, match="zeek exit 139"):
        engines.stop()


def test_compose_ps_formats_and_counters() -> None:
    line_format = '{"Service":"zeek","State":"running"}\n{"Service":"suricata","State":"exited","ExitCode":0}'
    array_format = '[{"Service":"zeek","State":"running"},{"Service":"suricata","State":"exited","ExitCode":0}]'
    assert parse_compose_ps(line_format) == parse_compose_ps(array_format)
    assert counter({"capture.kernel_packets": 5}, "capture.kernel_packets") == 5
    assert counter(COUNTERS["message"], "decoder.vxlan") == 1180 and counter(None, "x") is None


def test_default_route_interface(tmp_path: Path) -> None:
    table = tmp_path / "route"
    table.write_text(
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
        "ens5\t0010A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n"
        "ens5\t00000000\t0110A8C0\t0003\t0\t0\t0\t00000000\n"
    )
    assert default_route_interface(table) == "ens5"


# -- configuration ----------------------------------------------------------------------------


def test_config_from_the_workflow_plan() -> None:
    # a field the agent does not know (a newer plan than this sensor image) is ignored; null is the default
    config = parse_config(
        {"investigation_id": "inv-42", "control_queue_name": "tapcase-inv-42-control", "bucket": "tapcase-evidence",
         "prefix": "/investigations/inv-42/", "region": "eu-west-1", "something_new": True, "sensor_ip": None}
    )  # fmt: skip
    assert config.prefix == "investigations/inv-42" and config.control_queue_url is None and config.sensor_ip is None

    class Sqs:
        def get_queue_url(self, QueueName: str) -> dict[str, str]:  # noqa: N803 (boto3 casing)
            return {"QueueUrl": f"https://sqs.eu-west-1.amazonaws.com/123456789012/{QueueName}"}

    resolved = resolve_queue_url(config, Sqs())
    assert resolved.control_queue_url is not None and resolved.control_queue_url.endswith("/tapcase-inv-42-control")

    class NoQueue:
        def get_queue_url(self, QueueName: str) -> dict[str, str]:  # noqa: N803 (boto3 casing)
            raise RuntimeError("AWS.SimpleQueueService.NonExistentQueue")

    with pytest.raises(SensorConfigError, match="cannot resolve control queue 'tapcase-inv-42-control'"):
        resolve_queue_url(config, NoQueue())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"bucket": "b-1x", "control_queue_url": "https://q"}, "investigation_id"),
        ({"investigation_id": "inv-1", "bucket": "b-1x"}, "control_queue_url"),
        ({"investigation_id": "../etc", "bucket": "b-1x", "control_queue_url": "https://q"}, "invalid investigation_id"),
        # the workflow's id rule, not a looser one of the agent's own
        ({"investigation_id": "Inv_1", "bucket": "b-1x", "control_queue_url": "https://q"}, "invalid investigation_id"),
        ({"investigation_id": "i" * 49, "bucket": "b-1x", "control_queue_url": "https://q"}, "3 to 48 characters"),
        ({"investigation_id": "inv-1", "bucket": "Bad_Bucket", "control_queue_url": "https://q"}, "invalid bucket"),
        ({"investigation_id": "inv-1", "bucket": "b-1x", "control_queue_url": "sqs://q"}, "SQS queue URL"),
        ({"investigation_id": "inv-1", "bucket": "b-1x", "control_queue_url": "https://q", "poll_wait_seconds": 30},
         "0..20"),
        ({"investigation_id": "inv-1", "bucket": "b-1x", "control_queue_url": "https://q", "ready_timeout": "soon"},
         "ready_timeout must be a number"),
        ([], "JSON object"),
    ],
)
def test_config_validation(data: Any, message: str) -> None:
    with pytest.raises(SensorConfigError, match=message):
        parse_config(data)


def test_config_file_and_nesting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "agent.json"
    nested = {"tapcase_sensor": {"investigation_id": "inv-7", "control_queue_url": "https://q", "bucket": "bkt"}}
    path.write_text(json.dumps(nested))
    monkeypatch.setenv("TAPCASE_SENSOR_CONFIG", str(path))
    config = load_config()
    assert config.investigation_id == "inv-7" and config.prefix == "investigations/inv-7"
    with pytest.raises(SensorConfigError, match="not found"):
        load_config(tmp_path / "missing.json")


# -- capture filter and pcap evidence on the sensor ------------------------------------------------


def test_prepare_host_reads_the_interface_address(tmp_path: Path) -> None:
    # The loopback interface stands for the ENI: its real IPv4 address, read from the kernel
    setup = prepare_host("lo", tmp_path / "logs", tmp_path / "engines.env", pcap_max_mb=0)
    assert setup.capture_filter.sensor_ip == "127.0.0.1"
    env = read_env_file(tmp_path / "engines.env")
    assert env["SENSOR_IP"] == "127.0.0.1"
    assert env["SENSOR_CAPTURE_FILTER"] == mirror_bpf("127.0.0.1") == "udp dst port 4789 and dst host 127.0.0.1"
    assert (env["SENSOR_PCAP_ENABLED"], env["SENSOR_PCAP_MAX_FILES"]) == ("no", "1")
    assert (tmp_path / "logs" / "pcap").is_dir()
    with pytest.raises(SensorConfigError, match="cannot read the IPv4 address of 'nosuch0'"):
        interface_address("nosuch0")


def test_stop_collects_the_pcap_evidence(tmp_path: Path) -> None:
    # Given Suricata's pcap-log left one file (its unpadded name, a pseudo packet inside) and its
    # counters say it decoded 100 packets
    counters = {"return": "OK", "message": {"decoder": {"pkts": 100, "vxlan": 100}, "capture": {"kernel_packets": 100}}}
    docker = FakeDocker({k: dict(v) for k, v in HEALTHY.items()}, counters=counters)
    engines = LiveEngines(
        "ens5", compose_file=tmp_path / "compose.yaml", log_dir=tmp_path / "logs", env_file=tmp_path / "engines.env",
        runner=docker, clock=lambda: 1_800_000_000.0, sensor_ip="172.31.17.188", pcap_max_mb=100,
    )  # fmt: skip
    engines.start()
    data = VXLAN03.read_bytes()
    pseudo = bytes.fromhex("4500002800000000400600001256918fac1f00ee") + bytes(20)
    record = data[24:32] + struct.pack("<II", 40, 40) + pseudo
    (tmp_path / "logs" / "pcap" / "packets.1561644070.47299").write_bytes(data + record)
    stats = {"event_type": "stats", "stats": {"decoder": {"pkts": 100, "vxlan": 100}, "capture": {"kernel_packets": 100}}}
    (tmp_path / "logs" / "suricata" / "eve.json").write_text(json.dumps(stats) + "\n")
    result = engines.stop()
    # Then the file is renamed, cleaned, hashed, and holds every packet decoded
    evidence = result.packet_log
    assert evidence is not None and [f.name for f in evidence.files] == ["packets.1561644070.047299.pcap"]
    assert evidence.pseudo_packets_removed == 1 and evidence.packets_kept == evidence.packets_seen == 100
    assert evidence.files[0].path.read_bytes() == data
    assert result.capture_filter is not None and result.capture_filter["bpf"] == mirror_bpf("172.31.17.188")


def test_stop_refuses_an_env_file_with_another_filter(tmp_path: Path) -> None:
    docker = FakeDocker({k: dict(v) for k, v in HEALTHY.items()})
    engines = _engines(tmp_path, docker)
    engines.start()
    env = tmp_path / "engines.env"
    env.write_text(env.read_text().replace('"udp dst port 4789 and dst host 10.0.1.20"', '"udp"'))
    with pytest.raises(SensorEngineFailed, match="holds the capture filter 'udp'"):
        engines.stop()


def test_config_sensor_ip_and_cap() -> None:
    base = {"investigation_id": "inv-1", "bucket": "bkt-1", "control_queue_url": "https://q"}
    config = parse_config({**base, "sensor_ip": "10.0.1.20", "pcap_max_mb": 64})
    assert (config.sensor_ip, config.pcap_max_mb) == ("10.0.1.20", 64)
    with pytest.raises(SensorConfigError, match="not an IP address"):
        parse_config({**base, "sensor_ip": "10.0.1.20; rm -rf /"})
