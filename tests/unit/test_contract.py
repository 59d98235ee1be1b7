"""tapcase_contract: each shared contract defined once, and what it accepts and refuses."""

from __future__ import annotations

import dataclasses
import re

import pytest
from pydantic import ValidationError

from tapcase_contract import ContractError, layout, tags
from tapcase_contract.control import COLLECT_EVIDENCE, WAIT_FOR_SENSOR, ControlMessage
from tapcase_contract.ids import (
    INVESTIGATION_ID_PATTERN,
    check_investigation_id,
    investigation_id_for_execution,
    investigation_id_for_finding,
    investigation_id_from_name,
    is_investigation_id,
)
from tapcase_contract.limits import MIN_PCAP_MB, check_pcap_max_mb
from tapcase_contract.sensor_config import SensorConfig
from tapcase_workflow.logic.plan import StackSettings, make_plan
from tapcase_workflow.logic.request import normalise
from tapcase_workflow.models.plan import InvestigationPlan
from tests.conftest import REPO

SOURCES = ("functions", "sensor_image", "tapcase")


def test_the_id_rule_is_written_once():
    # the acceptance of issue 9: a grep for the pattern finds one definition
    body = INVESTIGATION_ID_PATTERN.strip("^$").split("{")[0]  # [a-z0-9][a-z0-9-]
    hits = [path.relative_to(REPO).as_posix() for top in SOURCES for path in (REPO / top).rglob("*.py")
            if body in path.read_text(encoding="utf-8")]
    assert hits == ["functions/tapcase_contract/ids.py"]


@pytest.mark.parametrize("value", ["abc", "gd-" + "a" * 45, "run-0123456789abcdef", "0-0"])
def test_valid_ids(value):
    assert is_investigation_id(value) and check_investigation_id(value) == value


@pytest.mark.parametrize("value", ["ab", "a" * 49, "-abc", "Abc", "a_b", "a.b", "a b", "curated", "", None, 42])
def test_invalid_ids_say_the_rule(value):
    assert not is_investigation_id(value)
    with pytest.raises(ContractError, match="3 to 48 characters"):
        check_investigation_id(value)


def test_any_folder_name_becomes_an_id():
    sixty = "Incident 2024-05-17 web-frontend-03 eu-west-1 full capture X"
    assert len(sixty) == 60
    derived = investigation_id_from_name(sixty)
    assert is_investigation_id(derived) and len(derived) <= 48
    assert re.fullmatch(r"incident-2024-05-17-web-frontend-03-eu-[0-9a-f]{8}", derived)
    # two long names that differ only at the end stay apart; the same name gives the same id
    other = investigation_id_from_name(sixty[:-1] + "Y")
    assert other != derived and investigation_id_from_name(sixty) == derived
    assert investigation_id_from_name("My Logs_2024") == "my-logs-2024"
    assert investigation_id_from_name("case-42") == "case-42"  # already an id: kept
    assert investigation_id_from_name("x") == "local-x"
    assert investigation_id_from_name("__") == "local-analysis"
    assert investigation_id_from_name("curated") == "local-curated"  # reserved by the bucket layout
    assert investigation_id_from_name("Überwachung") == "berwachung"
    assert is_investigation_id(investigation_id_from_name("-" * 70 + "a" * 70))


def test_finding_and_execution_ids_are_stable():
    # GuardDuty repeats a finding's events: one id per finding, as before the contract existed
    assert investigation_id_for_finding("ABC-def") == "gd-abcdef"
    assert investigation_id_for_finding("16afba5c5c43e07c9e3e5e2e544e95df") == "gd-16afba5c5c43e07c9e3e5e2e544e95df"
    long_id = investigation_id_for_finding("f" * 100)
    assert long_id == "gd-" + "f" * 45 and is_investigation_id(long_id)
    assert re.fullmatch(r"gd-[0-9a-f]{45}", investigation_id_for_finding("!!!"))
    assert investigation_id_for_execution("Triage-42", "i-1") == "triage-42"
    assert re.fullmatch(r"run-[0-9a-f]{16}", investigation_id_for_execution("a" * 80, "i-1"))
    assert investigation_id_for_execution(None, "i-1") == investigation_id_for_execution(None, "i-1")


def test_layout():
    prefix = layout.evidence_prefix("case-1")
    assert prefix == "investigations/case-1"
    assert layout.raw_key(prefix, "zeek", "conn.log") == "investigations/case-1/raw/zeek/conn.log"
    assert layout.raw_key("", "suricata", "eve.json") == "raw/suricata/eve.json"  # an output folder's root
    assert layout.pcap_key(prefix, "p.pcap") == "investigations/case-1/raw/pcap/p.pcap"
    assert layout.manifest_key(prefix) == "investigations/case-1/raw/manifest.json"
    assert layout.report_key(prefix, layout.REPORT_HTML) == "investigations/case-1/report/report.html"
    assert layout.curated_table_prefix("zeek_conn") == "investigations/curated/zeek_conn/"
    assert layout.curated_partition("suricata_eve", "case-1", "dns") == (
        "investigations/curated/suricata_eve/investigation_id=case-1/event_type=dns"
    )
    with pytest.raises(ContractError):
        layout.evidence_prefix("../etc")
    with pytest.raises(ContractError):
        layout.curated_partition("zeek_conn", "curated")


