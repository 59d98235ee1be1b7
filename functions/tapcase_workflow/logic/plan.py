"""Planning an investigation from the request and what EC2 reports (pure: no boto3)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from tapcase_contract import tags as tag_keys
from tapcase_contract.layout import evidence_prefix
from tapcase_contract.limits import COVERAGE_VNI, DEFAULT_PCAP_MAX_MB, SENSOR_DEADLINE_MARGIN_SECONDS, VXLAN_PORT
from tapcase_contract.sensor_config import SensorConfig
from tapcase_workflow.errors import (
    FleetNotConfigured,
    FleetTargetNotFound,
    InstanceNotFound,
    InstanceNotRunning,
    InvalidRequest,
    NoFreeMirrorSlot,
    NoSensorSubnet,
    UnsupportedFleetTarget,
    UnsupportedInstanceType,
)
from tapcase_workflow.logic.instance_types import mirroring_supported
from tapcase_workflow.logic.mirror_filter import NETWORK_SERVICES
from tapcase_workflow.models.plan import (
    InvestigationPlan,
    MirrorRule,
    MirrorSource,
    MirrorTargetPlan,
    PackQuery,
    SensorPlacement,
)
from tapcase_workflow.models.request import InvestigationRequest
from tapcase_workflow.quotas import MAX_PACKET_LENGTH, MAX_SESSIONS_PER_ENI

DEFAULT_RULE_NUMBER = 100
LOCK_MARGIN_SECONDS = 3600


MAX_VNI = 16_777_215
#: DescribeTrafficMirrorTargets ``Type`` values a fleet may be behind (the EC2 API reference's
#: TrafficMirrorTarget: network-interface | network-load-balancer | gateway-load-balancer-endpoint).
FLEET_TARGET_TYPES = ("network-load-balancer", "gateway-load-balancer-endpoint")


def vni_for(investigation_id: str, taken: set[int] | frozenset[int] = frozenset()) -> int:
    """A 24-bit VXLAN network id per investigation (never 0), not one of ``taken`` (the VNIs of
    the live sessions to a shared fleet target: the VNI is how the fleet tells investigations apart),
    never coverage mode's (:data:`tapcase_contract.limits.COVERAGE_VNI`)."""
    value = int(hashlib.sha256(investigation_id.encode()).hexdigest()[:6], 16) or 1
    while value in taken or value == COVERAGE_VNI:
        value = value % MAX_VNI + 1
    return value


def target_kind(requested: str | None, fleet_target_id: str) -> str:
    """``fleet`` or ``sensor``: the request's choice, else the fleet when the stack has one."""
    kind = requested or ("fleet" if fleet_target_id else "sensor")
    if kind == "fleet" and not fleet_target_id:
        raise FleetNotConfigured(
            "target: fleet asked, but this stack has no sensor fleet (FleetTargetId is empty): "
            "leave target out or use target: sensor")
    return kind


def fleet_target(target_id: str, described: dict[str, Any] | None, control_queue_url: str) -> MirrorTargetPlan:
    """The fleet's target as DescribeTrafficMirrorTargets reports it, checked: it exists and is a
    Network Load Balancer's or a Gateway Load Balancer endpoint's (an ENI target is one sensor's)."""
    if described is None:
        raise FleetTargetNotFound(
            f"FleetTargetId: traffic mirror target {target_id} does not exist in this account and region "
            "(or is not shared with it): nothing was created")
    kind = described.get("Type") or (
        "network-load-balancer" if described.get("NetworkLoadBalancerArn")
        else "gateway-load-balancer-endpoint" if described.get("GatewayLoadBalancerEndpointId")
        else "network-interface")
    if kind not in FLEET_TARGET_TYPES:
        raise UnsupportedFleetTarget(
            f"FleetTargetId: {target_id} is a {kind} target; a sensor fleet is behind a Network Load Balancer "
            "(UDP 4789 listener) or a Gateway Load Balancer endpoint: nothing was created")
    if not control_queue_url:
        raise FleetNotConfigured("FleetControlQueueUrl is empty: the fleet's agents could not be told what to keep")
    return MirrorTargetPlan(
        kind="fleet", target_id=target_id, target_type=kind,
        load_balancer=described.get("NetworkLoadBalancerArn") or described.get("GatewayLoadBalancerEndpointId"),
        control_queue_url=control_queue_url, owner_id=described.get("OwnerId"),
    )


