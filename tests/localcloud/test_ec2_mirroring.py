"""EC2 Traffic Mirroring in the local cloud answers and refuses like AWS (tapcase.localcloud.mirroring)."""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import moto
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tapcase.localcloud import mirroring, patching
from tapcase.localcloud.cloud import LocalCloud
from tapcase.localcloud.mirroring import filters, limits, moto_fixes, resources, sessions, targets

ANY = "0.0.0.0/0"


# --- fixtures and helpers ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=None, time_scale=0) as running:
        yield running


@pytest.fixture(scope="module")
def ec2(cloud: LocalCloud) -> Any:
    return cloud.client("ec2")


@pytest.fixture(scope="module")
def raw_ec2(cloud: LocalCloud) -> Any:
    """A client that skips botocore's parameter checks, like the Step Functions interpreter's."""
    return boto3.client(
        "ec2",
        region_name=cloud.region,
        endpoint_url=cloud.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def subnet_id(ec2: Any) -> str:
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    return ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.0.0/20")["Subnet"]["SubnetId"]


@pytest.fixture
def new_eni(ec2: Any, subnet_id: str) -> Callable[[], str]:
    def make() -> str:
        return ec2.create_network_interface(SubnetId=subnet_id)["NetworkInterface"]["NetworkInterfaceId"]

    return make


@pytest.fixture
def filter_id(ec2: Any) -> str:
    return ec2.create_traffic_mirror_filter(Description="test")["TrafficMirrorFilter"][
        "TrafficMirrorFilterId"
    ]


@pytest.fixture
def target_id(ec2: Any, new_eni: Callable[[], str]) -> str:
    return ec2.create_traffic_mirror_target(NetworkInterfaceId=new_eni())["TrafficMirrorTarget"][
        "TrafficMirrorTargetId"
    ]


def refused(code: str, call: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    """Call, expect a ClientError with ``code`` and a message; return the error."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    assert error["Code"] == code, error
    assert error["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error


def rule_args(filter_id: str, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "TrafficMirrorFilterId": filter_id,
        "TrafficDirection": "ingress",
        "RuleNumber": 100,
        "RuleAction": "accept",
        "SourceCidrBlock": ANY,
        "DestinationCidrBlock": ANY,
    }
    args.update(overrides)
    return args


def rules_of(ec2: Any, filter_id: str) -> list[dict[str, Any]]:
    return ec2.describe_traffic_mirror_filter_rules(TrafficMirrorFilterId=filter_id)[
        "TrafficMirrorFilterRules"
    ]


def sessions_on(ec2: Any, eni_id: str) -> list[dict[str, Any]]:
    found = ec2.describe_traffic_mirror_sessions(
        Filters=[{"Name": "network-interface-id", "Values": [eni_id]}]
    )
    return found["TrafficMirrorSessions"]


def session(
    ec2: Any, eni: str, target: str, mirror_filter: str, number: int = 1, **kwargs: Any
) -> dict[str, Any]:
    return ec2.create_traffic_mirror_session(
        NetworkInterfaceId=eni,
        TrafficMirrorTargetId=target,
        TrafficMirrorFilterId=mirror_filter,
        SessionNumber=number,
        **kwargs,
    )["TrafficMirrorSession"]


# --- the patch itself -------------------------------------------------------------------------
def test_patch_fits_installed_moto(cloud: LocalCloud) -> None:
    """Fails loudly when a moto upgrade moves or changes what the patch relies on."""
    from moto.ec2.models import EC2Backend
    from moto.ec2.models.elastic_network_interfaces import NetworkInterfaceBackend
    from moto.ec2.models.traffic_mirrors import (
        TrafficMirrorFilter,
        TrafficMirrorsBackend,
        TrafficMirrorSession,
        TrafficMirrorTarget,
    )
    from moto.ec2.responses import EC2Response
    from moto.ec2.responses.traffic_mirrors import TrafficMirrors

    assert moto.__version__ == "5.2.5"
    assert moto_fixes.check_moto_compatibility() == []
    assert moto_fixes.is_applied()
    assert issubclass(EC2Response, TrafficMirrors)
    assert issubclass(EC2Backend, TrafficMirrorsBackend) and issubclass(EC2Backend, NetworkInterfaceBackend)
    for name, func in moto_fixes.BACKEND_METHODS.items():
        assert getattr(EC2Backend, name) is func, name
    for name, func in moto_fixes.RESPONSE_METHODS.items():
        assert getattr(EC2Response, name) is func, name
    assert NetworkInterfaceBackend.delete_network_interface is sessions.delete_network_interface
    for cls in (TrafficMirrorFilter, TrafficMirrorTarget, TrafficMirrorSession):
        assert cls.to_dict.__module__ == resources.__name__
    # The wrapped originals are moto's own, with the parameters the patch passes.
    wrapped = [
        (filters.CREATE, ["self", "description", "tag_specifications", "client_token"]),
        (targets.CREATE, [
            "self", "network_interface_id", "network_load_balancer_arn", "description", "tag_specifications",
            "client_token", "gateway_load_balancer_endpoint_id",
        ]),
        (sessions.CREATE, [
            "self", "network_interface_id", "traffic_mirror_target_id", "traffic_mirror_filter_id", "session_number",
            "packet_length", "virtual_network_id", "description", "tag_specifications", "client_token",
        ]),
        (sessions.DELETE_ENI, ["self", "eni_id"]),
        (resources.FILTER_INIT, ["self", "ec2_backend", "description", "tag_specifications", "client_token"]),
    ]
    for record, params in wrapped:
        original = patching.ORIGINALS[record.target]
        assert original.__module__.startswith("moto."), record.target
        assert list(inspect.signature(original).parameters) == params


def test_apply_is_idempotent(cloud: LocalCloud) -> None:
    before = dict(patching.ORIGINALS)
    mirroring.apply()
    mirroring.apply()
    assert patching.ORIGINALS == before
    assert patching.ORIGINALS[sessions.CREATE.target].__module__ == "moto.ec2.models.traffic_mirrors"


def test_ids_look_like_aws(ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str]) -> None:
    rule = ec2.create_traffic_mirror_filter_rule(**rule_args(filter_id))["TrafficMirrorFilterRule"]
    created = session(ec2, new_eni(), target_id, filter_id)
    assert filter_id.startswith("tmf-")
    assert target_id.startswith("tmt-")
    assert rule["TrafficMirrorFilterRuleId"].startswith("tmfr-")
    assert created["TrafficMirrorSessionId"].startswith("tms-")


def test_dry_run_is_refused_and_creates_nothing(ec2: Any, filter_id: str) -> None:
    with pytest.raises(ClientError) as caught:
        ec2.create_traffic_mirror_filter_rule(DryRun=True, **rule_args(filter_id))
    assert caught.value.response["Error"]["Code"] == "DryRunOperation"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412  # as on AWS
    assert rules_of(ec2, filter_id) == []


def test_client_token_makes_a_retry_create_nothing_new(
    ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str]
) -> None:
    eni, sensor_eni = new_eni(), new_eni()
    first_target = ec2.create_traffic_mirror_target(NetworkInterfaceId=sensor_eni, ClientToken="inv-1-target")
    retried_target = ec2.create_traffic_mirror_target(
        NetworkInterfaceId=sensor_eni, ClientToken="inv-1-target"
    )
    target = first_target["TrafficMirrorTarget"]["TrafficMirrorTargetId"]
    assert retried_target["TrafficMirrorTarget"]["TrafficMirrorTargetId"] == target
    found = ec2.describe_traffic_mirror_targets(
        Filters=[{"Name": "network-interface-id", "Values": [sensor_eni]}]
    )
    assert len(found["TrafficMirrorTargets"]) == 1

    first = session(ec2, eni, target_id, filter_id, 1, ClientToken="inv-1-session")
    again = session(ec2, eni, target_id, filter_id, 1, ClientToken="inv-1-session")  # a Retry's new attempt
    assert again["TrafficMirrorSessionId"] == first["TrafficMirrorSessionId"]
    assert len(sessions_on(ec2, eni)) == 1

    rule = ec2.create_traffic_mirror_filter_rule(ClientToken="inv-1-rule", **rule_args(filter_id))
    rule_again = ec2.create_traffic_mirror_filter_rule(ClientToken="inv-1-rule", **rule_args(filter_id))
    assert (
        rule_again["TrafficMirrorFilterRule"]["TrafficMirrorFilterRuleId"]
        == rule["TrafficMirrorFilterRule"]["TrafficMirrorFilterRuleId"]
    )
    assert len(rules_of(ec2, filter_id)) == 1


def test_client_token_with_other_parameters_refused(ec2: Any, new_eni: Callable[[], str]) -> None:
    eni, other = new_eni(), new_eni()
    ec2.create_traffic_mirror_target(NetworkInterfaceId=eni, ClientToken="inv-2-target")
    refused(
        "IdempotentParameterMismatch",
        ec2.create_traffic_mirror_target,
        NetworkInterfaceId=other,
        ClientToken="inv-2-target",
    )
    found = ec2.describe_traffic_mirror_targets(Filters=[{"Name": "network-interface-id", "Values": [other]}])
    assert found["TrafficMirrorTargets"] == []


# --- filters and rules ------------------------------------------------------------------------
def test_describe_filters_lists_rules_by_direction(ec2: Any, filter_id: str) -> None:
    ec2.create_traffic_mirror_filter_rule(**rule_args(filter_id, RuleNumber=200, RuleAction="reject"))
    ec2.create_traffic_mirror_filter_rule(
        **rule_args(
            filter_id, RuleNumber=100, Protocol=17, DestinationPortRange={"FromPort": 53, "ToPort": 53}
        )
    )
    ec2.create_traffic_mirror_filter_rule(
        **rule_args(filter_id, TrafficDirection="egress", RuleNumber=100, Description="out")
    )
    described = ec2.describe_traffic_mirror_filters(TrafficMirrorFilterIds=[filter_id])[
        "TrafficMirrorFilters"
    ]
    assert len(described) == 1
    ingress, egress = described[0]["IngressFilterRules"], described[0]["EgressFilterRules"]
    assert [(r["RuleNumber"], r["RuleAction"]) for r in ingress] == [(100, "accept"), (200, "reject")]
    assert ingress[0]["Protocol"] == 17
    assert ingress[0]["DestinationPortRange"] == {"FromPort": 53, "ToPort": 53}
    assert [(r["RuleNumber"], r["Description"]) for r in egress] == [(100, "out")]
    assert all(r["TrafficMirrorFilterId"] == filter_id for r in ingress + egress)


def test_rule_on_unknown_filter_refused(ec2: Any) -> None:
    refused(
        "InvalidTrafficMirrorFilterId.NotFound",
        ec2.create_traffic_mirror_filter_rule,
        **rule_args("tmf-0123456789abcdef0"),
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"TrafficDirection": "sideways"},
        {"RuleAction": "drop"},
        {"RuleNumber": 0},
        {"RuleNumber": 32767},
        {"Protocol": 256},
        {"SourceCidrBlock": "10.0.0.0/33"},
        {"DestinationCidrBlock": "not-a-cidr"},
        {"SourceCidrBlock": "::/0"},  # IPv6 source with an IPv4 destination
        {"Protocol": 6, "DestinationPortRange": {"FromPort": 90, "ToPort": 80}},
        {"Protocol": 6, "SourcePortRange": {"FromPort": 1, "ToPort": 70000}},
        {"Protocol": 1, "DestinationPortRange": {"FromPort": 80, "ToPort": 80}},  # ports on ICMP
    ],
    ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()),
)
def test_invalid_rule_refused(ec2: Any, filter_id: str, overrides: dict[str, Any]) -> None:
    refused(
        "InvalidParameterValue", ec2.create_traffic_mirror_filter_rule, **rule_args(filter_id, **overrides)
    )
    assert rules_of(ec2, filter_id) == []


def test_rule_missing_parameter_refused(raw_ec2: Any, ec2: Any, filter_id: str) -> None:
    args = rule_args(filter_id)
    del args["SourceCidrBlock"]
    error = refused("MissingParameter", raw_ec2.create_traffic_mirror_filter_rule, **args)
    assert "SourceCidrBlock" in error["Message"]
    assert rules_of(ec2, filter_id) == []


def test_repeated_rule_number_in_a_direction_refused(ec2: Any, filter_id: str) -> None:
    ec2.create_traffic_mirror_filter_rule(**rule_args(filter_id, RuleNumber=5))
    refused(
        "TrafficMirrorFilterRuleAlreadyExists",
        ec2.create_traffic_mirror_filter_rule,
        **rule_args(filter_id, RuleNumber=5, RuleAction="reject"),
    )
    ec2.create_traffic_mirror_filter_rule(**rule_args(filter_id, RuleNumber=5, TrafficDirection="egress"))
    assert sorted((r["TrafficDirection"], r["RuleAction"]) for r in rules_of(ec2, filter_id)) == [
        ("egress", "accept"),
        ("ingress", "accept"),
    ]


def test_eleventh_rule_on_a_filter_refused(ec2: Any, filter_id: str) -> None:
    """Traffic Mirroring quotas: "Maximum number of filter rules per filter: 10", ingress and egress
    together; the 11th is refused with TrafficMirrorFilterRuleLimitExceeded (EC2 error codes)."""
    for number in range(1, 6):
        ec2.create_traffic_mirror_filter_rule(**rule_args(filter_id, RuleNumber=number))
        ec2.create_traffic_mirror_filter_rule(**rule_args(filter_id, RuleNumber=number, TrafficDirection="egress"))
    for direction in ("ingress", "egress"):
        refused(
            "TrafficMirrorFilterRuleLimitExceeded",
            ec2.create_traffic_mirror_filter_rule,
            **rule_args(filter_id, RuleNumber=11, TrafficDirection=direction),
        )
    assert len(rules_of(ec2, filter_id)) == 10
    # A full filter still takes a modified rule (moving a rule is not adding one) ...
    rule_id = rules_of(ec2, filter_id)[0]["TrafficMirrorFilterRuleId"]
    ec2.modify_traffic_mirror_filter_rule(TrafficMirrorFilterRuleId=rule_id, RuleNumber=99)
    # ... and a new one once a rule is deleted.
    ec2.delete_traffic_mirror_filter_rule(TrafficMirrorFilterRuleId=rule_id)
    ec2.create_traffic_mirror_filter_rule(**rule_args(filter_id, RuleNumber=11, TrafficDirection="egress"))


def test_rule_tags_and_describe_rules_filters(ec2: Any, filter_id: str) -> None:
    tagged = ec2.create_traffic_mirror_filter_rule(
        **rule_args(filter_id, RuleNumber=7),
        TagSpecifications=[
            {"ResourceType": "traffic-mirror-filter-rule", "Tags": [{"Key": "case", "Value": "c1"}]}
        ],
    )["TrafficMirrorFilterRule"]
    assert tagged["Tags"] == [{"Key": "case", "Value": "c1"}]
    ec2.create_traffic_mirror_filter_rule(**rule_args(filter_id, RuleNumber=8, RuleAction="reject"))

    def rule_numbers(*filters: tuple[str, str]) -> list[int]:
        found = ec2.describe_traffic_mirror_filter_rules(
            Filters=[{"Name": "traffic-mirror-filter-id", "Values": [filter_id]}]
            + [{"Name": n, "Values": [v]} for n, v in filters]
        )["TrafficMirrorFilterRules"]
        return sorted(r["RuleNumber"] for r in found)

    assert rule_numbers() == [7, 8]
    assert rule_numbers(("rule-action", "reject")) == [8]
    assert rule_numbers(("rule-number", "7")) == [7]
    assert rule_numbers(("tag:case", "c*")) == [7]
    rule_id = tagged["TrafficMirrorFilterRuleId"]
    by_id = ec2.describe_traffic_mirror_filter_rules(TrafficMirrorFilterRuleIds=[rule_id])[
        "TrafficMirrorFilterRules"
    ]
    assert [r["TrafficMirrorFilterRuleId"] for r in by_id] == [rule_id]


def test_modify_filter_rule(ec2: Any, filter_id: str) -> None:
    rule_id = ec2.create_traffic_mirror_filter_rule(
        **rule_args(
            filter_id, Protocol=6, DestinationPortRange={"FromPort": 443, "ToPort": 443}, Description="tls"
        )
    )["TrafficMirrorFilterRule"]["TrafficMirrorFilterRuleId"]
    modified = ec2.modify_traffic_mirror_filter_rule(
        TrafficMirrorFilterRuleId=rule_id,
        RuleNumber=300,
        RuleAction="reject",
        SourceCidrBlock="10.0.0.0/8",
        RemoveFields=["destination-port-range", "protocol", "description"],
    )["TrafficMirrorFilterRule"]
    assert (modified["RuleNumber"], modified["RuleAction"], modified["SourceCidrBlock"]) == (
        300,
        "reject",
        "10.0.0.0/8",
    )
    assert (
        "Protocol" not in modified
        and "DestinationPortRange" not in modified
        and "Description" not in modified
    )
    assert rules_of(ec2, filter_id)[0]["RuleNumber"] == 300


def test_modify_filter_rule_refusals(ec2: Any, filter_id: str) -> None:
    ec2.create_traffic_mirror_filter_rule(**rule_args(filter_id, RuleNumber=1))
    rule_id = ec2.create_traffic_mirror_filter_rule(**rule_args(filter_id, RuleNumber=2))[
        "TrafficMirrorFilterRule"
    ]["TrafficMirrorFilterRuleId"]
    refused(
        "InvalidTrafficMirrorFilterRuleId.NotFound",
        ec2.modify_traffic_mirror_filter_rule,
        TrafficMirrorFilterRuleId="tmfr-0123456789abcdef0",
        RuleAction="reject",
    )
    refused(
        "TrafficMirrorFilterRuleAlreadyExists",
        ec2.modify_traffic_mirror_filter_rule,
        TrafficMirrorFilterRuleId=rule_id,
        RuleNumber=1,
    )
    refused(
        "InvalidParameterValue",
        ec2.modify_traffic_mirror_filter_rule,
        TrafficMirrorFilterRuleId=rule_id,
        RuleAction="drop",
    )
    assert sorted((r["RuleNumber"], r["RuleAction"]) for r in rules_of(ec2, filter_id)) == [
        (1, "accept"),
        (2, "accept"),
    ]


def test_delete_filter_rule(ec2: Any, filter_id: str) -> None:
    rule_id = ec2.create_traffic_mirror_filter_rule(**rule_args(filter_id))["TrafficMirrorFilterRule"][
        "TrafficMirrorFilterRuleId"
    ]
    assert (
        ec2.delete_traffic_mirror_filter_rule(TrafficMirrorFilterRuleId=rule_id)["TrafficMirrorFilterRuleId"]
        == rule_id
    )
    assert rules_of(ec2, filter_id) == []
    refused(
        "InvalidTrafficMirrorFilterRuleId.NotFound",
        ec2.delete_traffic_mirror_filter_rule,
        TrafficMirrorFilterRuleId=rule_id,
    )


def test_modify_filter_network_services(ec2: Any, filter_id: str) -> None:
    added = ec2.modify_traffic_mirror_filter_network_services(
        TrafficMirrorFilterId=filter_id, AddNetworkServices=["amazon-dns"]
    )["TrafficMirrorFilter"]
    assert added["NetworkServices"] == ["amazon-dns"]
    described = ec2.describe_traffic_mirror_filters(TrafficMirrorFilterIds=[filter_id])[
        "TrafficMirrorFilters"
    ][0]
    assert described["NetworkServices"] == ["amazon-dns"]
    removed = ec2.modify_traffic_mirror_filter_network_services(
        TrafficMirrorFilterId=filter_id, RemoveNetworkServices=["amazon-dns"]
    )["TrafficMirrorFilter"]
    assert removed.get("NetworkServices", []) == []


def test_modify_network_services_refusals(ec2: Any, filter_id: str) -> None:
    refused(
        "InvalidParameterValue",
        ec2.modify_traffic_mirror_filter_network_services,
        TrafficMirrorFilterId=filter_id,
        AddNetworkServices=["ntp"],
    )
    refused(
        "InvalidTrafficMirrorFilterId.NotFound",
        ec2.modify_traffic_mirror_filter_network_services,
        TrafficMirrorFilterId="tmf-0123456789abcdef0",
        AddNetworkServices=["amazon-dns"],
    )
    described = ec2.describe_traffic_mirror_filters(TrafficMirrorFilterIds=[filter_id])[
        "TrafficMirrorFilters"
    ][0]
    assert described.get("NetworkServices", []) == []


def test_delete_filter_with_its_rules(ec2: Any, filter_id: str) -> None:
    rule_id = ec2.create_traffic_mirror_filter_rule(**rule_args(filter_id))["TrafficMirrorFilterRule"][
        "TrafficMirrorFilterRuleId"
    ]
    assert (
        ec2.delete_traffic_mirror_filter(TrafficMirrorFilterId=filter_id)["TrafficMirrorFilterId"]
        == filter_id
    )
    refused(
        "InvalidTrafficMirrorFilterId.NotFound",
        ec2.describe_traffic_mirror_filters,
        TrafficMirrorFilterIds=[filter_id],
    )
    refused(
        "InvalidTrafficMirrorFilterRuleId.NotFound",
        ec2.delete_traffic_mirror_filter_rule,
        TrafficMirrorFilterRuleId=rule_id,
    )


def test_delete_unknown_filter_refused(ec2: Any) -> None:
    refused(
        "InvalidTrafficMirrorFilterId.NotFound",
        ec2.delete_traffic_mirror_filter,
        TrafficMirrorFilterId="tmf-0123456789abcdef0",
    )


def test_delete_filter_in_use_refused(
    ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str]
) -> None:
    created = session(ec2, new_eni(), target_id, filter_id)
    error = refused(
        "TrafficMirrorFilterInUse", ec2.delete_traffic_mirror_filter, TrafficMirrorFilterId=filter_id
    )
    assert created["TrafficMirrorSessionId"] in error["Message"]
    assert ec2.describe_traffic_mirror_filters(TrafficMirrorFilterIds=[filter_id])["TrafficMirrorFilters"]


def test_filter_tags_are_live_and_filterable(ec2: Any) -> None:
    filter_id = ec2.create_traffic_mirror_filter(
        TagSpecifications=[
            {"ResourceType": "traffic-mirror-filter", "Tags": [{"Key": "investigation", "Value": "inv-f1"}]}
        ]
    )["TrafficMirrorFilter"]["TrafficMirrorFilterId"]
    ec2.create_tags(Resources=[filter_id], Tags=[{"Key": "later", "Value": "yes"}])
    found = ec2.describe_traffic_mirror_filters(Filters=[{"Name": "tag:investigation", "Values": ["inv-f1"]}])
    assert [f["TrafficMirrorFilterId"] for f in found["TrafficMirrorFilters"]] == [filter_id]
    assert sorted(t["Key"] for t in found["TrafficMirrorFilters"][0]["Tags"]) == ["investigation", "later"]


# --- targets ----------------------------------------------------------------------------------
def test_target_on_unknown_eni_refused(ec2: Any) -> None:
    before = len(ec2.describe_traffic_mirror_targets()["TrafficMirrorTargets"])
    refused(
        "InvalidNetworkInterfaceID.NotFound",
        ec2.create_traffic_mirror_target,
        NetworkInterfaceId="eni-0123456789abcdef0",
    )
    assert len(ec2.describe_traffic_mirror_targets()["TrafficMirrorTargets"]) == before


@pytest.mark.parametrize("kind", ["none", "two"])
def test_target_needs_exactly_one_destination(ec2: Any, new_eni: Callable[[], str], kind: str) -> None:
    before = len(ec2.describe_traffic_mirror_targets()["TrafficMirrorTargets"])
    args = (
        {}
        if kind == "none"
        else {"NetworkInterfaceId": new_eni(), "GatewayLoadBalancerEndpointId": "vpce-0123456789abcdef0"}
    )
    refused("InvalidInput", ec2.create_traffic_mirror_target, **args)
    assert len(ec2.describe_traffic_mirror_targets()["TrafficMirrorTargets"]) == before


def test_describe_targets(cloud: LocalCloud, ec2: Any, subnet_id: str, new_eni: Callable[[], str]) -> None:
    eni = new_eni()
    target = ec2.create_traffic_mirror_target(
        NetworkInterfaceId=eni,
        Description="sensor",
        TagSpecifications=[
            {"ResourceType": "traffic-mirror-target", "Tags": [{"Key": "investigation", "Value": "inv-t1"}]}
        ],
    )["TrafficMirrorTarget"]
    assert target["Type"] == "network-interface"
    nlb_arn = cloud.client("elbv2").create_load_balancer(
        Name="sensors", Subnets=[subnet_id], Type="network", Scheme="internal"
    )["LoadBalancers"][0]["LoadBalancerArn"]
    nlb = ec2.create_traffic_mirror_target(NetworkLoadBalancerArn=nlb_arn)["TrafficMirrorTarget"]
    assert nlb["Type"] == "network-load-balancer"

    def target_ids(name: str, value: str) -> list[str]:
        found = ec2.describe_traffic_mirror_targets(Filters=[{"Name": name, "Values": [value]}])[
            "TrafficMirrorTargets"
        ]
        return [t["TrafficMirrorTargetId"] for t in found]

    assert target_ids("network-interface-id", eni) == [target["TrafficMirrorTargetId"]]
    assert target_ids("tag:investigation", "inv-t1") == [target["TrafficMirrorTargetId"]]
    assert target_ids("network-load-balancer-arn", nlb_arn) == [nlb["TrafficMirrorTargetId"]]
    refused(
        "InvalidTrafficMirrorTargetId.NotFound",
        ec2.describe_traffic_mirror_targets,
        TrafficMirrorTargetIds=["tmt-0123456789abcdef0"],
    )


def test_delete_target(ec2: Any, target_id: str) -> None:
    assert (
        ec2.delete_traffic_mirror_target(TrafficMirrorTargetId=target_id)["TrafficMirrorTargetId"]
        == target_id
    )
    refused(
        "InvalidTrafficMirrorTargetId.NotFound",
        ec2.describe_traffic_mirror_targets,
        TrafficMirrorTargetIds=[target_id],
    )


def test_delete_unknown_target_refused(ec2: Any) -> None:
    refused(
        "InvalidTrafficMirrorTargetId.NotFound",
        ec2.delete_traffic_mirror_target,
        TrafficMirrorTargetId="tmt-0123456789abcdef0",
    )


def test_delete_target_in_use_refused(
    ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str]
) -> None:
    session(ec2, new_eni(), target_id, filter_id)
    refused(
        "TrafficMirrorTargetInUseException", ec2.delete_traffic_mirror_target, TrafficMirrorTargetId=target_id
    )
    assert ec2.describe_traffic_mirror_targets(TrafficMirrorTargetIds=[target_id])["TrafficMirrorTargets"]


# --- sessions ---------------------------------------------------------------------------------
def test_session_with_unknown_source_eni_refused(ec2: Any, filter_id: str, target_id: str) -> None:
    refused(
        "InvalidNetworkInterfaceID.NotFound",
        ec2.create_traffic_mirror_session,
        NetworkInterfaceId="eni-0123456789abcdef0",
        TrafficMirrorTargetId=target_id,
        TrafficMirrorFilterId=filter_id,
        SessionNumber=1,
    )
    assert sessions_on(ec2, "eni-0123456789abcdef0") == []


def test_session_with_unknown_target_refused(ec2: Any, filter_id: str, new_eni: Callable[[], str]) -> None:
    eni = new_eni()
    refused(
        "InvalidTrafficMirrorTargetId.NotFound",
        ec2.create_traffic_mirror_session,
        NetworkInterfaceId=eni,
        TrafficMirrorTargetId="tmt-0123456789abcdef0",
        TrafficMirrorFilterId=filter_id,
        SessionNumber=1,
    )
    assert sessions_on(ec2, eni) == []


def test_session_with_unknown_filter_refused(ec2: Any, target_id: str, new_eni: Callable[[], str]) -> None:
    eni = new_eni()
    refused(
        "InvalidTrafficMirrorFilterId.NotFound",
        ec2.create_traffic_mirror_session,
        NetworkInterfaceId=eni,
        TrafficMirrorTargetId=target_id,
        TrafficMirrorFilterId="tmf-0123456789abcdef0",
        SessionNumber=1,
    )
    assert sessions_on(ec2, eni) == []


def test_session_missing_parameter_refused(
    raw_ec2: Any, ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str]
) -> None:
    eni = new_eni()
    refused(
        "MissingParameter",
        raw_ec2.create_traffic_mirror_session,
        NetworkInterfaceId=eni,
        TrafficMirrorTargetId=target_id,
        TrafficMirrorFilterId=filter_id,
    )
    assert sessions_on(ec2, eni) == []


def test_fourth_session_on_an_eni_refused(
    ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str]
) -> None:
    eni = new_eni()
    for number in (1, 2, 3):
        session(ec2, eni, target_id, filter_id, number)
    refused(
        "TrafficMirrorSessionsPerInterfaceLimitExceeded",
        ec2.create_traffic_mirror_session,
        NetworkInterfaceId=eni,
        TrafficMirrorTargetId=target_id,
        TrafficMirrorFilterId=filter_id,
        SessionNumber=4,
    )
    assert sorted(s["SessionNumber"] for s in sessions_on(ec2, eni)) == [1, 2, 3]


def test_repeated_session_number_on_an_eni_refused(
    ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str]
) -> None:
    eni, other = new_eni(), new_eni()
    session(ec2, eni, target_id, filter_id, 7)
    refused(
        "InvalidParameterValue",
        ec2.create_traffic_mirror_session,
        NetworkInterfaceId=eni,
        TrafficMirrorTargetId=target_id,
        TrafficMirrorFilterId=filter_id,
        SessionNumber=7,
    )
    assert len(sessions_on(ec2, eni)) == 1
    session(ec2, other, target_id, filter_id, 7)  # the same number on another source is fine


@pytest.mark.parametrize("number", [0, 32767, 40000])
def test_session_number_out_of_range_refused(
    ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str], number: int
) -> None:
    eni = new_eni()
    refused(
        "InvalidParameterValue",
        ec2.create_traffic_mirror_session,
        NetworkInterfaceId=eni,
        TrafficMirrorTargetId=target_id,
        TrafficMirrorFilterId=filter_id,
        SessionNumber=number,
    )
    assert sessions_on(ec2, eni) == []


@pytest.mark.parametrize("length", [0, 8501])
def test_packet_length_out_of_range_refused(
    ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str], length: int
) -> None:
    eni = new_eni()
    refused(
        "InvalidParameterValue",
        ec2.create_traffic_mirror_session,
        NetworkInterfaceId=eni,
        TrafficMirrorTargetId=target_id,
        TrafficMirrorFilterId=filter_id,
        SessionNumber=1,
        PacketLength=length,
    )
    assert sessions_on(ec2, eni) == []
    assert session(ec2, eni, target_id, filter_id, 1, PacketLength=8500)["PacketLength"] == 8500


def test_source_eni_that_is_the_targets_eni_refused(
    ec2: Any, filter_id: str, new_eni: Callable[[], str]
) -> None:
    eni = new_eni()
    target = ec2.create_traffic_mirror_target(NetworkInterfaceId=eni)["TrafficMirrorTarget"][
        "TrafficMirrorTargetId"
    ]
    refused(
        "InvalidParameterValue",
        ec2.create_traffic_mirror_session,
        NetworkInterfaceId=eni,
        TrafficMirrorTargetId=target,
        TrafficMirrorFilterId=filter_id,
        SessionNumber=1,
    )
    assert sessions_on(ec2, eni) == []


def test_source_eni_that_is_another_targets_eni_refused(
    ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str]
) -> None:
    sensor_eni = new_eni()
    ec2.create_traffic_mirror_target(NetworkInterfaceId=sensor_eni)
    refused(
        "InvalidParameterValue",
        ec2.create_traffic_mirror_session,
        NetworkInterfaceId=sensor_eni,
        TrafficMirrorTargetId=target_id,
        TrafficMirrorFilterId=filter_id,
        SessionNumber=1,
    )
    assert sessions_on(ec2, sensor_eni) == []


def test_target_whose_eni_is_a_source_refused(
    ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str]
) -> None:
    source, victim = new_eni(), new_eni()
    session(ec2, source, target_id, filter_id)
    # A target created on an ENI that is already mirrored cannot receive a session.
    late_target = ec2.create_traffic_mirror_target(NetworkInterfaceId=source)["TrafficMirrorTarget"][
        "TrafficMirrorTargetId"
    ]
    refused(
        "InvalidParameterValue",
        ec2.create_traffic_mirror_session,
        NetworkInterfaceId=victim,
        TrafficMirrorTargetId=late_target,
        TrafficMirrorFilterId=filter_id,
        SessionNumber=1,
    )
    assert sessions_on(ec2, victim) == []


def test_eleventh_source_on_an_eni_target_refused(
    ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str]
) -> None:
    for _ in range(10):
        session(ec2, new_eni(), target_id, filter_id)
    eleventh = new_eni()
    refused(
        "TrafficMirrorSourcesPerTargetLimitExceeded",
        ec2.create_traffic_mirror_session,
        NetworkInterfaceId=eleventh,
        TrafficMirrorTargetId=target_id,
        TrafficMirrorFilterId=filter_id,
        SessionNumber=1,
    )
    assert sessions_on(ec2, eleventh) == []


def test_account_session_quota(
    ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = len(ec2.describe_traffic_mirror_sessions()["TrafficMirrorSessions"])
    monkeypatch.setattr(limits, "SESSIONS_PER_ACCOUNT", existing)
    eni = new_eni()
    refused(
        "TrafficMirrorSessionLimitExceeded",
        ec2.create_traffic_mirror_session,
        NetworkInterfaceId=eni,
        TrafficMirrorTargetId=target_id,
        TrafficMirrorFilterId=filter_id,
        SessionNumber=1,
    )
    assert sessions_on(ec2, eni) == []


def test_virtual_network_id(ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str]) -> None:
    given = session(ec2, new_eni(), target_id, filter_id, VirtualNetworkId=4242)
    assert given["VirtualNetworkId"] == 4242
    shared = session(ec2, new_eni(), target_id, filter_id, VirtualNetworkId=4242)  # one VNI per investigation
    assert shared["VirtualNetworkId"] == 4242
    picked = [session(ec2, new_eni(), target_id, filter_id)["VirtualNetworkId"] for _ in range(3)]
    assert all(1 <= vni < 2**24 for vni in picked)
    assert len(set(picked) | {4242}) == 4  # random ones avoid VNIs in use
    eni = new_eni()
    refused(
        "InvalidParameterValue",
        ec2.create_traffic_mirror_session,
        NetworkInterfaceId=eni,
        TrafficMirrorTargetId=target_id,
        TrafficMirrorFilterId=filter_id,
        SessionNumber=1,
        VirtualNetworkId=2**24,
    )
    assert sessions_on(ec2, eni) == []


def test_describe_sessions_filters(ec2: Any, target_id: str, new_eni: Callable[[], str]) -> None:
    filter_a = ec2.create_traffic_mirror_filter()["TrafficMirrorFilter"]["TrafficMirrorFilterId"]
    filter_b = ec2.create_traffic_mirror_filter()["TrafficMirrorFilter"]["TrafficMirrorFilterId"]
    eni = new_eni()
    first = session(
        ec2,
        eni,
        target_id,
        filter_a,
        1,
        VirtualNetworkId=777001,
        TagSpecifications=[
            {"ResourceType": "traffic-mirror-session", "Tags": [{"Key": "investigation", "Value": "inv-s1"}]}
        ],
    )
    second = session(ec2, eni, target_id, filter_b, 2, VirtualNetworkId=777002)
    assert first["Tags"] == [{"Key": "investigation", "Value": "inv-s1"}]

    def ids(name: str, *values: str) -> set[str]:
        found = ec2.describe_traffic_mirror_sessions(
            Filters=[
                {"Name": "network-interface-id", "Values": [eni]},
                {"Name": name, "Values": list(values)},
            ]
        )
        return {s["TrafficMirrorSessionId"] for s in found["TrafficMirrorSessions"]}

    one, two = first["TrafficMirrorSessionId"], second["TrafficMirrorSessionId"]
    assert ids("traffic-mirror-session-id", one) == {one}
    assert ids("network-interface-id", eni) == {one, two}
    assert ids("traffic-mirror-target-id", target_id) == {one, two}
    assert ids("traffic-mirror-filter-id", filter_b) == {two}
    assert ids("session-number", "1") == {one}
    assert ids("session-number", "1", "2") == {one, two}
    assert ids("virtual-network-id", "777002") == {two}
    assert ids("tag:investigation", "inv-s1") == {one}
    assert ids("tag-key", "investigation") == {one}
    by_id = ec2.describe_traffic_mirror_sessions(TrafficMirrorSessionIds=[two])["TrafficMirrorSessions"]
    assert [s["TrafficMirrorSessionId"] for s in by_id] == [two]


def test_describe_sessions_refusals(ec2: Any) -> None:
    refused(
        "InvalidTrafficMirrorSessionId.NotFound",
        ec2.describe_traffic_mirror_sessions,
        TrafficMirrorSessionIds=["tms-0123456789abcdef0"],
    )
    refused(
        "InvalidParameterValue",
        ec2.describe_traffic_mirror_sessions,
        Filters=[{"Name": "no-such-filter", "Values": ["x"]}],
    )


def test_describe_sessions_pages(ec2: Any, target_id: str, new_eni: Callable[[], str]) -> None:
    filter_id = ec2.create_traffic_mirror_filter()["TrafficMirrorFilter"]["TrafficMirrorFilterId"]
    created = {session(ec2, new_eni(), target_id, filter_id)["TrafficMirrorSessionId"] for _ in range(7)}
    query = {"Filters": [{"Name": "traffic-mirror-filter-id", "Values": [filter_id]}], "MaxResults": 5}
    first = ec2.describe_traffic_mirror_sessions(**query)
    assert len(first["TrafficMirrorSessions"]) == 5 and first["NextToken"]
    second = ec2.describe_traffic_mirror_sessions(NextToken=first["NextToken"], **query)
    assert "NextToken" not in second
    seen = {
        s["TrafficMirrorSessionId"] for s in first["TrafficMirrorSessions"] + second["TrafficMirrorSessions"]
    }
    assert seen == created
    refused("InvalidParameterValue", ec2.describe_traffic_mirror_sessions, MaxResults=1001)


def test_delete_session(ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str]) -> None:
    eni = new_eni()
    session_id = session(ec2, eni, target_id, filter_id)["TrafficMirrorSessionId"]
    assert (
        ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=session_id)["TrafficMirrorSessionId"]
        == session_id
    )
    assert sessions_on(ec2, eni) == []


def test_delete_unknown_session_refused(ec2: Any) -> None:
    refused(
        "InvalidTrafficMirrorSessionId.NotFound",
        ec2.delete_traffic_mirror_session,
        TrafficMirrorSessionId="tms-0123456789abcdef0",
    )


def test_modify_session(ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str]) -> None:
    eni = new_eni()
    session_id = session(
        ec2, eni, target_id, filter_id, 1, PacketLength=128, VirtualNetworkId=99, Description="d"
    )["TrafficMirrorSessionId"]
    other_filter = ec2.create_traffic_mirror_filter()["TrafficMirrorFilter"]["TrafficMirrorFilterId"]
    modified = ec2.modify_traffic_mirror_session(
        TrafficMirrorSessionId=session_id,
        TrafficMirrorFilterId=other_filter,
        SessionNumber=5,
        RemoveFields=["packet-length", "description"],
    )["TrafficMirrorSession"]
    assert (modified["TrafficMirrorFilterId"], modified["SessionNumber"], modified["VirtualNetworkId"]) == (
        other_filter,
        5,
        99,
    )
    assert "PacketLength" not in modified and "Description" not in modified


def test_modify_session_refusals(
    ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str]
) -> None:
    eni = new_eni()
    session(ec2, eni, target_id, filter_id, 1)
    second = session(ec2, eni, target_id, filter_id, 2)["TrafficMirrorSessionId"]
    refused(
        "InvalidTrafficMirrorSessionId.NotFound",
        ec2.modify_traffic_mirror_session,
        TrafficMirrorSessionId="tms-0123456789abcdef0",
        SessionNumber=3,
    )
    refused(
        "InvalidParameterValue",
        ec2.modify_traffic_mirror_session,
        TrafficMirrorSessionId=second,
        SessionNumber=1,
    )
    refused(
        "InvalidTrafficMirrorTargetId.NotFound",
        ec2.modify_traffic_mirror_session,
        TrafficMirrorSessionId=second,
        TrafficMirrorTargetId="tmt-0123456789abcdef0",
    )
    refused(
        "InvalidParameterValue",
        ec2.modify_traffic_mirror_session,
        TrafficMirrorSessionId=second,
        PacketLength=9000,
    )
    assert sorted(s["SessionNumber"] for s in sessions_on(ec2, eni)) == [1, 2]


def test_deleting_the_source_eni_deletes_its_sessions(
    ec2: Any, filter_id: str, target_id: str, new_eni: Callable[[], str]
) -> None:
    doomed, kept = new_eni(), new_eni()
    session(ec2, doomed, target_id, filter_id, 1)
    session(ec2, doomed, target_id, filter_id, 2)
    survivor = session(ec2, kept, target_id, filter_id, 1)["TrafficMirrorSessionId"]
    ec2.delete_network_interface(NetworkInterfaceId=doomed)
    assert sessions_on(ec2, doomed) == []
    assert [s["TrafficMirrorSessionId"] for s in sessions_on(ec2, kept)] == [survivor]
    assert ec2.describe_traffic_mirror_targets(TrafficMirrorTargetIds=[target_id])["TrafficMirrorTargets"]


# --- Step Functions aws-sdk integration (PascalCase parameters over HTTP) ----------------------
def test_state_machine_creates_and_is_refused_over_http(cloud: LocalCloud, ec2: Any, filter_id: str) -> None:
    rule = {
        "TrafficMirrorFilterId.$": "$.filter",
        "TrafficDirection": "ingress",
        "RuleNumber": 1,
        "RuleAction": "accept",
        "SourceCidrBlock": ANY,
        "DestinationCidrBlock": ANY,
    }
    task = "arn:aws:states:::aws-sdk:ec2:createTrafficMirrorFilterRule"
    definition = {
        "StartAt": "Rule",
        "States": {
            "Rule": {
                "Type": "Task",
                "Resource": task,
                "Parameters": rule,
                "ResultSelector": {"id.$": "$.TrafficMirrorFilterRule.TrafficMirrorFilterRuleId"},
                "ResultPath": "$.rule",
                "Next": "SameNumberAgain",
            },
            "SameNumberAgain": {"Type": "Task", "Resource": task, "Parameters": rule, "End": True},
        },
    }
    sfn = cloud.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="mirroring-rules",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/tapcase-test",
    )["stateMachineArn"]
    execution = sfn.start_execution(
        stateMachineArn=machine, name="rules-1", input=json.dumps({"filter": filter_id})
    )
    deadline = time.monotonic() + 10
    while (described := sfn.describe_execution(executionArn=execution["executionArn"]))[
        "status"
    ] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not finish"
        time.sleep(0.02)
    assert described["status"] == "FAILED"
    assert described["error"].startswith("Ec2.")
    assert "rule number 1 already exists" in described["cause"]
    assert [r["RuleNumber"] for r in rules_of(ec2, filter_id)] == [1]
