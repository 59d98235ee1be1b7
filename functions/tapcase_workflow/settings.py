"""Function settings, parsed once per process from the environment the template sets."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tapcase_workflow.quotas import MAX_PACKET_LENGTH

#: Suricata's smallest pcap-log file (tapcase_sensor.packet_log.MIN_FILE_MB): a cap must be 0 or at least this.
MIN_PCAP_MB = 4


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    default_capture_seconds: int = Field(default=600, ge=1)
    max_capture_seconds: int = Field(default=3600, ge=1)
    evidence_bucket: str = ""
    lock_table: str = ""
    glue_database: str = ""
    aws_region: str = "us-east-1"
    sensor_ready_timeout_seconds: int = Field(default=900, ge=1)
    collect_timeout_seconds: int = Field(default=1800, ge=1)
    report_topic_arn: str = ""
    mirror_packet_length: int = Field(default=MAX_PACKET_LENGTH, ge=1, le=MAX_PACKET_LENGTH)
    evidence_pcap_max_mb: int = Field(default=1024, ge=0)

    @field_validator("evidence_pcap_max_mb")
    @classmethod
    def _pcap_cap(cls, value: int) -> int:
        if 0 < value < MIN_PCAP_MB:
            raise ValueError(f"EVIDENCE_PCAP_MAX_MB must be 0 (keep no packets) or at least {MIN_PCAP_MB} MiB")
        return value


@lru_cache(maxsize=8)
def _load(items: tuple[tuple[str, str], ...]) -> Settings:
    env = dict(items)
    return Settings.model_validate({k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields})


def settings() -> Settings:
    """Settings from the current environment (cached per distinct environment)."""
    keys = tuple(sorted((k, v) for k, v in os.environ.items() if k.lower() in Settings.model_fields))
    return _load(keys)