def test_tags():
    assert tags.investigation_tags("case-1", "i-1") == [
        {"Key": "tapcase:investigation-id", "Value": "case-1"}, {"Key": "tapcase:instance-id", "Value": "i-1"},
    ]  # fmt: skip
    sensor = tags.as_mapping(tags.sensor_tags("case-1", "i-1"))
    assert sensor[tags.ROLE] == tags.ROLE_SENSOR == "sensor" and sensor["Name"] == "tapcase-sensor-case-1"


def test_control_message():
    body = {"action": COLLECT_EVIDENCE, "task_token": "t" * 30, "investigation_id": "case-1", "bucket": "b",
            "prefix": "investigations/case-1", "added_later": 1}
    message = ControlMessage.from_dict(body)
    assert (message.action, message.bucket) == ("CollectEvidence", "b")
    assert ControlMessage.from_dict({**body, "action": WAIT_FOR_SENSOR, "bucket": None}).bucket is None
    for bad, error in [({**body, "action": "collect"}, "unknown action 'collect'"),
                       ({**body, "task_token": ""}, "lacks task_token"),
                       ({**body, "investigation_id": "Case 1"}, "invalid investigation id"),
                       ({**body, "prefix": 7}, "prefix must be a string"),
                       ([], "JSON object")]:
        with pytest.raises(ContractError, match=error):
            ControlMessage.from_dict(bad)  # type: ignore[arg-type]


INSTANCE = {"InstanceId": "i-0123456789abcdef0", "InstanceType": "m5.large", "State": {"Name": "running"},
            "Placement": {"AvailabilityZone": "us-east-1a"}, "VpcId": "vpc-1",
            "NetworkInterfaces": [{"NetworkInterfaceId": "eni-a", "SubnetId": "subnet-1",
                                   "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.10"}]}]}
PLAN = make_plan(normalise({"instance_id": "i-0123456789abcdef0"}, execution_name="case-1"), INSTANCE, {}, set(),
                 stack=StackSettings(bucket="evidence", region="us-east-1"), now_epoch=1,
                 run_name="case-1").model_dump(mode="json")
PLAN_WRITES = {"investigation_id": "case-1", "control_queue_name": "tapcase-case-1-0a1b2c3d-control",
               "bucket": "evidence", "prefix": "investigations/case-1", "region": "us-east-1", "pcap_max_mb": 0}


def test_sensor_config_rules_hold_for_both_readers():
    config = SensorConfig.from_dict(PLAN_WRITES)
    assert config.to_dict() == {**dataclasses.asdict(SensorConfig(**PLAN_WRITES))}
    assert SensorConfig.from_dict(config.to_dict()) == config  # what Plan writes, the agent reads back
    assert config.with_queue_url("https://sqs/q").control_queue_url == "https://sqs/q"
    assert SensorConfig.from_dict({**PLAN_WRITES, "prefix": None}).prefix == "investigations/case-1"
    assert SensorConfig.from_dict({**PLAN_WRITES, "poll_wait_seconds": "5"}).poll_wait_seconds == 5
    # the same refusals from the dataclass (the agent) and from the pydantic plan (the Lambdas)
    for bad, error in [({"pcap_max_mb": 2}, f"at least {MIN_PCAP_MB} MiB"), ({"investigation_id": "x"}, "3 to 48"),
                       ({"bucket": "Evidence"}, "bucket name"), ({"sensor_ip": "10.0.0.300"}, "not an IP address"),
                       ({"poll_wait_seconds": 21}, "0..20"),
                       ({"control_queue_name": None}, "control_queue_url")]:
        with pytest.raises(ContractError, match=re.escape(error)):
            SensorConfig(**{**PLAN_WRITES, **bad})
        with pytest.raises(ValidationError, match=re.escape(error)):
            InvestigationPlan.model_validate({**PLAN, "sensor_config": {**PLAN_WRITES, **bad}})
    assert InvestigationPlan.model_validate(PLAN).sensor_config == SensorConfig.from_dict(PLAN["sensor_config"])
    with pytest.raises(ContractError, match="heartbeat_seconds must be a number"):
        SensorConfig.from_dict({**PLAN_WRITES, "heartbeat_seconds": True})


def test_pcap_cap():
    assert [check_pcap_max_mb(v) for v in (0, 4, "8", 16.0)] == [0, 4, 8, 16]
    for bad in (1, 3, -4, "lots", 4.5, None, True):
        with pytest.raises(ContractError, match="pcap_max_mb"):
            check_pcap_max_mb(bad)