def run_token(execution_name: str) -> str:
    """8 hex characters unique to one execution."""
    return hashlib.sha256(execution_name.encode()).hexdigest()[:8]


def instance_private_ips(instance: dict[str, Any] | None) -> list[str]:
    """Every private IP of an EC2 ``DescribeInstances`` instance (all its ENIs)."""
    return [
        p["PrivateIpAddress"]
        for n in (instance or {}).get("NetworkInterfaces", [])
        for p in n.get("PrivateIpAddresses", [])
        if p.get("PrivateIpAddress")
    ]


def _lowest_free(used: set[int]) -> int:
    number = 1
    while number in used:
        number += 1
    return number


def default_rules() -> list[MirrorRule]:
    return [
        MirrorRule(direction=d, rule_number=DEFAULT_RULE_NUMBER, action="accept", protocol=None,
                   source_cidr="0.0.0.0/0", destination_cidr="0.0.0.0/0")
        for d in ("ingress", "egress")
    ]


def _rules(request: InvestigationRequest) -> list[MirrorRule]:
    if not request.filter_rules:
        return default_rules()
    out: list[MirrorRule] = []
    numbers = {"ingress": DEFAULT_RULE_NUMBER, "egress": DEFAULT_RULE_NUMBER}
    for rule in request.filter_rules:
        out.append(
            MirrorRule(
                direction=rule.direction,
                rule_number=numbers[rule.direction],
                action=rule.action,
                protocol=rule.protocol,
                source_cidr=rule.source_cidr,
                destination_cidr=rule.destination_cidr,
                source_ports={"FromPort": rule.source_ports[0], "ToPort": rule.source_ports[1]}
                if rule.source_ports else None,
                destination_ports={"FromPort": rule.destination_ports[0], "ToPort": rule.destination_ports[1]}
                if rule.destination_ports else None,
            )
        )
        numbers[rule.direction] += 10
    return out


