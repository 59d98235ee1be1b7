"""The traffic-mirroring resources as AWS describes them: moto's models completed.

moto 5.2.5 has filters, targets and sessions but no filter rules, no network services, tags frozen
at creation, and ids that do not look like AWS's (``traf-mir-fil-…``). Here: a
:class:`TrafficMirrorFilterRule` model (kept in its filter's ``rules``), filters that hold rules
and network services and describe them by direction, live tags on every description, and AWS's id
prefixes (``tmf-``, ``tmt-``, ``tms-``, ``tmfr-``).
"""

from __future__ import annotations

from typing import Any

from moto.ec2 import utils as ec2_utils
from moto.ec2.models.core import TaggedEC2Resource

from tapcase.localcloud import patching
from tapcase.localcloud.mirroring.store import tags_of
from tapcase.localcloud.patching import Patch

_MODELS = "moto.ec2.models.traffic_mirrors"
_UTILS = "moto.ec2.utils"

AWS_ID_PREFIXES = {
    "traffic-mirror-filter": "tmf",
    "traffic-mirror-filter-rule": "tmfr",
    "traffic-mirror-session": "tms",
    "traffic-mirror-target": "tmt",
}

FILTER_INIT = Patch(
    target=f"{_MODELS}:TrafficMirrorFilter.__init__",
    fixes="a Traffic Mirror filter holds its rules (by id) and its network services",
    relies_on="TrafficMirrorFilter(ec2_backend, description, tag_specifications, client_token) sets id, "
    "description, client_token and the tags of TagSpecifications",
    watch={f"{_MODELS}:TrafficMirrorFilter.__init__": "4fedfaa39f97"},
)
FILTER_TO_DICT = Patch(
    target=f"{_MODELS}:TrafficMirrorFilter.to_dict",
    fixes="a filter is described with its ingress and egress rules by number, network services and live tags",
    relies_on="moto described every filter with empty rule and service lists and its creation tags",
    watch={f"{_MODELS}:TrafficMirrorFilter.to_dict": "a35c4168f0da"},
)
TARGET_TO_DICT = Patch(
    target=f"{_MODELS}:TrafficMirrorTarget.to_dict",
    fixes="a target is described with its tags as they are now (CreateTags after creation included)",
    relies_on="moto's to_dict gives AWS's shape with the tags of creation under 'Tags'",
    watch={f"{_MODELS}:TrafficMirrorTarget.to_dict": "0cfe2a0962a3"},
)
SESSION_TO_DICT = Patch(
    target=f"{_MODELS}:TrafficMirrorSession.to_dict",
    fixes="a session is described with its tags as they are now (CreateTags after creation included)",
    relies_on="moto's to_dict gives AWS's shape with the tags of creation under 'Tags'",
    watch={f"{_MODELS}:TrafficMirrorSession.to_dict": "746d5215d8d8"},
)
ID_PREFIXES = Patch(
    target=f"{_UTILS}:EC2_RESOURCE_TO_PREFIX",
    fixes="traffic-mirroring ids look like AWS's: tmf-, tmt-, tms-, tmfr-",
    relies_on="random_traffic_mirror_{filter,target,session}_id read their prefix from EC2_RESOURCE_TO_PREFIX when "
    "called; CreateTags accepts ids whose prefix is among its values (get_prefix, is_valid_resource_id)",
    watch={
        f"{_UTILS}:random_traffic_mirror_filter_id": "a537944549f9",
        f"{_UTILS}:random_traffic_mirror_target_id": "6b37be51b841",
        f"{_UTILS}:random_traffic_mirror_session_id": "74b074ca3b62",
        f"{_UTILS}:get_prefix": "2b2a31634c44",
        f"{_UTILS}:is_valid_resource_id": "c7208716b0b8",
    },
)
PREFIX_RESOURCES = Patch(
    target=f"{_UTILS}:EC2_PREFIX_TO_RESOURCE",
    fixes="tags of tmf-, tmt-, tms- and tmfr- resources are described with their resource type",
    relies_on="EC2_PREFIX_TO_RESOURCE is EC2_RESOURCE_TO_PREFIX inverted once at import; DescribeTags "
    "(TagBackend.describe_tags, which imported it by name) reads it",
    watch={"moto.ec2.models.tags:TagBackend.describe_tags": "2a65a6b5f69a"},
)


