"""The traffic-mirroring API as a table: each action's parameters and the shape of its answer.

One row per EC2 action. The parameters follow the EC2 API reference (names, required-ness, enum
values; ``tests/localcloud/test_mirroring_table.py`` checks them against botocore's EC2 model) and
carry the ranges AWS documents (:mod:`.limits`). Every action also takes ``DryRun``. The response
(:mod:`.responses`) reads and checks the parameters from this table, calls the backend method of
the action's name with them (``RuleNumber`` as ``rule_number``), and answers in the row's shape:

- ``created``: ``{Key: resource, "ClientToken": token}``; ``resource``: ``{Key: resource}``;
- ``deleted``: ``{Key: id}``; ``page``: ``{Key: [resources], "NextToken": …}`` (``MaxResults``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tapcase.localcloud.mirroring import limits
from tapcase.localcloud.mirroring.params import (
    Param,
    choice,
    choice_list,
    cidr,
    filters,
    ids,
    integer,
    pages,
    port_range,
    snake,
    string,
    tags,
)

DIRECTIONS = ("ingress", "egress")
RULE_ACTIONS = ("accept", "reject")
NETWORK_SERVICES = ("amazon-dns",)
RULE_REMOVABLE_FIELDS = ("destination-port-range", "source-port-range", "protocol", "description")
SESSION_REMOVABLE_FIELDS = ("packet-length", "description", "virtual-network-id")


class Shape(Enum):
    CREATED = "created"
    RESOURCE = "resource"
    DELETED = "deleted"
    PAGE = "page"


@dataclass(frozen=True)
class Action:
    """One EC2 action: its parameters (in the API's order) and its answer's shape and key."""

    name: str
    params: tuple[Param, ...]
    shape: Shape
    key: str

    @property
    def method(self) -> str:
        """moto's name for the action (its response and backend methods)."""
        return snake(self.name)


def _rule_fields(required: bool) -> tuple[Param, ...]:
    """A filter rule's fields (CreateTrafficMirrorFilterRule requires five of them, Modify none)."""
    number = (limits.NUMBER_MIN, limits.NUMBER_MAX)
    protocol = (limits.PROTOCOL_MIN, limits.PROTOCOL_MAX)
    return (
        choice("TrafficDirection", DIRECTIONS, required=required),
        integer("RuleNumber", *number, required=required),
        choice("RuleAction", RULE_ACTIONS, required=required),
        port_range("DestinationPortRange"),
        port_range("SourcePortRange"),
        integer("Protocol", *protocol),
        cidr("DestinationCidrBlock", required=required),
        cidr("SourceCidrBlock", required=required),
        string("Description"),
    )


def _session_fields(*, number_required: bool) -> tuple[Param, ...]:
    """PacketLength, SessionNumber (required on create) and VirtualNetworkId."""
    return (
        integer("PacketLength", limits.PACKET_LENGTH_MIN, limits.PACKET_LENGTH_MAX),
        integer("SessionNumber", limits.NUMBER_MIN, limits.NUMBER_MAX, required=number_required),
        integer("VirtualNetworkId", limits.VNI_MIN, limits.VNI_MAX),
    )


TABLE: tuple[Action, ...] = (
    # --- filters ---------------------------------------------------------------------------------
    Action("CreateTrafficMirrorFilter", (string("Description"), tags(), string("ClientToken")),
           Shape.CREATED, "TrafficMirrorFilter"),
    Action("DeleteTrafficMirrorFilter", (string("TrafficMirrorFilterId", required=True),),
           Shape.DELETED, "TrafficMirrorFilterId"),
    Action("DescribeTrafficMirrorFilters", (ids("TrafficMirrorFilterIds"), filters(), *pages()),
           Shape.PAGE, "TrafficMirrorFilters"),
    Action("ModifyTrafficMirrorFilterNetworkServices", (
        string("TrafficMirrorFilterId", required=True),
        choice_list("AddNetworkServices", NETWORK_SERVICES, item="NetworkService"),
        choice_list("RemoveNetworkServices", NETWORK_SERVICES, item="NetworkService"),
    ), Shape.RESOURCE, "TrafficMirrorFilter"),
    # --- filter rules ----------------------------------------------------------------------------
    Action("CreateTrafficMirrorFilterRule", (
        string("TrafficMirrorFilterId", required=True), *_rule_fields(required=True), string("ClientToken"), tags(),
    ), Shape.CREATED, "TrafficMirrorFilterRule"),
    Action("ModifyTrafficMirrorFilterRule", (
        string("TrafficMirrorFilterRuleId", required=True), *_rule_fields(required=False),
        choice_list("RemoveFields", RULE_REMOVABLE_FIELDS, item="RemoveField"),
    ), Shape.RESOURCE, "TrafficMirrorFilterRule"),
    Action("DeleteTrafficMirrorFilterRule", (string("TrafficMirrorFilterRuleId", required=True),),
           Shape.DELETED, "TrafficMirrorFilterRuleId"),
    Action("DescribeTrafficMirrorFilterRules", (
        ids("TrafficMirrorFilterRuleIds"), string("TrafficMirrorFilterId"), filters(), *pages(),
    ), Shape.PAGE, "TrafficMirrorFilterRules"),
    # --- targets ---------------------------------------------------------------------------------
    Action("CreateTrafficMirrorTarget", (
        string("NetworkInterfaceId"), string("NetworkLoadBalancerArn"), string("Description"), tags(),
        string("ClientToken"), string("GatewayLoadBalancerEndpointId"),
    ), Shape.CREATED, "TrafficMirrorTarget"),
    Action("DeleteTrafficMirrorTarget", (string("TrafficMirrorTargetId", required=True),),
           Shape.DELETED, "TrafficMirrorTargetId"),
    Action("DescribeTrafficMirrorTargets", (ids("TrafficMirrorTargetIds"), filters(), *pages()),
           Shape.PAGE, "TrafficMirrorTargets"),
    # --- sessions --------------------------------------------------------------------------------
    Action("CreateTrafficMirrorSession", (
        string("NetworkInterfaceId", required=True), string("TrafficMirrorTargetId", required=True),
        string("TrafficMirrorFilterId", required=True), *_session_fields(number_required=True),
        string("Description"), tags(), string("ClientToken"),
    ), Shape.CREATED, "TrafficMirrorSession"),
    Action("ModifyTrafficMirrorSession", (
        string("TrafficMirrorSessionId", required=True), string("TrafficMirrorTargetId"),
        string("TrafficMirrorFilterId"), *_session_fields(number_required=False), string("Description"),
        choice_list("RemoveFields", SESSION_REMOVABLE_FIELDS, item="RemoveField"),
    ), Shape.RESOURCE, "TrafficMirrorSession"),
    Action("DeleteTrafficMirrorSession", (string("TrafficMirrorSessionId", required=True),),
           Shape.DELETED, "TrafficMirrorSessionId"),
    Action("DescribeTrafficMirrorSessions", (ids("TrafficMirrorSessionIds"), filters(), *pages()),
           Shape.PAGE, "TrafficMirrorSessions"),
)

#: The table by action name.
ACTIONS: dict[str, Action] = {action.name: action for action in TABLE}
