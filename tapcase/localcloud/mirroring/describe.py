"""Describe actions as EC2 answers them: ids that must exist, ``Filters`` and ``NextToken`` pages.

- ids given (``TrafficMirrorSessionIds`` …): every one must exist, else ``…Id.NotFound``;
- ``Filters``: each of AWS's filter names for the resource (the maps below), ``tag:Key``,
  ``tag-key`` and ``tag-value``; a resource matches a filter when one of its values matches one of
  the filter's values (wildcards ``*`` and ``?``), and every filter; an unknown filter name is
  ``InvalidParameterValue``;
- ``MaxResults``/``NextToken``: pages in creation order; a token that is not one of ours is
  ``InvalidNextToken``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from moto.ec2 import utils as ec2_utils

from tapcase.localcloud.mirroring import errors

FilterFields = dict[str, Callable[[Any], Any]]

FILTER_FILTERS: FilterFields = {
    "traffic-mirror-filter-id": lambda f: f.id,
    "description": lambda f: f.description,
}
RULE_FILTERS: FilterFields = {
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
TARGET_FILTERS: FilterFields = {
    "traffic-mirror-target-id": lambda t: t.id,
    "description": lambda t: t.description,
    "network-interface-id": lambda t: t.network_interface_id,
    "network-load-balancer-arn": lambda t: t.network_load_balancer_arn,
    "owner-id": lambda t: t.owner_id,
}
SESSION_FILTERS: FilterFields = {
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
_TAG_FILTERS = ("tag-key", "tag-value")


def _candidates(resource: Any, name: str, fields: FilterFields) -> list[str]:
    if name == "tag-key":
        return [t["key"] for t in resource.get_tags()]
    if name == "tag-value":
        return [t["value"] for t in resource.get_tags()]
    if name.startswith("tag:"):
        return [t["value"] for t in resource.get_tags() if t["key"] == name[4:]]
    value = fields[name](resource)
    return [] if value is None else [str(value)]


def select(
    resources: list[Any],
    ids: list[str] | None,
    kind: str,
    filters: dict[str, list[str]] | None,
    fields: FilterFields,
) -> list[Any]:
    """Resources with the given ids (all must exist) that match every filter (any of its values)."""
    if ids:
        known = {r.id for r in resources}
        for resource_id in ids:
            if resource_id not in known:
                raise errors.not_found(kind, resource_id)
        resources = [r for r in resources if r.id in set(ids)]
    for name in filters or {}:
        if name not in fields and name not in _TAG_FILTERS and not name.startswith("tag:"):
            raise errors.invalid(f"The filter '{name}' is invalid")
    for name, values in (filters or {}).items():
        patterns = [re.compile(ec2_utils.simple_aws_filter_to_re(str(v))) for v in values or []]
        resources = [r for r in resources if any(p.match(c) for p in patterns for c in _candidates(r, name, fields))]
    return resources


def paginate(items: list[Any], max_results: int | None, next_token: str | None) -> tuple[list[Any], str | None]:
    """One page of ``items`` (``max_results`` already checked: 5-1000) and the next page's token."""
    start = 0
    if next_token:
        try:
            decoded = base64.urlsafe_b64decode(next_token.encode()).decode()
            if not decoded.startswith("offset:"):
                raise ValueError(decoded)
            start = int(decoded.removeprefix("offset:"))
        except ValueError:
            raise errors.invalid_next_token(next_token) from None
    if max_results is None:
        return items[start:], None
    end = start + max_results
    token = base64.urlsafe_b64encode(f"offset:{end}".encode()).decode() if end < len(items) else None
    return items[start:end], token
