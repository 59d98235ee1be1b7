"""The one request model every trigger is normalised into."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from tapcase_contract.ids import check_investigation_id
from tapcase_workflow.quotas import MAX_REQUESTED_RULES, MAX_RULES_PER_FILTER, SENSOR_EXCLUSION_RULES

INSTANCE_ID_PATTERN = r"^i-[0-9a-f]{8}([0-9a-f]{9})?$"
#: An AWS account id.
ACCOUNT_ID_PATTERN = r"^\d{12}$"
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


#: An EC2 network interface id.
ENI_ID_PATTERN = r"^eni-[0-9a-f]{8}([0-9a-f]{9})?$"
EniId = Annotated[str, Field(pattern=ENI_ID_PATTERN)]
#: EC2 tags: keys of 1 to 128 characters, values of up to 256 (the EC2 tag restrictions).
TagKey = Annotated[str, Field(min_length=1, max_length=128)]
TagValue = Annotated[str, Field(max_length=256)]
#: The field Step Functions' console links a child execution to its parent by.
STARTED_BY = "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"
#: Longest window any request may ask for (the stack's MaxCaptureSeconds may be lower).
MAX_REQUEST_SECONDS = 86_400
MIN_REQUEST_SECONDS = 60


class ManualRequest(BaseModel):
    """What an analyst pastes into the Step Functions console, the CLI sends, or a schedule sends.

    Exactly one selector: ``instance_id`` (optionally narrowed to some of its ``eni_ids``),
    ``eni_ids`` alone (their instances), or ``tags`` (every running instance carrying all of them;
    several are investigated each, as child executions). The JSON schema of this model is the
    documented input (``tapcase request-schema``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    instance_id: str | None = Field(default=None, pattern=INSTANCE_ID_PATTERN)
    eni_ids: list[EniId] | None = Field(default=None, min_length=1, max_length=16)
    tags: dict[TagKey, TagValue] | None = Field(default=None, min_length=1, max_length=10)
    duration_seconds: int | None = Field(default=None, ge=MIN_REQUEST_SECONDS, le=MAX_REQUEST_SECONDS)
    reason: str = Field(default="manual investigation", min_length=1, max_length=1024)
    trigger: Literal["manual", "scheduled"] = "manual"
    investigation_id: InvestigationId | None = None
    filter_rules: list[FilterRule] | None = None
    requested_by: str | None = Field(default=None, max_length=256)
    dry_run: bool = False
    # Where the mirrored traffic goes: the stack's sensor fleet or a sensor of its own (default:
    # the fleet when the stack has one, FleetTargetId).
    target: Literal["fleet", "sensor"] | None = None
    started_by: str | None = Field(default=None, alias="AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID", max_length=2048)
    # The account the instances are in (default: the stack's own); one of the stack's MemberAccounts.
    account_id: str | None = Field(default=None, pattern=ACCOUNT_ID_PATTERN)

    _rules_fit = field_validator("filter_rules")(_rules_fit_one_filter)

    @model_validator(mode="after")
    def _one_selector(self) -> ManualRequest:
        given = [name for name in ("instance_id", "eni_ids", "tags") if getattr(self, name) is not None]
        if given in (["instance_id"], ["eni_ids"], ["tags"], ["instance_id", "eni_ids"]):
            return self
        if not given:
            raise ValueError("give one of instance_id, eni_ids or tags (which instance to investigate)")
        raise ValueError(f"give one of instance_id, eni_ids or tags, not {' and '.join(given)} "
                         "(instance_id may be narrowed by eni_ids)")


class FindingContext(BaseModel):
    """What the investigation keeps of a GuardDuty finding."""

    id: str
    type: str
    severity: float
    #: The finding's ARN (Security Hub's finding id for GuardDuty findings).
    arn: str | None = None
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
    #: The instance's ``Name`` tag as the finding reports it (the report's title).
    instance_name: str | None = None
    #: When GuardDuty last saw the activity (``service.eventLastSeen``, else ``updatedAt``): the
    #: flow-log context is the hour before it.
    last_seen: datetime | None = None


class InvestigationRequest(BaseModel):
    """Normalised request for one instance: the Plan step's input after parsing, whatever the trigger."""

    model_config = ConfigDict(extra="forbid")

    investigation_id: InvestigationId
    trigger: Literal["guardduty", "manual", "scheduled"]
    instance_id: str = Field(pattern=INSTANCE_ID_PATTERN)
    duration_seconds: int
    reason: str
    finding: FindingContext | None = None
    filter_rules: list[FilterRule] | None = None
    # Only these ENIs of the instance are mirrored (None: all of them).
    eni_ids: list[str] | None = None
    requested_by: str | None = None
    dry_run: bool = False
    target: Literal["fleet", "sensor"] | None = None
    # The account the instance is in (None: the stack's own), already checked against MemberAccounts.
    account_id: str | None = Field(default=None, pattern=ACCOUNT_ID_PATTERN)

    _rules_fit = field_validator("filter_rules")(_rules_fit_one_filter)

    @field_validator("duration_seconds")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("duration_seconds must be positive")
        return value


class SelectionRequest(BaseModel):
    """A manual or scheduled request that names instances by tags or ENIs: Plan resolves it into one
    :class:`InvestigationRequest` per selected instance."""

    model_config = ConfigDict(extra="forbid")

    trigger: Literal["manual", "scheduled"]
    tags: dict[str, str] | None = None
    eni_ids: list[str] | None = None
    duration_seconds: int
    reason: str
    investigation_id: str | None = None  # hand-chosen: each instance's id is <chosen>-<instance id>
    filter_rules: list[FilterRule] | None = None
    requested_by: str | None = None
    dry_run: bool = False
    target: Literal["fleet", "sensor"] | None = None
    account_id: str | None = Field(default=None, pattern=ACCOUNT_ID_PATTERN)

    def for_instance(self, instance_id: str, eni_ids: list[str] | None, parent: str | None) -> dict[str, object]:
        """The request (a :class:`ManualRequest`) a child execution investigates one instance with."""
        child: dict[str, object] = {
            "instance_id": instance_id, "duration_seconds": self.duration_seconds, "reason": self.reason,
            "trigger": self.trigger, "dry_run": self.dry_run,
        }
        optional = {"eni_ids": eni_ids, "investigation_id": self.investigation_id, "requested_by": self.requested_by,
                    STARTED_BY: parent, "target": self.target, "account_id": self.account_id,
                    "filter_rules": [r.model_dump(mode="json", exclude_defaults=True) for r in self.filter_rules]
                    if self.filter_rules else None}
        child.update({k: v for k, v in optional.items() if v is not None})
        return child
