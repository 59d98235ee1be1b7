"""Control plane: Traffic Mirror filter rules (moto has none of their four actions).

- ``CreateTrafficMirrorFilterRule``: the rule number "must be unique for each Traffic Mirror rule
  in a given direction" (``TrafficMirrorFilterRuleAlreadyExists``); "Maximum number of filter
  rules per filter: 10", both directions together (``TrafficMirrorFilterRuleLimitExceeded``);
  ClientToken idempotency;
- ``ModifyTrafficMirrorFilterRule``: the same checks on the rule as it would become; ``RemoveFields``
  resets a field (set and removed at once: ``InvalidParameterCombination``); moving a rule in a full
  filter is not adding one;
- ``DeleteTrafficMirrorFilterRule``, ``DescribeTrafficMirrorFilterRules`` (by filter, ids, filters).

Each field arrives checked by the table (:mod:`.actions`); what involves two fields is checked
here: source and destination blocks of one IP version, port ranges only for TCP and UDP ("This
applies to the TCP and UDP protocols").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from tapcase.localcloud import patching
from tapcase.localcloud.mirroring import describe, errors, limits, store
from tapcase.localcloud.mirroring.resources import RULE_FIELDS, TrafficMirrorFilterRule
from tapcase.localcloud.patching import Patch

_BACKEND = "moto.ec2.models.traffic_mirrors:TrafficMirrorsBackend"
_RELIES_ON = "filters live in TrafficMirrorsBackend.traffic_mirror_filters (rules added by resources.FILTER_INIT); "
_WATCH = {f"{_BACKEND}.__init__": "9b16ea21751f"}

CREATE = Patch(
    target=f"{_BACKEND}.create_traffic_mirror_filter_rule",
    fixes="CreateTrafficMirrorFilterRule exists: unique numbers per direction, 10 rules per filter, ClientToken",
    relies_on=_RELIES_ON + "EC2Backend does not define the method",
    watch=_WATCH,
    adds=True,
)
MODIFY = Patch(
    target=f"{_BACKEND}.modify_traffic_mirror_filter_rule",
    fixes="ModifyTrafficMirrorFilterRule exists, with RemoveFields and the checks of a new rule",
    relies_on=_RELIES_ON + "EC2Backend does not define the method",
    watch=_WATCH,
    adds=True,
)
DELETE = Patch(
    target=f"{_BACKEND}.delete_traffic_mirror_filter_rule",
    fixes="DeleteTrafficMirrorFilterRule exists; an unknown rule id is InvalidTrafficMirrorFilterRuleId.NotFound",
    relies_on=_RELIES_ON + "tags live in the backend's tags by id",
    watch=_WATCH,
    adds=True,
)
DESCRIBE = Patch(
    target=f"{_BACKEND}.describe_traffic_mirror_filter_rules",
    fixes="DescribeTrafficMirrorFilterRules exists: by filter, by ids, with filters and pages",
    relies_on=_RELIES_ON + "EC2Backend does not define the method",
    watch=_WATCH,
    adds=True,
)


def check_rule(fields: dict[str, Any]) -> None:
    """What involves two of a rule's fields (each was checked by the table)."""
    source = ipaddress.ip_network(fields["source_cidr_block"], strict=False)
    destination = ipaddress.ip_network(fields["destination_cidr_block"], strict=False)
    if source.version != destination.version:
        # UNCONFIRMED: the code AWS uses for mixing IPv4 and IPv6 blocks in one rule.
        raise errors.invalid("SourceCidrBlock and DestinationCidrBlock must be of the same IP version.")
    for param, key in (("DestinationPortRange", "destination_port_range"), ("SourcePortRange", "source_port_range")):
        if fields[key] is not None and fields["protocol"] not in limits.PROTOCOLS_WITH_PORTS:
            # UNCONFIRMED: AWS allows port ranges only for TCP and UDP rules; code assumed.
            raise errors.invalid(f"{param} can only be specified for the TCP (6) and UDP (17) protocols.")


def _check_slot(mirror_filter: Any, direction: str, number: int, exclude: str | None = None) -> None:
    others = [r for r in mirror_filter.rules.values() if r.id != exclude]
    if any(r.traffic_direction == direction and r.rule_number == number for r in others):
        raise errors.refused(
            "TrafficMirrorFilterRuleAlreadyExists",
            f"The {direction} rule number {number} already exists in Traffic Mirror filter {mirror_filter.id}.",
        )
    if len(others) >= limits.RULES_PER_FILTER:
        raise errors.refused(
            "TrafficMirrorFilterRuleLimitExceeded",
            f"The maximum number of Traffic Mirror filter rules ({limits.RULES_PER_FILTER} per filter) "
            f"has been exceeded for filter {mirror_filter.id}.",
        )


