"""The investigation plan: everything later states need, decided once by Plan."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tapcase_contract.sensor_config import SensorConfig
from tapcase_workflow.models.request import ACCOUNT_ID_PATTERN, InvestigationId, InvestigationRequest
from tapcase_workflow.quotas import MAX_PACKET_LENGTH


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MirrorSource(_Model):
    eni_id: str
    subnet_id: str
    private_ips: list[str]
    session_number: int = Field(ge=1, le=32766)
    existing_sessions: int = Field(ge=0, le=2)


class SensorPlacement(_Model):
    vpc_id: str
    subnet_id: str
    availability_zone: str
    security_group_name: str
    ingress_cidrs: list[str]
    # EC2 AuthorizeSecurityGroupIngress IpPermissions: UDP 4789 from the mirrored sources only.
    ip_permissions: list[dict[str, object]]


class MirrorTargetPlan(_Model):
    """Where the sessions deliver: a sensor of the investigation's own (``sensor``: its target is
    created on its ENI) or an existing sensor fleet's target (``fleet``: an NLB with a UDP 4789
    listener or a GWLB endpoint; nothing launched, the fleet's agents told by its queue)."""

    kind: Literal["sensor", "fleet"]
    target_id: str | None = None
    target_type: str | None = None  # DescribeTrafficMirrorTargets Type
    load_balancer: str | None = None  # the NLB's ARN or the GWLB endpoint's id
    control_queue_url: str | None = None
    owner_id: str | None = None


class PackQuery(_Model):
    name: str
    title: str
    sql: str


class MirrorRule(_Model):
    direction: str
    rule_number: int = Field(ge=1, le=32766)
    action: str
    protocol: int | None = None
    source_cidr: str
    destination_cidr: str
    source_ports: dict[str, int] | None = None
    destination_ports: dict[str, int] | None = None


class FlowLogWindow(_Model):
    """The flow-log context the pack reads: VPC Flow Logs of the suspect's ENIs from ``start`` to
    ``end`` (Unix seconds), the hour before GuardDuty last saw the activity (``anchor``
    ``finding``) or, without a finding time, before the capture (``capture``)."""

    start: int
    end: int
    anchor: Literal["finding", "capture"]


class AccountAccess(_Model):
    """Where an investigation acts: the account and the role assumed there (every task that touches
    the suspect's account runs with this role's credentials)."""

    account_id: str = Field(pattern=ACCOUNT_ID_PATTERN)
    role_arn: str
    #: Whether this is a member account (not the stack's own).
    member: bool = False
    #: What the member template (and the main template, in its own account) names in that account:
    #: the sensor launch template and role, and the ARN prefixes of its instances and queues (the
    #: control queue's policy names them).
    launch_template_name: str
    sensor_role_arn: str
    instance_arn_prefix: str
    queue_arn_prefix: str


class InvestigationPlan(_Model):
    # What the state machine does next (its Route choice): investigate this one instance.
    mode: Literal["investigate"] = "investigate"
    investigation_id: InvestigationId
    # The account the suspect is in and the role every task touching it runs with (None: the
    # stack's account, unknown to a plan made without a Lambda context).
    account: AccountAccess | None = None
    # Per execution: client tokens and the names of per-run resources (a later run for the same
    # finding must not reuse a token or a just-deleted queue name).
    run_token: str
    request: InvestigationRequest
    instance_id: str
    instance_type: str
    sources: list[MirrorSource]
    skipped_enis: list[str] = Field(default_factory=list)
    # The sensor's placement (None: the traffic goes to the fleet, no sensor is launched).
    sensor: SensorPlacement | None
    target: MirrorTargetPlan = Field(default_factory=lambda: MirrorTargetPlan(kind="sensor"))
    vni: int = Field(ge=1, le=16_777_215)
    filter_rules: list[MirrorRule]
    # Network services the filter mirrors besides its rules (``amazon-dns``: DNS to the VPC resolver).
    network_services: list[str]
    # CreateTrafficMirrorSession PacketLength: bytes kept after the VXLAN header.
    packet_length: int = Field(ge=1, le=MAX_PACKET_LENGTH)
    duration_seconds: int
    evidence_prefix: str
    control_queue_name: str
    #: When Plan ran (epoch seconds): the Lock state treats a lock that expired before it as free.
    planned_at: int
    #: When the sensor shuts itself down whatever happens (epoch seconds, also in sensor_config).
    sensor_deadline: int
    lock_expires_at: int
    #: The key of the instance's lock item, ``<account>/<instance>`` (logic.accounts.lock_key; None:
    #: a plan recorded before locks named their account, keyed by the instance id alone).
    lock_key: str | None = None
    sensor_ready_timeout_seconds: int
    collect_timeout_seconds: int
    # The sensor's user data (the one model the agent reads: tapcase_contract.sensor_config).
    sensor_config: SensorConfig
    tags: list[dict[str, str]]
    sensor_tags: list[dict[str, str]]
    queue_tags: dict[str, str]
    queries: list[PackQuery] = Field(default_factory=list)
    # None: the stack has no flow logs (FlowLogsBucket empty), the flow-log query is skipped.
    flow_logs: FlowLogWindow | None = None
    # Coverage mode: the suspect's ENIs that have a coverage session (the fleet keeps their traffic
    # all the time), and the window the report reads of the fleet's rolling logs (None: not covered).
    covered_enis: list[str] = Field(default_factory=list)
    coverage: FlowLogWindow | None = None
    warnings: list[str] = Field(default_factory=list)


class Refusal(_Model):
    """Why an instance of a request would not be investigated."""

    instance_id: str | None
    error: str
    reason: str


class DryRunPlan(_Model):
    """A dry run: the plan of each selected instance and the refusals; nothing is created."""

    mode: Literal["dry_run"] = "dry_run"
    plans: list[dict[str, Any]]
    refusals: list[Refusal] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class ChildExecution(_Model):
    """One instance of a selection, investigated by a child execution of the same state machine."""

    name: str
    instance_id: str
    input: dict[str, Any]


class FanOutPlan(_Model):
    """A request that selects several instances: one child execution each, at most
    ``max_concurrency`` at once (the stack's MaxConcurrentSensors)."""

    mode: Literal["fan_out"] = "fan_out"
    selector: str
    requests: list[ChildExecution]
    max_concurrency: int = Field(ge=1)
    warnings: list[str] = Field(default_factory=list)
