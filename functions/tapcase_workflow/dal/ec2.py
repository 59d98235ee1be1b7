"""EC2 reads and deletes the workflow needs, behind a small interface."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tapcase_workflow.dal.clients import client

GONE_CODES = frozenset(
    {
        "InvalidInstanceID.NotFound",
        "InvalidGroup.NotFound",
        "InvalidTrafficMirrorSessionId.NotFound",
        "InvalidTrafficMirrorTargetId.NotFound",
        "InvalidTrafficMirrorFilterId.NotFound",
        "InvalidNetworkInterfaceID.NotFound",
    }
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def describe_instance(instance_id: str) -> dict[str, Any] | None:
    try:
        reservations = client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
    except ClientError as exc:
        if error_code(exc) in {"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"}:
            return None
        raise
    for reservation in reservations:
        for instance in reservation.get("Instances", []):
            return dict(instance)
    return None


def described(method: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a paginated EC2 Describe call (``key``: the list in its answer)."""
    return _paginate(method, key, **kwargs)


def _paginate(method: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    paginator = client("ec2").get_paginator(method)
    out: list[dict[str, Any]] = []
    for page in paginator.paginate(**kwargs):
        out.extend(page.get(key, []))
    return out


def instances_with_tags(tags: dict[str, str]) -> list[dict[str, Any]]:
    """Every instance carrying all of ``tags`` (DescribeInstances ``tag:KEY`` filters; terminated ones too)."""
    filters = [{"Name": f"tag:{key}", "Values": [value]} for key, value in sorted(tags.items())]
    reservations = _paginate("describe_instances", "Reservations", Filters=filters)
    return [dict(i) for r in reservations for i in r.get("Instances", [])]


def network_interfaces(eni_ids: list[str]) -> list[dict[str, Any]]:
    """The ENIs that exist among ``eni_ids`` (one call each: DescribeNetworkInterfaces refuses the
    whole call for one unknown id)."""
    found: list[dict[str, Any]] = []
    for eni_id in eni_ids:
        try:
            found.extend(client("ec2").describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"])
        except ClientError as exc:
            if error_code(exc) not in {"InvalidNetworkInterfaceID.NotFound", "InvalidNetworkInterfaceID.Malformed"}:
                raise
    return found


def mirror_sessions_by_eni(eni_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    sessions = _paginate(
        "describe_traffic_mirror_sessions", "TrafficMirrorSessions",
        Filters=[{"Name": "network-interface-id", "Values": eni_ids}],
    )
    out: dict[str, list[dict[str, Any]]] = {eni: [] for eni in eni_ids}
    for session in sessions:
        out.setdefault(session["NetworkInterfaceId"], []).append(session)
    return out


def mirror_target_enis() -> set[str]:
    targets = _paginate("describe_traffic_mirror_targets", "TrafficMirrorTargets")
    return {t["NetworkInterfaceId"] for t in targets if t.get("NetworkInterfaceId")}


def mirror_target(target_id: str) -> dict[str, Any] | None:
    """One traffic mirror target as DescribeTrafficMirrorTargets reports it (None: no such target)."""
    try:
        found = client("ec2").describe_traffic_mirror_targets(TrafficMirrorTargetIds=[target_id])
    except ClientError as exc:
        if error_code(exc) in ("InvalidTrafficMirrorTargetId.NotFound", "InvalidTrafficMirrorTargetId.Malformed"):
            return None
        raise
    targets = found.get("TrafficMirrorTargets") or []
    return dict(targets[0]) if targets else None


def vnis_on_target(target_id: str) -> set[int]:
    """The VNIs of the live sessions delivering to a target (a shared fleet's)."""
    sessions = _paginate("describe_traffic_mirror_sessions", "TrafficMirrorSessions",
                         Filters=[{"Name": "traffic-mirror-target-id", "Values": [target_id]}])
    return {int(s["VirtualNetworkId"]) for s in sessions if s.get("VirtualNetworkId") is not None}


def tagged(method: str, key: str, tag_key: str, tag_value: str) -> list[dict[str, Any]]:
    return _paginate(method, key, Filters=[{"Name": f"tag:{tag_key}", "Values": [tag_value]}])


def delete_quietly(call: str, **kwargs: Any) -> bool:
    """Call an EC2 delete; True if deleted now, False if it was already gone."""
    try:
        getattr(client("ec2"), call)(**kwargs)
        return True
    except ClientError as exc:
        if error_code(exc) in GONE_CODES:
            return False
        raise


def create_mirror_filter(description: str, tags: list[dict[str, str]], token: str) -> str:
    resp = client("ec2").create_traffic_mirror_filter(
        Description=description,
        ClientToken=token,
        TagSpecifications=[{"ResourceType": "traffic-mirror-filter", "Tags": tags}],
    )
    return str(resp["TrafficMirrorFilter"]["TrafficMirrorFilterId"])


def add_filter_network_services(filter_id: str, services: list[str]) -> list[str]:
    """ModifyTrafficMirrorFilterNetworkServices: mirror these network services too (idempotent)."""
    if not services:
        return []
    resp = client("ec2").modify_traffic_mirror_filter_network_services(
        TrafficMirrorFilterId=filter_id, AddNetworkServices=services
    )
    return [str(s) for s in resp["TrafficMirrorFilter"].get("NetworkServices", [])]


def create_mirror_filter_rules(calls: list[dict[str, Any]]) -> list[str]:
    """Create the rules; a rule that already exists (a retried invocation) is not an error."""
    ids: list[str] = []
    for call in calls:
        try:
            resp = client("ec2").create_traffic_mirror_filter_rule(**call)
            ids.append(resp["TrafficMirrorFilterRule"]["TrafficMirrorFilterRuleId"])
        except ClientError as exc:
            if error_code(exc) != "TrafficMirrorFilterRuleAlreadyExists":
                raise
    return ids