class TrafficMirrorFilterRule(TaggedEC2Resource):
    """A Traffic Mirror filter rule; lives in its filter's ``rules``."""

    def __init__(
        self, ec2_backend: Any, traffic_mirror_filter_id: str, fields: dict[str, Any], client_token: str | None = None
    ) -> None:
        self.ec2_backend = ec2_backend
        self.client_token = client_token
        self.id = ec2_utils.random_id(prefix=ec2_utils.EC2_RESOURCE_TO_PREFIX["traffic-mirror-filter-rule"])
        self.traffic_mirror_filter_id = traffic_mirror_filter_id
        self.traffic_direction: str = fields["traffic_direction"]
        self.rule_number: int = fields["rule_number"]
        self.rule_action: str = fields["rule_action"]
        self.protocol: int | None = fields["protocol"]
        self.destination_port_range: dict[str, int] | None = fields["destination_port_range"]
        self.source_port_range: dict[str, int] | None = fields["source_port_range"]
        self.destination_cidr_block: str = fields["destination_cidr_block"]
        self.source_cidr_block: str = fields["source_cidr_block"]
        self.description: str | None = fields["description"]

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in RULE_FIELDS}

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "TrafficMirrorFilterRuleId": self.id,
            "TrafficMirrorFilterId": self.traffic_mirror_filter_id,
            "TrafficDirection": self.traffic_direction,
            "RuleNumber": self.rule_number,
            "RuleAction": self.rule_action,
            "DestinationCidrBlock": self.destination_cidr_block,
            "SourceCidrBlock": self.source_cidr_block,
            "Tags": tags_of(self),
        }
        optional = {
            "Protocol": self.protocol,
            "DestinationPortRange": self.destination_port_range,
            "SourcePortRange": self.source_port_range,
            "Description": self.description,
        }
        result.update({k: v for k, v in optional.items() if v is not None})
        return result


#: A rule's fields, as the control plane passes them (the API's names in snake case).
RULE_FIELDS = (
    "traffic_direction",
    "rule_number",
    "rule_action",
    "protocol",
    "destination_port_range",
    "source_port_range",
    "destination_cidr_block",
    "source_cidr_block",
    "description",
)


def filter_init(self: Any, *args: Any, **kwargs: Any) -> None:
    patching.ORIGINALS[FILTER_INIT.target](self, *args, **kwargs)
    self.rules = {}
    self.network_services = []


def filter_to_dict(self: Any) -> dict[str, Any]:
    rules = sorted(self.rules.values(), key=lambda rule: rule.rule_number)
    return {
        "TrafficMirrorFilterId": self.id,
        "IngressFilterRules": [r.to_dict() for r in rules if r.traffic_direction == "ingress"],
        "EgressFilterRules": [r.to_dict() for r in rules if r.traffic_direction == "egress"],
        "NetworkServices": list(self.network_services),
        "Description": self.description,
        "Tags": tags_of(self),
    }


def target_to_dict(self: Any) -> dict[str, Any]:
    return {**patching.ORIGINALS[TARGET_TO_DICT.target](self), "Tags": tags_of(self)}


def session_to_dict(self: Any) -> dict[str, Any]:
    return {**patching.ORIGINALS[SESSION_TO_DICT.target](self), "Tags": tags_of(self)}


def _aws_prefixes(moto_prefixes: dict[str, str]) -> dict[str, str]:
    return {**moto_prefixes, **AWS_ID_PREFIXES}


def _aws_resources(moto_resources: dict[str, str]) -> dict[str, str]:
    replaced = {p for p, kind in moto_resources.items() if AWS_ID_PREFIXES.get(kind, p) != p}
    kept = {prefix: kind for prefix, kind in moto_resources.items() if prefix not in replaced}
    return {**kept, **{prefix: kind for kind, prefix in AWS_ID_PREFIXES.items()}}


def apply() -> None:
    patching.install(FILTER_INIT, filter_init)
    patching.install(FILTER_TO_DICT, filter_to_dict)
    patching.install(TARGET_TO_DICT, target_to_dict)
    patching.install(SESSION_TO_DICT, session_to_dict)
    patching.install(ID_PREFIXES, _aws_prefixes(ec2_utils.EC2_RESOURCE_TO_PREFIX), everywhere=True)
    patching.install(PREFIX_RESOURCES, _aws_resources(ec2_utils.EC2_PREFIX_TO_RESOURCE), everywhere=True)
