"""Shared pieces of the EC2 traffic-mirroring patch: AWS-style errors and checks of scalar
parameters, describe filters (``tag:Key``, ``tag-key``, ``tag-value``, wildcards) and
``MaxResults``/``NextToken`` pages. Used by :mod:`tapcase.localcloud.ec2_mirroring`."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2 import utils as ec2_utils
from moto.ec2.exceptions import EC2ClientError, MissingParameterError

MAX_RESULTS_MIN, MAX_RESULTS_MAX = 5, 1000


# --- errors -----------------------------------------------------------------------------------
_NOT_FOUND = {
    "filter": ("InvalidTrafficMirrorFilterId.NotFound", "Traffic Mirror filter"),
    "rule": ("InvalidTrafficMirrorFilterRuleId.NotFound", "Traffic Mirror filter rule"),
    "session": ("InvalidTrafficMirrorSessionId.NotFound", "Traffic Mirror session"),
    "target": ("InvalidTrafficMirrorTargetId.NotFound", "Traffic Mirror target"),
}


def _not_found(kind: str, resource_id: Any) -> EC2ClientError:
    code, name = _NOT_FOUND[kind]
    return EC2ClientError(code, f"The {name} ID '{resource_id}' does not exist.")


def _invalid(message: str) -> EC2ClientError:
    return EC2ClientError("InvalidParameterValue", message)


def _require(**params: Any) -> None:
    """MissingParameter for the first required parameter left out (SFN skips client checks)."""
    for name, value in params.items():
        if value is None or value == "":
            raise MissingParameterError(name)


def _check_choice(param: str, value: Any, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise _invalid(
            f"Value ({value}) for parameter {param} is invalid. Valid values are: {', '.join(allowed)}."
        )


def _check_int(param: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise _invalid(
                f"Value ({value}) for parameter {param} is invalid. It must be an integer."
            ) from None
    if not low <= value <= high:
        raise _invalid(
            f"Value ({value}) for parameter {param} is invalid. It must be between {low} and {high}."
        )
    return value


# --- describe filters and pages ---------------------------------------------------------------
_FilterFields = dict[str, Callable[[Any], Any]]

_FILTER_FILTERS: _FilterFields = {
    "traffic-mirror-filter-id": lambda f: f.id,
    "description": lambda f: f.description,
}
_RULE_FILTERS: _FilterFields = {
    "traffic-mirror-filter-rule-id": lambda r: r.id,
    "traffic-mirror-filter-id": lambda r: r.traffic_mirror_filter_id,
    "rule-number": lambda r: r.rule_number,
    "rule-action": lambda r: r.rule_action,
    "traffic-direction": lambda r: r.traffic_direction,
    "protocol": lambda r: r.protocol,
    "source-cidr-block": lambda r: r.source_cidr_block,
    "destination-cidr-block": lambda r: r.destination_cidr_block,
    "description": lambda r: r.description,
}
_TARGET_FILTERS: _FilterFields = {
    "traffic-mirror-target-id": lambda t: t.id,
    "description": lambda t: t.description,
    "network-interface-id": lambda t: t.network_interface_id,
    "network-load-balancer-arn": lambda t: t.network_load_balancer_arn,
    "owner-id": lambda t: t.owner_id,
}
_SESSION_FILTERS: _FilterFields = {
    "traffic-mirror-session-id": lambda s: s.id,
    "traffic-mirror-target-id": lambda s: s.traffic_mirror_target_id,
    "traffic-mirror-filter-id": lambda s: s.traffic_mirror_filter_id,
    "network-interface-id": lambda s: s.network_interface_id,
    "owner-id": lambda s: s.owner_id,
    "session-number": lambda s: s.session_number,
    "virtual-network-id": lambda s: s.virtual_network_id,
    "packet-length": lambda s: s.packet_length,
    "description": lambda s: s.description,
}


def _filter_candidates(resource: Any, name: str, fields: _FilterFields) -> list[str]:
    if name == "tag-key":
        return [t["key"] for t in resource.get_tags()]
    if name == "tag-value":
        return [t["value"] for t in resource.get_tags()]
    if name.startswith("tag:"):
        return [t["value"] for t in resource.get_tags() if t["key"] == name[4:]]
    value = fields[name](resource)
    return [] if value is None else [str(value)]


def _select(
    resources: list[Any],
    ids: list[str] | None,
    kind: str,
    filters: dict[str, list[str]] | None,
    fields: _FilterFields,
) -> list[Any]:
    """Resources with the given ids (all must exist) that match every filter (any of its values)."""
    if ids:
        known = {r.id for r in resources}
        for resource_id in ids:
            if resource_id not in known:
                raise _not_found(kind, resource_id)
        resources = [r for r in resources if r.id in set(ids)]
    for name in filters or {}:
        if name not in fields and name not in ("tag-key", "tag-value") and not name.startswith("tag:"):
            raise _invalid(f"The filter '{name}' is invalid")
    for name, values in (filters or {}).items():
        patterns = [re.compile(ec2_utils.simple_aws_filter_to_re(str(v))) for v in values or []]
        resources = [
            r
            for r in resources
            if any(p.match(c) for p in patterns for c in _filter_candidates(r, name, fields))
        ]
    return resources


def _paginate(
    items: list[Any], max_results: int | None, next_token: str | None
) -> tuple[list[Any], str | None]:
    start = 0
    if next_token:
        try:
            decoded = base64.urlsafe_b64decode(next_token.encode()).decode()
            if not decoded.startswith("offset:"):
                raise ValueError(decoded)
            start = int(decoded.removeprefix("offset:"))
        except ValueError:
            raise EC2ClientError("InvalidNextToken", f"The token '{next_token}' is invalid.") from None
    if max_results is None:
        return items[start:], None
    size = _check_int("MaxResults", max_results, MAX_RESULTS_MIN, MAX_RESULTS_MAX)
    end = start + size
    token = base64.urlsafe_b64encode(f"offset:{end}".encode()).decode() if end < len(items) else None
    return items[start:end], token



def _page_of(response: Any, items: list[Any], key: str) -> ActionResult:
    page, token = _paginate(items, response._get_int_param("MaxResults"), response._get_param("NextToken"))
    result: dict[str, Any] = {key: [item.to_dict() for item in page]}
    if token:
        result["NextToken"] = token
    return ActionResult(result)
