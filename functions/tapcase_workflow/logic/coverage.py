"""Coverage mode (pure): which network interfaces should be mirrored to the sensor fleet all the
time, and what to create and delete so that they are (a reconcile of desired against actual).

An instance is covered while it is ``running`` and carries the selector's tag (``CoverageTagKey``
= ``CoverageTagValue``); tapcase's own sensors and the fleet's members never are (a mirror target
cannot be a source). Each of its ENIs gets one coverage session to the fleet's target, with
:data:`~tapcase_contract.limits.COVERAGE_VNI` and session number
:data:`~tapcase_contract.limits.COVERAGE_SESSION_NUMBER` (or the highest free one below it): any
other session on the ENI, an investigation's first of all, is evaluated first and takes the
packets its filter accepts. A coverage session whose instance stopped, lost the tag or is gone,
or any coverage session at all once coverage is off, is deleted; so is a second coverage session
on one ENI (two reconciles that ran at once). One shared filter (accept everything both ways,
``amazon-dns``) exists while a coverage session does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tapcase_contract import tags as tag_keys
from tapcase_contract.limits import COVERAGE_SESSION_NUMBER, COVERAGE_VNI
from tapcase_workflow.errors import CoverageNotConfigured, FleetTargetNotFound, UnsupportedFleetTarget
from tapcase_workflow.logic.plan import FLEET_TARGET_TYPES
from tapcase_workflow.quotas import MAX_SESSIONS_PER_ENI

#: Instances tapcase itself runs: never sources (the fleet's members are its target's members).
NOT_COVERED_ROLES = frozenset({tag_keys.ROLE_SENSOR, tag_keys.ROLE_FLEET_MEMBER})
#: The coverage filter's rules: everything, both ways (CreateTrafficMirrorFilterRule parameters
#: without the filter id), rule number 100 as an investigation's default rule.
ACCEPT_ALL = tuple(
    {"TrafficDirection": direction, "RuleNumber": 100, "RuleAction": "accept",
     "SourceCidrBlock": "0.0.0.0/0", "DestinationCidrBlock": "0.0.0.0/0", "Description": "tapcase coverage"}
    for direction in ("ingress", "egress")
)


@dataclass(frozen=True)
class Selector:
    """``CoverageTagKey``/``CoverageTagValue``: an empty key is coverage off."""

    key: str = ""
    value: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.key)

    def selects(self, instance: dict[str, Any]) -> bool:
        found = _tags(instance.get("Tags"))
        return (self.enabled and found.get(self.key) == self.value
                and (instance.get("State") or {}).get("Name") == "running"
                and found.get(tag_keys.ROLE) not in NOT_COVERED_ROLES)


def check_settings(selector: Selector, fleet_target_id: str) -> None:
    """Coverage mirrors to the fleet only: a selector without ``FleetTargetId`` is refused."""
    if selector.enabled and not fleet_target_id:
        raise CoverageNotConfigured(
            f"CoverageTagKey is {selector.key!r} but FleetTargetId is empty: coverage mirrors to a sensor fleet "
            "(set FleetTargetId, or empty CoverageTagKey to switch coverage off)")
    if not selector.enabled and selector.value:
        raise CoverageNotConfigured(f"CoverageTagValue is {selector.value!r} but CoverageTagKey is empty")


def check_target(target_id: str, described: dict[str, Any] | None) -> None:
    """The fleet's target as DescribeTrafficMirrorTargets reports it: it exists and is a load
    balancer's (an ENI target is one sensor's), else nothing is created."""
    if described is None:
        raise FleetTargetNotFound(f"FleetTargetId: traffic mirror target {target_id} does not exist in this account "
                                  "and region: coverage created nothing")
    kind = described.get("Type") or ("network-load-balancer" if described.get("NetworkLoadBalancerArn") else
                                     "gateway-load-balancer-endpoint" if described.get("GatewayLoadBalancerEndpointId")
                                     else "network-interface")
    if kind not in FLEET_TARGET_TYPES:
        raise UnsupportedFleetTarget(f"FleetTargetId: {target_id} is a {kind} target, not a sensor fleet's load "
                                     "balancer: coverage created nothing")


@dataclass(frozen=True)
class NewSession:
    instance_id: str
    eni_id: str
    session_number: int


@dataclass
class Reconcile:
    """What to do: sessions to create and delete (ids), and why an ENI could not be covered."""

    create: list[NewSession] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    covered: dict[str, str] = field(default_factory=dict)  # eni -> instance, covered after this

    @property
    def filter_needed(self) -> bool:
        return bool(self.covered)


def _tags(items: Iterable[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


def is_coverage(resource: dict[str, Any]) -> bool:
    return _tags(resource.get("Tags")).get(tag_keys.COVERAGE) == tag_keys.COVERAGE_ON


def instance_of(session: dict[str, Any]) -> str | None:
    """The instance a coverage session mirrors (its ``tapcase:instance-id`` tag)."""
    return _tags(session.get("Tags")).get(tag_keys.INSTANCE_ID)


def desired(instances: Iterable[dict[str, Any]], selector: Selector, target_enis: set[str]) -> dict[str, str]:
    """ENI -> instance for every ENI of every selected instance (``target_enis``: ENIs that are
    mirror targets cannot be sources)."""
    out: dict[str, str] = {}
    for instance in instances:
        if not selector.selects(instance):
            continue
        for eni in instance.get("NetworkInterfaces") or []:
            if eni.get("NetworkInterfaceId") and eni["NetworkInterfaceId"] not in target_enis:
                out[str(eni["NetworkInterfaceId"])] = str(instance["InstanceId"])
    return out


def session_number(used: set[int]) -> int | None:
    """:data:`COVERAGE_SESSION_NUMBER`, or the highest free number below it (None: no room)."""
    if len(used) >= MAX_SESSIONS_PER_ENI:
        return None
    number = COVERAGE_SESSION_NUMBER
    while number in used:
        number -= 1
    return number


def reconcile(
    want: dict[str, str],
    sessions_by_eni: dict[str, list[dict[str, Any]]],
    *,
    target_id: str,
    scope: set[str] | None = None,
) -> Reconcile:
    """Compare ``want`` (ENI -> instance) with the live sessions of the ENIs concerned
    (``sessions_by_eni``: every session, coverage or not, by source ENI, including the coverage
    sessions of ENIs no longer wanted). ``scope``: only these instances (an event about one
    instance); None: everything (the schedule)."""
    out = Reconcile()
    for eni, sessions in sorted(sessions_by_eni.items()):
        ours = sorted((s for s in sessions if is_coverage(s)), key=lambda s: str(s["TrafficMirrorSessionId"]))
        instance = want.get(eni) or next((instance_of(s) for s in ours if instance_of(s)), None)
        if scope is not None and instance not in scope:
            continue
        keep = [s for s in ours if eni in want and s.get("TrafficMirrorTargetId") == target_id
                and int(s.get("VirtualNetworkId") or 0) == COVERAGE_VNI][:1]
        out.delete += [str(s["TrafficMirrorSessionId"]) for s in ours if s not in keep]
        if eni not in want:
            continue
        if keep:
            out.covered[eni] = want[eni]
            continue
        used = {int(s["SessionNumber"]) for s in sessions if not is_coverage(s)}
        number = session_number(used)
        if number is None:
            out.skipped.append(f"{eni} ({want[eni]}) already has {len(used)} mirror sessions (the maximum): not covered")
            continue
        out.create.append(NewSession(want[eni], eni, number))
        out.covered[eni] = want[eni]
    for eni, instance in sorted(want.items()):
        if eni not in sessions_by_eni and (scope is None or instance in scope):
            out.create.append(NewSession(instance, eni, COVERAGE_SESSION_NUMBER))
            out.covered[eni] = instance
    return out


def filters_to_delete(filters: list[dict[str, Any]], keep: str | None, in_use: set[str]) -> list[str]:
    """Coverage filters no session uses, but the one kept for new sessions."""
    return sorted(str(f["TrafficMirrorFilterId"]) for f in filters
                  if f["TrafficMirrorFilterId"] != keep and f["TrafficMirrorFilterId"] not in in_use)


def filter_to_keep(filters: list[dict[str, Any]], needed: bool) -> str | None:
    """The coverage filter new sessions use: the lowest id among the existing ones (two reconciles
    that ran at once may each have made one), None when none exists or none is needed."""
    ids = sorted(str(f["TrafficMirrorFilterId"]) for f in filters)
    return ids[0] if ids and needed else None
