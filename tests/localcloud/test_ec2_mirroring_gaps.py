"""Traffic-mirroring checks of the EC2 API reference the local cloud adds to moto (mirroring.topology,
mirroring.malformed).

Each test names the AWS behaviour it reproduces. Where AWS documents no error code the local
cloud answers ``InvalidParameterValue`` (marked UNCONFIRMED in the module).
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tapcase.localcloud.cloud import LocalCloud

ANY = "0.0.0.0/0"


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=None, time_scale=0) as running:
        yield running


@pytest.fixture(scope="module")
def ec2(cloud: LocalCloud) -> Any:
    return cloud.client("ec2")


def network(ec2: Any, second_octet: int) -> tuple[str, str]:
    vpc = ec2.create_vpc(CidrBlock=f"10.{second_octet}.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{second_octet}.1.0/24", AvailabilityZone="us-east-1a")
    return vpc, subnet["Subnet"]["SubnetId"]


def eni(ec2: Any, subnet: str) -> str:
    return ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]


def refused(code: str, call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    assert error["Code"] == code, error
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error


@pytest.fixture(scope="module")
def home(ec2: Any) -> tuple[str, str]:
    return network(ec2, 61)


@pytest.fixture(scope="module")
def accept_all(ec2: Any) -> str:
    filter_id = ec2.create_traffic_mirror_filter()["TrafficMirrorFilter"]["TrafficMirrorFilterId"]
    for direction in ("ingress", "egress"):
        ec2.create_traffic_mirror_filter_rule(
            TrafficMirrorFilterId=filter_id, TrafficDirection=direction, RuleNumber=100, RuleAction="accept",
            SourceCidrBlock=ANY, DestinationCidrBlock=ANY,
        )
    return filter_id


def targets(ec2: Any) -> int:
    return len(ec2.describe_traffic_mirror_targets()["TrafficMirrorTargets"])


# --- targets on load balancers and endpoints ---------------------------------------------------
def test_target_on_a_network_load_balancer_that_does_not_exist_refused(ec2: Any) -> None:
    """CreateTrafficMirrorTarget: NetworkLoadBalancerArn must name an existing Network Load Balancer."""
    before = targets(ec2)
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/gone/0123456789abcdef"
    error = refused("InvalidParameterValue", ec2.create_traffic_mirror_target, NetworkLoadBalancerArn=arn)
    assert arn in error["Message"]
    assert targets(ec2) == before


def test_target_on_an_application_load_balancer_refused(cloud: LocalCloud, ec2: Any, home: tuple[str, str]) -> None:
    """A traffic mirror target is a Network Load Balancer with a UDP listener, never an ALB."""
    vpc, subnet = home
    _, other = network(ec2, 62)
    alb = cloud.client("elbv2").create_load_balancer(Name="web", Subnets=[subnet, other], Type="application")
    arn = alb["LoadBalancers"][0]["LoadBalancerArn"]
    refused("InvalidParameterValue", ec2.create_traffic_mirror_target, NetworkLoadBalancerArn=arn)


def test_target_on_a_gateway_load_balancer_endpoint_that_does_not_exist_refused(ec2: Any) -> None:
    """GatewayLoadBalancerEndpointId must exist: InvalidVpcEndpointId.NotFound (EC2 error codes)."""
    before = targets(ec2)
    refused("InvalidVpcEndpointId.NotFound", ec2.create_traffic_mirror_target,
            GatewayLoadBalancerEndpointId="vpce-0123456789abcdef0")
    assert targets(ec2) == before


def test_target_on_an_existing_gateway_load_balancer_endpoint(ec2: Any, home: tuple[str, str]) -> None:
    vpc, subnet = home
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName="com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
        VpcEndpointType="GatewayLoadBalancer", SubnetIds=[subnet],
    )["VpcEndpoint"]["VpcEndpointId"]
    target = ec2.create_traffic_mirror_target(GatewayLoadBalancerEndpointId=endpoint)["TrafficMirrorTarget"]
    assert target["Type"] == "gateway-load-balancer-endpoint"
    interface = ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName="com.amazonaws.us-east-1.sqs", VpcEndpointType="Interface", SubnetIds=[subnet],
    )["VpcEndpoint"]["VpcEndpointId"]
    refused("InvalidParameterValue", ec2.create_traffic_mirror_target, GatewayLoadBalancerEndpointId=interface)


# --- where the target may be -------------------------------------------------------------------
def test_target_in_an_unconnected_vpc_refused(ec2: Any, home: tuple[str, str], accept_all: str) -> None:
    """CreateTrafficMirrorSession: source and target are "in the same VPC, or in a different VPC
    connected via VPC peering or a transit gateway"; a target elsewhere is refused, nothing created."""
    _, subnet = home
    _, far = network(ec2, 63)
    source = eni(ec2, subnet)
    target = ec2.create_traffic_mirror_target(NetworkInterfaceId=eni(ec2, far))["TrafficMirrorTarget"]
    error = refused(
        "InvalidParameterValue", ec2.create_traffic_mirror_session, NetworkInterfaceId=source,
        TrafficMirrorTargetId=target["TrafficMirrorTargetId"], TrafficMirrorFilterId=accept_all, SessionNumber=1,
    )
    assert "peering" in error["Message"]
    assert ec2.describe_traffic_mirror_sessions(
        Filters=[{"Name": "network-interface-id", "Values": [source]}])["TrafficMirrorSessions"] == []
    # ModifyTrafficMirrorSession: "The target must be in the same VPC as the source, or have a VPC
    # peering connection with the source."
    near = ec2.create_traffic_mirror_target(NetworkInterfaceId=eni(ec2, subnet))["TrafficMirrorTarget"]
    session = ec2.create_traffic_mirror_session(
        NetworkInterfaceId=source, TrafficMirrorTargetId=near["TrafficMirrorTargetId"],
        TrafficMirrorFilterId=accept_all, SessionNumber=1,
    )["TrafficMirrorSession"]
    refused("InvalidParameterValue", ec2.modify_traffic_mirror_session,
            TrafficMirrorSessionId=session["TrafficMirrorSessionId"],
            TrafficMirrorTargetId=target["TrafficMirrorTargetId"])


