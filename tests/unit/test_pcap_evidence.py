"""The pcap evidence cap from the stack to the sensor, and what the report says about the files.

EvidencePcapMaxMB (template) -> EVIDENCE_PCAP_MAX_MB (the Plan function) -> PlanSettings ->
StackSettings -> the plan's sensor_config.pcap_max_mb (the sensor's user data) -> the agent's
SensorConfig (tapcase_contract.sensor_config, one model for both sides).
"""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from tapcase.localcloud.cfn import load_template
from tapcase_contract.limits import DEFAULT_PCAP_MAX_MB, MIN_PCAP_MB
from tapcase_sensor.config import parse_config
from tapcase_sensor.packet_log import PacketLog
from tapcase_workflow.logic.capture_context import capture_context
from tapcase_workflow.logic.plan import StackSettings, make_plan
from tapcase_workflow.logic.report import build_report, render_html, render_markdown
from tapcase_workflow.logic.request import normalise
from tapcase_workflow.settings import PlanSettings
from tests.conftest import REPO

TEMPLATE = load_template(REPO / "template.yaml")
REQUEST = normalise({"instance_id": "i-0123456789abcdef0", "duration_seconds": 300}, execution_name="case-1")
INSTANCE = {
    "InstanceId": "i-0123456789abcdef0", "InstanceType": "m5.large", "State": {"Name": "running"},
    "Placement": {"AvailabilityZone": "us-east-1a"}, "VpcId": "vpc-1",
    "NetworkInterfaces": [{"NetworkInterfaceId": "eni-a", "SubnetId": "subnet-1", "Attachment": {"DeviceIndex": 0},
                           "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.10"}]}],
}  # fmt: skip


def _plan(**stack: int):  # type: ignore[no-untyped-def]
    settings = StackSettings(bucket="evidence", region="us-east-1", **stack)
    return make_plan(REQUEST, INSTANCE, {}, set(), stack=settings, now_epoch=1_000, run_name="case-1")


def test_stack_parameter_reaches_the_plan_function() -> None:
    parameter = TEMPLATE["Parameters"]["EvidencePcapMaxMB"]
    plan_function = TEMPLATE["Resources"]["PlanFunction"]["Properties"]
    assert plan_function["Environment"]["Variables"]["EVIDENCE_PCAP_MAX_MB"] == {"Ref": "EvidencePcapMaxMB"}
    # one default everywhere, and CloudFormation refuses what Suricata cannot do (1-3 MiB)
    assert int(parameter["Default"]) == DEFAULT_PCAP_MAX_MB == PlanSettings().evidence_pcap_max_mb
    assert PacketLog(MIN_PCAP_MB).file_mb == MIN_PCAP_MB  # the sensor's smallest file is the contract's minimum
    pattern = re.compile(parameter["AllowedPattern"])
    assert [v for v in ("0", "4", "9", "10", "1024", "1000000") if not pattern.fullmatch(v)] == []
    assert [v for v in ("1", "3", "-1", "04", "1.5", "", "ten") if pattern.fullmatch(v)] == []


def test_settings_refuse_a_cap_suricata_cannot_keep() -> None:
    assert PlanSettings.model_validate({"evidence_pcap_max_mb": "0"}).evidence_pcap_max_mb == 0
    with pytest.raises(ValidationError, match="0 \\(keep no packets\\) or at least 4 MiB"):
        PlanSettings.model_validate({"evidence_pcap_max_mb": "2"})


def test_plan_hands_the_cap_to_the_sensor() -> None:
    assert _plan().sensor_config.pcap_max_mb == DEFAULT_PCAP_MAX_MB
    plan = _plan(evidence_pcap_max_mb=0)
    assert plan.sensor_config.pcap_max_mb == 0
    # the user data the sensor reads is the plan's sensor_config, as JSON
    config = parse_config(plan.model_dump(mode="json")["sensor_config"])
    assert config.pcap_max_mb == 0 and config.investigation_id == plan.investigation_id


