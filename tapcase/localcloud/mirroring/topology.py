"""Where a mirror target may be: checks of the EC2 API reference that need the account's network.

- ``CreateTrafficMirrorTarget`` on a Network Load Balancer or a Gateway Load Balancer endpoint
  that does not exist is refused (a Network Load Balancer must be of type ``network``, an
  endpoint of type ``GatewayLoadBalancer``).
- ``CreateTrafficMirrorSession``: "The Traffic Mirror source and the Traffic Mirror target
  (monitoring appliances) can be in the same VPC, or in a different VPC connected via VPC
  peering or a transit gateway"; a target elsewhere is refused (also on ModifyTrafficMirrorSession).
- "For sessions with Network Load Balancer (NLB) Traffic Mirror targets the default PacketLength
  will be set to 8500" (CreateTrafficMirrorSession, ModifyTrafficMirrorSession).

Error codes: ``InvalidVpcEndpointId.NotFound`` is in the EC2 error-code reference. The code AWS
returns for a missing load balancer and for an unconnected VPC is not documented:
``InvalidParameterValue`` is assumed (UNCONFIRMED).
"""

from __future__ import annotations

from typing import Any

from tapcase.localcloud.mirroring import errors, limits


def _elbv2(backend: Any) -> Any | None:
    from moto.elbv2.models import elbv2_backends

    try:
        return elbv2_backends[backend.account_id][backend.region_name]
    except KeyError:
        return None


def load_balancer(backend: Any, arn: str) -> Any | None:
    elbv2 = _elbv2(backend)
    return elbv2.load_balancers.get(arn) if elbv2 is not None else None


def check_target_destination(backend: Any, nlb_arn: str | None, gwlb_endpoint_id: str | None) -> None:
    """The Network Load Balancer or Gateway Load Balancer endpoint of a new target must exist."""
    if nlb_arn:
        balancer = load_balancer(backend, nlb_arn)
        if balancer is None:
            # UNCONFIRMED: the code AWS returns for an unknown load balancer ARN.
            raise errors.invalid(f"The Network Load Balancer '{nlb_arn}' does not exist.")
        if getattr(balancer, "type", "network") != "network":
            raise errors.invalid(
                f"The load balancer '{nlb_arn}' is of type '{balancer.type}', not a Network Load Balancer."
            )
    if gwlb_endpoint_id:
        endpoint = getattr(backend, "vpc_end_points", {}).get(gwlb_endpoint_id)
        if endpoint is None:
            raise errors.refused(
                "InvalidVpcEndpointId.NotFound", f"The VPC endpoint '{gwlb_endpoint_id}' does not exist."
            )
        if (endpoint.vpc_endpoint_type or "").lower() != "gatewayloadbalancer":
            raise errors.invalid(f"The VPC endpoint '{gwlb_endpoint_id}' is not a Gateway Load Balancer endpoint.")


def _vpc_of_target(backend: Any, target: Any) -> str | None:
    if target.network_interface_id:
        eni = backend.enis.get(target.network_interface_id)
        return eni.subnet.vpc_id if eni is not None and eni.subnet is not None else None
    if target.network_load_balancer_arn:
        balancer = load_balancer(backend, target.network_load_balancer_arn)
        return getattr(balancer, "vpc_id", None)
    endpoint = getattr(backend, "vpc_end_points", {}).get(target.gateway_load_balancer_endpoint_id)
    return getattr(endpoint, "vpc_id", None)


def vpcs_connected(backend: Any, one: str, other: str) -> bool:
    """Same VPC, an active VPC peering connection, or both attached to one transit gateway."""
    if one == other:
        return True
    for pcx in getattr(backend, "vpc_pcxs", {}).values():
        if pcx._status.code == "active" and {pcx.vpc.id, pcx.peer_vpc.id} == {one, other}:
            return True
    gateways: dict[str, set[str]] = {}
    for attachment in getattr(backend, "transit_gateway_attachments", {}).values():
        if attachment.resource_type == "vpc" and attachment.state == "available":
            gateways.setdefault(attachment.transit_gateway_id, set()).add(attachment.resource_id)
    return any({one, other} <= vpcs for vpcs in gateways.values())


def check_target_reachable(backend: Any, source_eni: Any, target: Any) -> None:
    """The target must be in the source's VPC or in a VPC connected to it."""
    source_vpc = source_eni.subnet.vpc_id if source_eni.subnet is not None else None
    target_vpc = _vpc_of_target(backend, target)
    if source_vpc and target_vpc and not vpcs_connected(backend, source_vpc, target_vpc):
        # UNCONFIRMED: the code AWS returns for a target in an unconnected VPC.
        raise errors.invalid(
            f"The Traffic Mirror target {target.id} is in {target_vpc}, which is neither the source's VPC "
            f"({source_vpc}) nor connected to it by VPC peering or a transit gateway."
        )


def default_packet_length(target: Any, packet_length: int | None) -> int | None:
    """AWS's PacketLength for a session: 8500 for an NLB target when none is given."""
    if packet_length is None and getattr(target, "network_load_balancer_arn", None):
        return limits.NLB_DEFAULT_PACKET_LENGTH
    return packet_length
