"""The one request model every trigger is normalised into."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from tapcase_contract.ids import check_investigation_id
from tapcase_workflow.quotas import MAX_REQUESTED_RULES, MAX_RULES_PER_FILTER, SENSOR_EXCLUSION_RULES

INSTANCE_ID_PATTERN = r"^i-[0-9a-f]{8}([0-9a-f]{9})?$"
#: An investigation id (the rule: :mod:`tapcase_contract.ids`).
InvestigationId = Annotated[str, AfterValidator(check_investigation_id)]


class FilterRule(BaseModel):
    """One traffic mirror filter rule a request may ask for (default: everything, both ways)."""

    model_config = ConfigDict(extra="forbid")

    direction: Literal["ingress", "egress"]
    action: Literal["accept", "reject"] = "accept"
    protocol: int | None = Field(default=None, ge=0, le=255)
    source_cidr: str = "0.0.0.0/0"
    destination_cidr: str = "0.0.0.0/0"
    source_ports: tuple[int, int] | None = None
    destination_ports: tuple[int, int] | None = None

    @model_validator(mode="after")
    def _ports_need_tcp_or_udp(self) -> FilterRule:
        # AWS applies port ranges to TCP (6) and UDP (17) rules only.
        if (self.source_ports or self.destination_ports) and self.protocol not in (6, 17):
            raise ValueError("port ranges need protocol 6 (TCP) or 17 (UDP)")
        for ports in (self.source_ports, self.destination_ports):
            if ports and not (0 <= ports[0] <= ports[1] <= 65535):
                raise ValueError(f"port range {ports} must be 0 <= from <= to <= 65535")
        return self


def _rules_fit_one_filter(rules: list[FilterRule] | None) -> list[FilterRule] | None:
    if rules is not None and len(rules) > MAX_REQUESTED_RULES:
        raise ValueError(
            f"{len(rules)} rules requested, at most {MAX_REQUESTED_RULES} fit: AWS allows {MAX_RULES_PER_FILTER} "
            f"rules per traffic mirror filter (both directions together) and tapcase adds {SENSOR_EXCLUSION_RULES} "
            "to keep the sensor's own traffic out"
        )
    return rules


class ManualRequest(BaseModel):
    """What an analyst pastes into the Step Functions console, or a schedule sends."""

    model_config = ConfigDict(extra="forbid")

    instance_id: str = Field(pattern=INSTANCE_ID_PATTERN)
    duration_seconds: int = Field(default=600, ge=60, le=86_400)
    reason: str = Field(default="manual investigation", min_length=1, max_length=1024)
    trigger: Literal["manual", "scheduled"] = "manual"
    investigation_id: InvestigationId | None = None
    filter_rules: list[FilterRule] | None = None
    requested_by: str | None = Field(default=None, max_length=256)

    _rules_fit = field_validator("filter_rules")(_rules_fit_one_filter)


class FindingContext(BaseModel):
    """What the investigation keeps of a GuardDuty finding."""

    id: str
    type: str
    severity: float
    title: str | None = None
    region: str | None = None
    account_id: str | None = None
    resource_role: str | None = None
    count: int | None = None
    remote_ips: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    remote_ports: list[int] = Field(default_factory=list)
    local_ports: list[int] = Field(default_factory=list)
    finding_enis: list[str] = Field(default_factory=list)


class InvestigationRequest(BaseModel):
    """Normalised request: the Plan step's input after parsing, whatever the trigger."""

    model_config = ConfigDict(extra="forbid")

    investigation_id: InvestigationId
    trigger: Literal["guardduty", "manual", "scheduled"]
    instance_id: str = Field(pattern=INSTANCE_ID_PATTERN)
    duration_seconds: int
    reason: str
    finding: FindingContext | None = None
    filter_rules: list[FilterRule] | None = None

    _rules_fit = field_validator("filter_rules")(_rules_fit_one_filter)

    @field_validator("duration_seconds")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("duration_seconds must be positive")
        return value