# -- the report --------------------------------------------------------------------------------------

MANIFEST = {
    "bucket": "evidence",
    "capture_filter": {"mode": "interface", "bpf": "udp dst port 4789 and dst host 10.0.0.99",
                       "sensor_ip": "10.0.0.99", "note": "only VXLAN to the sensor"},
    "pcap": {
        "enabled": True, "max_mb": 8, "file_mb": 4, "max_files": 2, "max_bytes": 8 * 2**20,
        "packets_seen": 6898, "packets_kept": 4139, "bytes_kept": 6291328, "cap_reached": True,
        "pseudo_packets_removed": 0,
        "note": "the cap of 8 MiB was reached: the 2759 earliest packets were not kept (the files hold the last 4139 of 6898)",
        "files": [
            {"key": "investigations/case-1/raw/pcap/packets.1700000002.759000.pcap", "bytes": 4193704,
             "sha256": "f9" * 32, "packets": 2759, "first": "2023-11-14T22:13:22.759000Z",
             "last": "2023-11-14T22:13:25.517000Z"},
            {"key": "investigations/case-1/raw/pcap/packets.1700000005.518000.pcap", "bytes": 2097624,
             "sha256": "59" * 32, "packets": 1380, "first": "2023-11-14T22:13:25.518000Z",
             "last": "2023-11-14T22:13:26.897000Z"},
        ],
    },
}  # fmt: skip


def _report(manifest: dict) -> dict:  # type: ignore[type-arg]
    ctx = capture_context(_plan(), sensor=None, sensor_ready=None, mirror_sessions=[], mirror_filter=None,
                          mirror_target=None, evidence={}, manifest=manifest, execution_arn="arn:x")  # fmt: skip
    return build_report({"queries": {}}, investigation_id="case-1", context=ctx, generated_at="2026-01-01T00:00:00Z")


def test_report_lists_the_pcap_files_and_says_the_cap_was_reached() -> None:
    report = _report(MANIFEST)
    pcap = report["context"]["pcap"]
    assert [f["uri"] for f in pcap["files"]] == [
        "s3://evidence/investigations/case-1/raw/pcap/packets.1700000002.759000.pcap",
        "s3://evidence/investigations/case-1/raw/pcap/packets.1700000005.518000.pcap",
    ]
    assert pcap["cap_reached"] is True and pcap["packets_kept"] == 4139
    assert report["context"]["capture_filter"]["bpf"] == "udp dst port 4789 and dst host 10.0.0.99"
    page = render_markdown(report)
    assert "## Packets (pcap evidence)" in page
    assert "**Size cap of 8 MiB reached**: the cap of 8 MiB was reached: the 2759 earliest packets were not kept" in page
    assert (
        "| [packets.1700000002.759000.pcap](s3://evidence/investigations/case-1/raw/pcap/packets.1700000002.759000.pcap)"
        f" | 2759 | 2023-11-14T22:13:22.759000Z | 2023-11-14T22:13:25.517000Z | 4193704 | `{'f9' * 32}` |"
    ) in page
    assert "- **pcap**" not in page  # not repeated among the context lines
    html = render_html(report)
    assert "<strong>Packet capture cap of 8 MiB reached:</strong> the cap of 8 MiB was reached" in html
    assert "f9" * 32 in html


def test_report_without_packets_kept() -> None:
    manifest = {**MANIFEST, "pcap": {"enabled": False, "max_mb": 0, "cap_reached": False, "files": [],
                                     "note": "keeping packets is disabled (EvidencePcapMaxMB = 0): no pcap evidence"}}
    page = render_markdown(_report(manifest))
    assert "## Packets (pcap evidence)\n\nkeeping packets is disabled (EvidencePcapMaxMB = 0): no pcap evidence" in page
    assert "Size cap" not in page and "| file |" not in page
    assert "## Packets" not in render_markdown(_report({"bucket": "evidence"}))  # an older manifest: no section