def create_traffic_mirror_filter_rule(
    self: Any,
    traffic_mirror_filter_id: str,
    traffic_direction: str,
    rule_number: int,
    rule_action: str,
    destination_cidr_block: str,
    source_cidr_block: str,
    protocol: int | None = None,
    destination_port_range: dict[str, int] | None = None,
    source_port_range: dict[str, int] | None = None,
    description: str | None = None,
    tag_specifications: list[dict[str, Any]] | None = None,
    client_token: str | None = None,
) -> TrafficMirrorFilterRule:
    """CreateTrafficMirrorFilterRule."""
    fields = {
        "traffic_direction": traffic_direction,
        "rule_number": rule_number,
        "rule_action": rule_action,
        "protocol": protocol,
        "destination_port_range": destination_port_range,
        "source_port_range": source_port_range,
        "destination_cidr_block": destination_cidr_block,
        "source_cidr_block": source_cidr_block,
        "description": description,
    }
    identity = {
        **fields, "traffic_mirror_filter_id": traffic_mirror_filter_id, "tag_specifications": tag_specifications,
    }
    with store.lock:
        earlier: TrafficMirrorFilterRule | None = store.earlier(store.all_rules(self).values(), client_token, identity)
        if earlier is not None:
            return earlier
        mirror_filter = store.get_filter(self, traffic_mirror_filter_id)
        check_rule(fields)
        _check_slot(mirror_filter, traffic_direction, rule_number)
        rule = TrafficMirrorFilterRule(self, mirror_filter.id, fields, client_token)
        mirror_filter.rules[rule.id] = rule
        rule.add_tags(store.tag_spec(tag_specifications, "traffic-mirror-filter-rule"))
        store.remember(rule, identity)
        return rule


def modify_traffic_mirror_filter_rule(
    self: Any,
    traffic_mirror_filter_rule_id: str,
    traffic_direction: str | None = None,
    rule_number: int | None = None,
    rule_action: str | None = None,
    destination_port_range: dict[str, int] | None = None,
    source_port_range: dict[str, int] | None = None,
    protocol: int | None = None,
    destination_cidr_block: str | None = None,
    source_cidr_block: str | None = None,
    description: str | None = None,
    remove_fields: list[str] | None = None,
) -> TrafficMirrorFilterRule:
    """ModifyTrafficMirrorFilterRule (RemoveFields resets a field to its default)."""
    changes = {
        "traffic_direction": traffic_direction,
        "rule_number": rule_number,
        "rule_action": rule_action,
        "protocol": protocol,
        "destination_port_range": destination_port_range,
        "source_port_range": source_port_range,
        "destination_cidr_block": destination_cidr_block,
        "source_cidr_block": source_cidr_block,
        "description": description,
    }
    with store.lock:
        rule: TrafficMirrorFilterRule = store.get_rule(self, traffic_mirror_filter_rule_id)
        fields = rule.fields()
        fields.update({k: v for k, v in changes.items() if v is not None})
        for removed in remove_fields or []:
            key = removed.replace("-", "_")
            if changes[key] is not None:
                raise errors.combination(f"The field {removed} cannot be both set and removed.")
            fields[key] = None
        check_rule(fields)
        mirror_filter = store.get_filter(self, rule.traffic_mirror_filter_id)
        if (fields["traffic_direction"], fields["rule_number"]) != (rule.traffic_direction, rule.rule_number):
            _check_slot(mirror_filter, fields["traffic_direction"], fields["rule_number"], exclude=rule.id)
        for key in RULE_FIELDS:
            setattr(rule, key, fields[key])
        return rule


def delete_traffic_mirror_filter_rule(self: Any, traffic_mirror_filter_rule_id: str) -> str:
    """DeleteTrafficMirrorFilterRule."""
    with store.lock:
        rule = store.get_rule(self, traffic_mirror_filter_rule_id)
        del self.traffic_mirror_filters[rule.traffic_mirror_filter_id].rules[rule.id]
        store.drop_tags(self, [rule.id])
        return str(rule.id)


def describe_traffic_mirror_filter_rules(
    self: Any,
    traffic_mirror_filter_rule_ids: list[str] | None,
    traffic_mirror_filter_id: str | None,
    filters: dict[str, list[str]] | None,
) -> list[Any]:
    """DescribeTrafficMirrorFilterRules."""
    with store.lock:
        if traffic_mirror_filter_id:
            rules = list(store.get_filter(self, traffic_mirror_filter_id).rules.values())
        else:
            rules = list(store.all_rules(self).values())
        return describe.select(rules, traffic_mirror_filter_rule_ids, "rule", filters, describe.RULE_FILTERS)


#: Each record with the function it installs.
FIXES: tuple[tuple[Patch, Callable[..., Any]], ...] = (
    (CREATE, create_traffic_mirror_filter_rule),
    (MODIFY, modify_traffic_mirror_filter_rule),
    (DELETE, delete_traffic_mirror_filter_rule),
    (DESCRIBE, describe_traffic_mirror_filter_rules),
)


def apply() -> None:
    for record, function in FIXES:
        patching.install(record, function)