def test_target_in_a_peered_vpc_accepted_once_the_peering_is_active(
    ec2: Any, home: tuple[str, str], accept_all: str
) -> None:
    vpc, subnet = home
    peer_vpc, peer_subnet = network(ec2, 64)
    source = eni(ec2, subnet)
    target = ec2.create_traffic_mirror_target(NetworkInterfaceId=eni(ec2, peer_subnet))["TrafficMirrorTarget"]
    args = {"NetworkInterfaceId": source, "TrafficMirrorTargetId": target["TrafficMirrorTargetId"],
            "TrafficMirrorFilterId": accept_all, "SessionNumber": 1}
    pcx = ec2.create_vpc_peering_connection(VpcId=vpc, PeerVpcId=peer_vpc)["VpcPeeringConnection"]
    status = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx["VpcPeeringConnectionId"]])
    if status["VpcPeeringConnections"][0]["Status"]["Code"] != "active":
        refused("InvalidParameterValue", ec2.create_traffic_mirror_session, **args)  # not accepted yet
        ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx["VpcPeeringConnectionId"])
    assert ec2.create_traffic_mirror_session(**args)["TrafficMirrorSession"]["NetworkInterfaceId"] == source


def test_target_in_a_vpc_attached_to_the_same_transit_gateway_accepted(
    ec2: Any, home: tuple[str, str], accept_all: str
) -> None:
    vpc, subnet = home
    other_vpc, other_subnet = network(ec2, 65)
    source = eni(ec2, subnet)
    target = ec2.create_traffic_mirror_target(NetworkInterfaceId=eni(ec2, other_subnet))["TrafficMirrorTarget"]
    args = {"NetworkInterfaceId": source, "TrafficMirrorTargetId": target["TrafficMirrorTargetId"],
            "TrafficMirrorFilterId": accept_all, "SessionNumber": 1}
    tgw = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    ec2.create_transit_gateway_vpc_attachment(TransitGatewayId=tgw, VpcId=vpc, SubnetIds=[subnet])
    refused("InvalidParameterValue", ec2.create_traffic_mirror_session, **args)  # one side attached only
    ec2.create_transit_gateway_vpc_attachment(TransitGatewayId=tgw, VpcId=other_vpc, SubnetIds=[other_subnet])
    assert ec2.create_traffic_mirror_session(**args)["TrafficMirrorSession"]["TrafficMirrorTargetId"]


