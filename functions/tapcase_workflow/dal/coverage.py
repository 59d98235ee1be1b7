"""EC2 calls of coverage mode: the instances a selector names, the sessions of their ENIs, the
coverage filter and sessions (created only with the coverage tag, deleted only if they carry it)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tapcase_contract import tags as tag_keys
from tapcase_contract.limits import COVERAGE_VNI
from tapcase_workflow.dal import ec2
from tapcase_workflow.dal.clients import client
from tapcase_workflow.logic.coverage import ACCEPT_ALL, NewSession, Selector
from tapcase_workflow.logic.mirror_filter import NETWORK_SERVICES

_COVERAGE = [{"Name": f"tag:{tag_keys.COVERAGE}", "Values": [tag_keys.COVERAGE_ON]}]
#: DescribeTrafficMirrorSessions takes a filter's values in one call; keep each call small.
_CHUNK = 100


def instances(selector: Selector, instance_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """The instances named (an event's), or every instance carrying the selector's tag."""
    if instance_ids is not None:
        found = [ec2.describe_instance(i) for i in instance_ids]
        return [i for i in found if i is not None]
    if not selector.enabled:
        return []
    return ec2.instances_with_tags({selector.key: selector.value})


def coverage_sessions() -> list[dict[str, Any]]:
    return ec2.described("describe_traffic_mirror_sessions", "TrafficMirrorSessions", Filters=_COVERAGE)


def sessions_by_eni(eni_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Every session (coverage or not) of these ENIs."""
    out: dict[str, list[dict[str, Any]]] = {}
    ids = sorted(eni_ids)
    for start in range(0, len(ids), _CHUNK):
        for eni, found in ec2.mirror_sessions_by_eni(ids[start:start + _CHUNK]).items():
            out.setdefault(eni, []).extend(found)
    return out


def target_enis() -> set[str]:
    return ec2.mirror_target_enis()


def mirror_target(target_id: str) -> dict[str, Any] | None:
    return ec2.mirror_target(target_id)


def coverage_filters() -> list[dict[str, Any]]:
    return ec2.described("describe_traffic_mirror_filters", "TrafficMirrorFilters", Filters=_COVERAGE)


def ensure_filter(existing: dict[str, Any] | None, token: str) -> str:
    """The coverage filter with its rules and ``amazon-dns``: ``existing`` completed, or a new one."""
    if existing is None:
        filter_id = ec2.create_mirror_filter("tapcase coverage", tag_keys.coverage_tags(), token)
        rules = 0
    else:
        filter_id = str(existing["TrafficMirrorFilterId"])
        rules = len(existing.get("IngressFilterRules") or []) + len(existing.get("EgressFilterRules") or [])
        if rules >= len(ACCEPT_ALL) and set(NETWORK_SERVICES) <= set(existing.get("NetworkServices") or []):
            return filter_id
    if rules < len(ACCEPT_ALL):
        ec2.create_mirror_filter_rules([{"TrafficMirrorFilterId": filter_id, **rule} for rule in ACCEPT_ALL])
    ec2.add_filter_network_services(filter_id, list(NETWORK_SERVICES))
    return filter_id


def create_session(new: NewSession, *, filter_id: str, target_id: str) -> str | None:
    """One coverage session (None: the ENI went away or took its last free slot meanwhile)."""
    try:
        resp = client("ec2").create_traffic_mirror_session(
            NetworkInterfaceId=new.eni_id, TrafficMirrorTargetId=target_id, TrafficMirrorFilterId=filter_id,
            SessionNumber=new.session_number, VirtualNetworkId=COVERAGE_VNI,
            Description=f"tapcase coverage of {new.instance_id}",
            TagSpecifications=[{"ResourceType": "traffic-mirror-session", "Tags": tag_keys.coverage_tags(new.instance_id)}],
        )
    except ClientError as exc:
        if ec2.error_code(exc) in {"InvalidNetworkInterfaceID.NotFound", "TrafficMirrorSourcesPerTargetLimitExceeded",
                                   "TrafficMirrorSessionsPerInterfaceLimitExceeded"}:
            return None
        raise
    return str(resp["TrafficMirrorSession"]["TrafficMirrorSessionId"])


def delete_session(session_id: str) -> bool:
    return ec2.delete_quietly("delete_traffic_mirror_session", TrafficMirrorSessionId=session_id)


def delete_filter(filter_id: str) -> bool:
    return ec2.delete_quietly("delete_traffic_mirror_filter", TrafficMirrorFilterId=filter_id)
