"""Reports built the way the workflow builds them, on real engine output: each scenario story's
mirrored capture through real Suricata (the sensor's configuration and rules, tapcase.rules
included), the real AWS traffic-mirroring capture of ../shared, and the real Zeek logs of
../shared; curated, queried with the pack on DuckDB (Athena's stand-in) and reported. Built once
per session."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tapcase.analyze import run_pack
from tapcase.scenario import generate, names
from tapcase_workflow.logic.report import build_report
from tapcase_workflow.logic.request import normalise
from tapcase_workflow.querypack import finding_parameters
from tests.conftest import REPO, shared
from tests.lake.helpers import build_lake

REGION = "us-east-1"


@dataclass
class Built:
    report: dict[str, Any]
    results: dict[str, Any]
    info: Any = None
    workdir: Path | None = None


def sensor_run(pcap: Path, workdir: Path) -> dict[str, Any]:
    """The sensor's engines on a capture of a sensor's interface (every UDP 4789 packet analysed):
    its manifest-like facts (packets, rules loaded)."""
    from tapcase_sensor.engines.offline import OfflineEngines

    engines = OfflineEngines(pcap, workdir, zeek="skip", pcap_max_mb=0)
    engines.start()
    result = engines.stop()
    suricata = result.engines["suricata"]
    return {"packets": {"seen": result.packets_seen, "dropped": result.packets_dropped, "vxlan": result.vxlan_packets},
            "rules": {"loaded": suricata.rules_loaded, "failed": suricata.rules_failed},
            "engines": {k: v for k, v in result.engine_versions.items() if v},
            "zeek_skipped_reason": result.zeek_skipped_reason,
            "window": {"start": result.started_at, "end": result.ended_at, "requested_seconds": 600}}


def report_for(logs: Path, out: Path, inv: str, *, event: dict[str, Any] | None = None, suspect_ips: list[str] = (),
               extra: dict[str, Any] | None = None, instance: str | None = None) -> Built:
    lake = build_lake(logs, out, inv)
    request = normalise(event) if event else None
    finding = request.finding if request else None
    con = lake.parquet_con()
    results, errors = run_pack(con, inv, parameters=finding_parameters(finding, suspect_ips))
    con.close()
    context: dict[str, Any] = dict(extra or {})
    if finding is not None:
        context["finding"] = {"id": finding.id, "type": finding.type, "domains": finding.domains,
                              "remote_ips": finding.remote_ips,
                              "ports": sorted(set(finding.remote_ports + finding.local_ports))}
    if instance:
        context["instance"] = {"id": instance, "name": finding.instance_name if finding else None}
    report = build_report(results, investigation_id=inv, context=context, errors=errors, suspect_ips=list(suspect_ips),
                          region=REGION, generated_at="2026-01-01T00:00:00Z")
    return Built(report, results["queries"])


@pytest.fixture(scope="session")
def stories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    root = tmp_path_factory.mktemp("story-reports")
    built = {}
    for name in names():
        directory = root / name
        info = generate(name, directory / "mirrored.pcap", seed=0, form="vxlan")
        facts = sensor_run(directory / "mirrored.pcap", directory / "sensor")
        event = json.loads((REPO / "samples" / "findings" / f"{name}.json").read_text())
        item = report_for(directory / "sensor" / "raw", directory / "lake", f"story-{name}", event=event,
                          suspect_ips=[info.suspect_ip], extra=facts, instance=info.instance_id)
        item.info, item.workdir = info, directory
        built[name] = item
    return built


@pytest.fixture(scope="session")
def real_aws(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The real AWS VPC Traffic Mirroring capture (2019): four SSH sessions from 18.196.145.224."""
    root = tmp_path_factory.mktemp("real-aws")
    facts = sensor_run(shared("suricata-verify", "vxlan-decoder-03", "vxlan.pcap"), root / "sensor")
    return report_for(root / "sensor" / "raw", root / "lake", "real-aws", suspect_ips=["172.31.0.238"], extra=facts)


@pytest.fixture(scope="session")
def brim_dns(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The real Zeek logs of the WRCCDC 2018 capture (brimdata): DNS, TLS, SMB, NTLM, PE, RDP... no conn."""
    root = tmp_path_factory.mktemp("brim")
    return report_for(shared("zeek", "brimdata-zed-sample-data", "zeek-json"), root / "lake", "brim",
                      extra={"source": "tapcase analyze", "curated_rows": {"zeek_dns": 1}})