def _requested_enis(request: InvestigationRequest, enis: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The instance's ENIs the request asks to mirror (all of them unless it names some)."""
    if not request.eni_ids:
        return enis
    attached = {n["NetworkInterfaceId"] for n in enis}
    foreign = [e for e in request.eni_ids if e not in attached]
    if foreign:
        raise InvalidRequest(
            f"eni_ids: {', '.join(foreign)} {'is' if len(foreign) == 1 else 'are'} not attached to "
            f"{request.instance_id} (its network interfaces: {', '.join(sorted(attached))})"
        )
    return [n for n in enis if n["NetworkInterfaceId"] in set(request.eni_ids)]


@dataclass(frozen=True)
class StackSettings:
    """What Plan needs to know about the deployed stack."""

    bucket: str
    region: str
    sensor_ready_timeout_seconds: int = 900
    collect_timeout_seconds: int = 1800
    packet_length: int = MAX_PACKET_LENGTH
    evidence_pcap_max_mb: int = DEFAULT_PCAP_MAX_MB  # EvidencePcapMaxMB: the sensor's pcap evidence cap (0: none)
    admission_max_wait_seconds: int = 0  # ConcurrencyMaxWaitSeconds: the lock outlives a wait for a slot
    answer_role_arn: str | None = None  # SensorAnswerRole: the sensor answers its task tokens through it


def make_plan(
    request: InvestigationRequest,
    instance: dict[str, Any] | None,
    sessions_by_eni: dict[str, list[dict[str, Any]]],
    target_enis: set[str],
    *,
    stack: StackSettings,
    now_epoch: int,
    run_name: str = "",
    queries: list[PackQuery] | None = None,
    fleet: MirrorTargetPlan | None = None,
    fleet_vnis: set[int] | None = None,
) -> InvestigationPlan:
    """Decide ENIs, session numbers, placement and names, or refuse with a typed error.

    ``instance`` is an EC2 ``DescribeInstances`` instance (None when it does not exist);
    ``sessions_by_eni`` the existing mirror sessions per source ENI; ``target_enis`` the ENIs that
    are already mirror targets (they cannot be sources). ``fleet``: the checked fleet target
    (:func:`fleet_target`) when the traffic goes to the fleet, ``fleet_vnis`` the VNIs of its live
    sessions; no sensor is placed then.
    """
    iid = request.instance_id
    if instance is None:
        where = f"account {request.account_id}" if request.account_id else "this account"
        raise InstanceNotFound(f"instance {iid} does not exist in {where} and region")
    state = (instance.get("State") or {}).get("Name", "unknown")
    if state in {"terminated", "shutting-down"}:
        raise InstanceNotFound(f"instance {iid} is {state}")
    if state != "running":
        raise InstanceNotRunning(f"instance {iid} is {state}: there is no traffic to mirror")
    instance_type = instance.get("InstanceType", "")
    ok, reason = mirroring_supported(instance_type)
    if not ok:
        raise UnsupportedInstanceType(reason)

    warnings: list[str] = []
    sources: list[MirrorSource] = []
    skipped: list[str] = []
    enis = sorted(instance.get("NetworkInterfaces") or [], key=lambda n: (n.get("Attachment") or {}).get("DeviceIndex", 0))
    if not enis:
        raise InstanceNotFound(f"instance {iid} has no network interfaces")
    enis = _requested_enis(request, enis)
    for eni in enis:
        eni_id = eni["NetworkInterfaceId"]
        if eni_id in target_enis:
            warnings.append(f"{eni_id} is a traffic mirror target and cannot also be a source: not mirrored")
            skipped.append(eni_id)
            continue
        existing = sessions_by_eni.get(eni_id, [])
        if len(existing) >= MAX_SESSIONS_PER_ENI:
            warnings.append(f"{eni_id} already has {len(existing)} mirror sessions (the maximum): not mirrored")
            skipped.append(eni_id)
            continue
        used = {int(s["SessionNumber"]) for s in existing}
        number = _lowest_free(used)
        lower = sorted(n for n in used if n < number)
        if lower:
            ids = ", ".join(s["TrafficMirrorSessionId"] for s in existing if int(s["SessionNumber"]) in lower)
            warnings.append(
                f"{eni_id}: existing mirror session(s) {ids} with lower session number(s) {lower} are evaluated "
                f"first; packets their filters accept will not reach this investigation (session {number})"
            )
        ips = [p["PrivateIpAddress"] for p in eni.get("PrivateIpAddresses") or [] if p.get("PrivateIpAddress")]
        if not ips and eni.get("PrivateIpAddress"):
            ips = [eni["PrivateIpAddress"]]
        sources.append(
            MirrorSource(eni_id=eni_id, subnet_id=eni["SubnetId"], private_ips=ips,
                         session_number=number, existing_sessions=len(existing))
        )
    if not sources:
        raise NoFreeMirrorSlot(f"no network interface of {iid} can take another mirror session: " + "; ".join(warnings))

    primary = sources[0]
    az = (instance.get("Placement") or {}).get("AvailabilityZone")
    if not primary.subnet_id or not az:
        raise NoSensorSubnet(f"cannot tell the subnet/AZ of {iid}")
    inv = request.investigation_id
    run = run_token(run_name or f"{inv}-{now_epoch}")
    tags = tag_keys.investigation_tags(inv, iid, now_epoch, run)
    cidrs = sorted({f"{ip}/32" for s in sources for ip in s.private_ips})
    prefix = evidence_prefix(inv)
    queue_name = f"tapcase-{inv}-{run}-control"
    # The latest moment the investigation could still need its sensor; the sensor shuts itself
    # down then, and the lock outlives it (expired locks are free: the Lock state's condition).
    # (counted from the plan: an execution may first wait for an admission slot)
    sensor_deadline = (now_epoch + stack.admission_max_wait_seconds + stack.sensor_ready_timeout_seconds
                       + request.duration_seconds + stack.collect_timeout_seconds + SENSOR_DEADLINE_MARGIN_SECONDS)
    plan = InvestigationPlan(
        investigation_id=inv,
        run_token=run,
        request=request,
        instance_id=iid,
        instance_type=instance_type,
        sources=sources,
        skipped_enis=skipped,
        target=fleet or MirrorTargetPlan(kind="sensor"),
        sensor=None if fleet else SensorPlacement(
            vpc_id=instance.get("VpcId") or enis[0].get("VpcId", ""),
            subnet_id=primary.subnet_id,
            availability_zone=az,
            security_group_name=f"tapcase-sensor-{inv}-{run}",
            ingress_cidrs=cidrs,
            ip_permissions=[
                {
                    "IpProtocol": "udp",
                    "FromPort": VXLAN_PORT,
                    "ToPort": VXLAN_PORT,
                    "IpRanges": [{"CidrIp": c, "Description": f"VXLAN from mirrored {iid}"} for c in cidrs],
                }
            ],
        ),
        vni=vni_for(inv, fleet_vnis or set()),
        filter_rules=_rules(request),
        network_services=list(NETWORK_SERVICES),
        packet_length=stack.packet_length,
        duration_seconds=request.duration_seconds,
        evidence_prefix=prefix,
        control_queue_name=queue_name,
        planned_at=now_epoch,
        sensor_deadline=sensor_deadline,
        lock_expires_at=sensor_deadline + LOCK_MARGIN_SECONDS,
        sensor_ready_timeout_seconds=stack.sensor_ready_timeout_seconds,
        collect_timeout_seconds=stack.collect_timeout_seconds,
        sensor_config=SensorConfig(
            investigation_id=inv, control_queue_name=queue_name, bucket=stack.bucket, prefix=prefix,
            region=stack.region, pcap_max_mb=stack.evidence_pcap_max_mb, deadline=sensor_deadline,
            answer_role_arn=stack.answer_role_arn or None,
        ),
        tags=tags,
        sensor_tags=tag_keys.sensor_tags(inv, iid, now_epoch, run),
        queue_tags=tag_keys.as_mapping(tags),
        queries=list(queries or []),
        warnings=warnings,
    )
    plan.covered_enis = covered_enis(sessions_by_eni, {s.eni_id for s in sources})
    if plan.covered_enis:
        plan.warnings.append(
            f"{iid} is covered (coverage mode: {', '.join(plan.covered_enis)} mirrored to the sensor fleet all the "
            "time): the report starts from the fleet's rolling logs before the finding; this investigation's "
            "lower-numbered session takes the packets its filter accepts while it captures")
    return plan


def covered_enis(sessions_by_eni: dict[str, list[dict[str, Any]]], mirrored: set[str]) -> list[str]:
    """The mirrored ENIs that have a coverage session (tag ``tapcase:coverage``)."""
    return sorted(eni for eni, sessions in sessions_by_eni.items() if eni in mirrored and any(
        {t.get("Key"): t.get("Value") for t in s.get("Tags") or []}.get(tag_keys.COVERAGE) == tag_keys.COVERAGE_ON
        for s in sessions))


def dry_run_view(plan: InvestigationPlan) -> dict[str, Any]:
    """What a dry run reports of a plan: what would be mirrored, where, and what would be refused."""
    return {
        "investigation_id": plan.investigation_id,
        "account_id": plan.account.account_id if plan.account else None,
        "instance_id": plan.instance_id,
        "instance_type": plan.instance_type,
        "sources": [
            {"eni_id": s.eni_id, "subnet_id": s.subnet_id, "private_ips": s.private_ips,
             "session_number": s.session_number, "existing_sessions": s.existing_sessions}
            for s in plan.sources
        ],
        "skipped_enis": plan.skipped_enis,
        "vni": plan.vni,
        "target": plan.target.model_dump(mode="json", exclude_none=True),
        "sensor": {"vpc_id": plan.sensor.vpc_id, "subnet_id": plan.sensor.subnet_id,
                   "availability_zone": plan.sensor.availability_zone, "ingress_cidrs": plan.sensor.ingress_cidrs}
        if plan.sensor else None,
        "filter_rules": [r.model_dump(mode="json", exclude_none=True) for r in plan.filter_rules],
        "network_services": plan.network_services,
        "packet_length": plan.packet_length,
        "duration_seconds": plan.duration_seconds,
        "evidence_prefix": plan.evidence_prefix,
        "queries": len(plan.queries),
        "warnings": plan.warnings,
    }
