"""The traffic mirror filter rules of an investigation (pure)."""

from __future__ import annotations

from typing import Any

from tapcase_workflow.models.plan import MirrorRule
from tapcase_workflow.quotas import MAX_REQUESTED_RULES

SENSOR_EXCLUSION_RULE_NUMBER = 1
#: Network services every investigation filter mirrors. DNS to the Amazon-provided resolver is
#: not mirrored unless the filter has ``amazon-dns`` (ModifyTrafficMirrorFilterNetworkServices).
NETWORK_SERVICES = ("amazon-dns",)


def rule_requests(
    filter_id: str, rules: list[MirrorRule], sensor_ip: str | None, description: str
) -> list[dict[str, Any]]:
    """CreateTrafficMirrorFilterRule parameters: first reject the sensor's own traffic (both
    directions), then the planned rules. No sensor address (a fleet target, outside the suspect's
    subnet): no exclusion rules."""
    if len(rules) > MAX_REQUESTED_RULES:
        raise ValueError(f"{len(rules)} rules do not fit a filter beside the sensor exclusion rules")
    if sensor_ip is None:
        return [_rule_call(filter_id, rule, description) for rule in rules]
    sensor = f"{sensor_ip}/32"
    calls: list[dict[str, Any]] = [
        {
            "TrafficMirrorFilterId": filter_id, "TrafficDirection": "ingress",
            "RuleNumber": SENSOR_EXCLUSION_RULE_NUMBER, "RuleAction": "reject",
            "SourceCidrBlock": sensor, "DestinationCidrBlock": "0.0.0.0/0",
            "Description": "exclude the sensor's own traffic",
        },
        {
            "TrafficMirrorFilterId": filter_id, "TrafficDirection": "egress",
            "RuleNumber": SENSOR_EXCLUSION_RULE_NUMBER, "RuleAction": "reject",
            "SourceCidrBlock": "0.0.0.0/0", "DestinationCidrBlock": sensor,
            "Description": "exclude the sensor's own traffic",
        },
    ]
    return calls + [_rule_call(filter_id, rule, description) for rule in rules]


def _rule_call(filter_id: str, rule: MirrorRule, description: str) -> dict[str, Any]:
    call: dict[str, Any] = {
        "TrafficMirrorFilterId": filter_id,
        "TrafficDirection": rule.direction,
        "RuleNumber": rule.rule_number,
        "RuleAction": rule.action,
        "SourceCidrBlock": rule.source_cidr,
        "DestinationCidrBlock": rule.destination_cidr,
        "Description": description,
    }
    if rule.protocol is not None:
        call["Protocol"] = rule.protocol
    if rule.source_ports:
        call["SourcePortRange"] = rule.source_ports
    if rule.destination_ports:
        call["DestinationPortRange"] = rule.destination_ports
    return call