# --- PacketLength of sessions to a Network Load Balancer ---------------------------------------
def test_session_to_a_network_load_balancer_gets_packet_length_8500(
    cloud: LocalCloud, ec2: Any, home: tuple[str, str], accept_all: str
) -> None:
    """CreateTrafficMirrorSession: "For sessions with Network Load Balancer (NLB) Traffic Mirror
    targets the default PacketLength will be set to 8500"; an explicit value is kept; removing it
    (ModifyTrafficMirrorSession RemoveFields) sets the default again."""
    _, subnet = home
    nlb = cloud.client("elbv2").create_load_balancer(Name="sensors", Subnets=[subnet], Type="network",
                                                     Scheme="internal")["LoadBalancers"][0]["LoadBalancerArn"]
    target = ec2.create_traffic_mirror_target(NetworkLoadBalancerArn=nlb)["TrafficMirrorTarget"]
    tid = target["TrafficMirrorTargetId"]
    default = ec2.create_traffic_mirror_session(NetworkInterfaceId=eni(ec2, subnet), TrafficMirrorTargetId=tid,
                                                TrafficMirrorFilterId=accept_all, SessionNumber=1)
    assert default["TrafficMirrorSession"]["PacketLength"] == 8500
    explicit = ec2.create_traffic_mirror_session(NetworkInterfaceId=eni(ec2, subnet), TrafficMirrorTargetId=tid,
                                                 TrafficMirrorFilterId=accept_all, SessionNumber=1, PacketLength=128)
    sid = explicit["TrafficMirrorSession"]["TrafficMirrorSessionId"]
    assert explicit["TrafficMirrorSession"]["PacketLength"] == 128
    modified = ec2.modify_traffic_mirror_session(TrafficMirrorSessionId=sid, RemoveFields=["packet-length"])
    assert modified["TrafficMirrorSession"]["PacketLength"] == 8500
    # An ENI target keeps "the entire packet" when none is given.
    eni_target = ec2.create_traffic_mirror_target(NetworkInterfaceId=eni(ec2, subnet))["TrafficMirrorTarget"]
    whole = ec2.create_traffic_mirror_session(
        NetworkInterfaceId=eni(ec2, subnet), TrafficMirrorTargetId=eni_target["TrafficMirrorTargetId"],
        TrafficMirrorFilterId=accept_all, SessionNumber=1)["TrafficMirrorSession"]
    assert "PacketLength" not in whole


# --- malformed parameters ---------------------------------------------------------------------
def raw_call(cloud: LocalCloud, action: str, params: dict[str, str]) -> tuple[int, str, bytes]:
    body = urllib.parse.urlencode({"Action": action, "Version": "2016-11-15", **params}).encode()
    request = urllib.request.Request(cloud.endpoint + "/", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/ec2/aws4_request, "
                         "SignedHeaders=host, Signature=0",
    })
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local endpoint
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


MALFORMED = [
    ("CreateTrafficMirrorFilterRule", "RuleNumber"),
    ("CreateTrafficMirrorFilterRule", "Protocol"),
    ("CreateTrafficMirrorFilterRule", "DestinationPortRange.FromPort"),
    ("CreateTrafficMirrorFilterRule", "SourcePortRange.ToPort"),
    ("ModifyTrafficMirrorFilterRule", "RuleNumber"),
    ("CreateTrafficMirrorSession", "SessionNumber"),
    ("CreateTrafficMirrorSession", "PacketLength"),
    ("CreateTrafficMirrorSession", "VirtualNetworkId"),
    ("ModifyTrafficMirrorSession", "PacketLength"),
    ("DescribeTrafficMirrorSessions", "MaxResults"),
    ("DescribeTrafficMirrorFilters", "MaxResults"),
    ("DescribeTrafficMirrorTargets", "MaxResults"),
    ("DescribeTrafficMirrorFilterRules", "MaxResults"),
]


@pytest.mark.parametrize(("action", "param"), MALFORMED)
@pytest.mark.parametrize("value", ["abc", "1.5", "[1]", ""])
def test_malformed_parameter_is_an_ec2_error_never_an_http_500(
    cloud: LocalCloud, ec2: Any, action: str, param: str, value: str
) -> None:
    """EC2 error codes: a client error is a 400 with an <Errors><Error><Code>; InvalidParameterValue:
    "A value specified in a parameter is not valid". The local cloud never answers a 500 page."""
    status, content_type, body = raw_call(cloud, action, {param: value, "TrafficMirrorFilterId": "tmf-0"})
    assert status == 400, body[:300]
    assert "html" not in content_type
    error = {el.tag.rsplit("}", 1)[-1]: el.text for el in ET.fromstring(body).iter()}
    assert error.get("Code") == "InvalidParameterValue", body[:300]
    if value:
        assert f"parameter {param}" in error["Message"]
