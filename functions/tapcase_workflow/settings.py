"""Each function's settings: the environment variables template.yaml gives it, parsed once per
process into a model (``tests/test_template.py``: a function's variables are its model's fields).

``AWS_REGION`` is set by the Lambda runtime itself; the ``POWERTOOLS_*`` variables are read by
powertools.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tapcase_contract.limits import DEFAULT_PCAP_MAX_MB, check_pcap_max_mb
from tapcase_workflow.quotas import MAX_PACKET_LENGTH

#: Set by the Lambda runtime, never by the template.
RUNTIME_VARIABLES = frozenset({"AWS_REGION"})


class _Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PlanSettings(_Settings):
    default_capture_seconds: int = Field(default=600, ge=1)
    max_capture_seconds: int = Field(default=3600, ge=1)
    evidence_bucket: str = ""
    glue_database: str = ""
    aws_region: str = "us-east-1"
    sensor_ready_timeout_seconds: int = Field(default=900, ge=1)
    collect_timeout_seconds: int = Field(default=1800, ge=1)
    mirror_packet_length: int = Field(default=MAX_PACKET_LENGTH, ge=1, le=MAX_PACKET_LENGTH)
    evidence_pcap_max_mb: int = Field(default=DEFAULT_PCAP_MAX_MB, ge=0)
    # IgnoreSampleFindings: GuardDuty sample findings end "skipped".
    ignore_sample_findings: bool = True
    # MaxConcurrentSensors: child executions of one multi-instance request running at once.
    max_concurrent_sensors: int = Field(default=5, ge=1)
    # ConcurrencyMaxWaitSeconds: how long an investigation may wait for a slot (its lock lasts that longer).
    concurrency_max_wait_seconds: int = Field(default=3600, ge=0)
    # FlowLogsBucket: where the VPC's flow logs are (empty: no flow-log context, its query skipped).
    flow_logs_bucket: str = ""
    # FleetTargetId / FleetControlQueueUrl: an existing sensor fleet's traffic mirror target
    # (tmt-…, of an NLB or a GWLB endpoint) and the queue its agents read (empty: no fleet).
    fleet_target_id: str = ""
    fleet_control_queue_url: str = ""
    # MemberAccounts: other accounts the stack may act in (ids separated by commas; empty: its own
    # only) through the member role MemberRoleName the member template deploys there.
    member_accounts: str = ""
    member_role_name: str = "tapcase-member"
    # SensorAnswerRole's ARN: every sensor answers its task tokens through it (empty: with its own
    # credentials, as tools and tests run the agent).
    answer_role_arn: str = ""

    @field_validator("member_accounts")
    @classmethod
    def _accounts(cls, value: str) -> str:
        from tapcase_workflow.logic.accounts import parse_member_accounts

        parse_member_accounts(value)
        return value

    @field_validator("evidence_pcap_max_mb")
    @classmethod
    def _pcap_cap(cls, value: int) -> int:
        return check_pcap_max_mb(value)


class AdmitSettings(_Settings):
    admission_table: str = ""
    # MaxConcurrentInvestigations, ConcurrencyLimitAction, ConcurrencyMaxWaitSeconds.
    max_concurrent_investigations: int = Field(default=10, ge=1)
    concurrency_limit_action: Literal["wait", "refuse"] = "wait"
    concurrency_max_wait_seconds: int = Field(default=3600, ge=0)


class CreateMirrorFilterSettings(_Settings):
    """CreateMirrorFilter reads no environment: everything comes with the plan."""


class CollectEvidenceSettings(_Settings):
    evidence_bucket: str = ""
    # EvidenceUploadRole: assumed with the investigation's session tag (tapcase_contract.upload_access).
    evidence_upload_role_arn: str = ""


class WriteReportSettings(_Settings):
    evidence_bucket: str = ""
    report_topic_arn: str = ""
    #: Seconds the page link in the notification stays valid (SigV4 allows at most 7 days; a link
    #: signed with the function's role credentials ends with their session at the latest).
    report_link_seconds: int = Field(default=43_200, ge=60, le=604_800)
    #: "securityhub": add a note to the finding in Security Hub (skipped where the account does not
    #: allow it); "off": no note.
    finding_note: Literal["securityhub", "off"] = "securityhub"
    aws_region: str = "us-east-1"


class RecordTeardownSettings(_Settings):
    """RecordTeardown reads no environment: the report's location comes with its input."""


class TeardownSettings(_Settings):
    lock_table: str = ""


class VerifyEvidenceSettings(_Settings):
    evidence_bucket: str = ""


class JanitorSettings(_Settings):
    lock_table: str = ""
    state_machine_arn: str = ""
    # MemberAccounts / MemberRoleName: the scheduled sweep looks in each account, through its role.
    member_accounts: str = ""
    member_role_name: str = "tapcase-member"
    #: Investigations whose resources are younger than this are left alone by the scheduled sweep
    #: (an execution may have just created them and not be listed as RUNNING yet).
    janitor_min_age_seconds: int = Field(default=900, ge=0)


class CoverageSettings(_Settings):
    #: CoverageTagKey / CoverageTagValue: the instances kept mirrored (empty key: coverage off,
    #: every coverage session and filter is removed); FleetTargetId: where they are mirrored to.
    coverage_tag_key: str = Field(default="", max_length=128)
    coverage_tag_value: str = Field(default="", max_length=256)
    fleet_target_id: str = ""


S = TypeVar("S", bound=_Settings)


@lru_cache(maxsize=32)
def _load(model: type[_Settings], items: tuple[tuple[str, str], ...]) -> _Settings:
    return model.model_validate(dict(items))


def load_settings(model: type[S]) -> S:
    """``model`` from the current environment (cached per model and distinct environment)."""
    items = tuple(sorted((k.lower(), v) for k, v in os.environ.items() if k.lower() in model.model_fields))
    settings = _load(model, items)
    assert isinstance(settings, model)
    return settings
