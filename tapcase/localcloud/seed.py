"""Seeding the local cloud with the VPC, subnet and instance a GuardDuty finding names.

moto picks random ids; a finding names real ones (``i-…``, ``eni-…``, ``subnet-…``, ``vpc-…``).
While seeding, moto's id generators are made to hand out the finding's ids, so the instance the
state machine later describes is exactly the one in the finding, with its private IP and AZ.
Only what is absent is created.
"""

from __future__ import annotations

import ipaddress
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

_lock = threading.Lock()

_GENERATORS = {
    "vpc": ("moto.ec2.models.vpcs", "random_vpc_id"),
    "subnet": ("moto.ec2.models.subnets", "random_subnet_id"),
    "instance": ("moto.ec2.models.instances", "random_instance_id"),
    "eni": ("moto.ec2.models.elastic_network_interfaces", "random_eni_id"),
}


_images: dict[tuple[str, str], str] = {}


def amazon_image_id(ec2: Any) -> str:
    """The first of the local cloud's Amazon-owned AMIs (by id), found once per endpoint and region.

    moto lists ~1300 of them: DescribeImages takes about a second to answer and parse, so when the
    client's endpoint is the local cloud of this process its EC2 backend is asked directly (the same
    DescribeImages filter, without the HTTP round trip)."""
    key = (ec2.meta.endpoint_url, ec2.meta.region_name)
    if key not in _images:
        port = os.environ.get("MOTO_PORT")  # set by the local cloud running in this process
        if port and ec2.meta.endpoint_url == f"http://127.0.0.1:{port}":
            from moto.core import DEFAULT_ACCOUNT_ID
            from moto.ec2.models import ec2_backends

            backend = ec2_backends[DEFAULT_ACCOUNT_ID][ec2.meta.region_name]
            _images[key] = sorted(image.id for image in backend.describe_images(owners=["amazon"]))[0]
        else:
            _images[key] = sorted(i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"])[0]
    return _images[key]


class SeedError(ValueError):
    """The finding does not describe an EC2 instance the local cloud can stand up."""


@contextmanager
def forced_ids(**ids: str | None) -> Iterator[None]:
    """Make moto's next generated id of each kind the given one (once each)."""
    import importlib

    with _lock:
        saved = []
        try:
            for kind, value in ids.items():
                if not value:
                    continue
                module_name, attr = _GENERATORS[kind]
                module = importlib.import_module(module_name)
                original = getattr(module, attr)
                pending = [value]

                def generator(_original: Any = original, _pending: list[str] = pending) -> str:
                    return _pending.pop() if _pending else _original()

                setattr(module, attr, generator)
                saved.append((module, attr, original))
            yield
        finally:
            for module, attr, original in saved:
                setattr(module, attr, original)


def _exists(call: Any, key: str, **kwargs: Any) -> bool:
    try:
        return bool(call(**kwargs)[key])
    except ClientError as exc:
        if exc.response["Error"]["Code"].endswith(".NotFound"):
            return False
        raise


def _network(ip: str) -> tuple[str, str]:
    """A /16 VPC and /24 subnet around a private IP."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        raise SeedError(f"the finding's private IP {ip!r} is not an IP address") from None
    return str(ipaddress.ip_network(f"{addr}/16", strict=False)), str(ipaddress.ip_network(f"{addr}/24", strict=False))


def _address_user(ec2: Any, subnet_id: str, ip: str) -> str | None:
    """The network interface (and its instance) that already holds ``ip`` in the subnet, if any."""
    found = ec2.describe_network_interfaces(Filters=[
        {"Name": "subnet-id", "Values": [subnet_id]},
        {"Name": "addresses.private-ip-address", "Values": [ip]},
    ])["NetworkInterfaces"]
    if not found:
        return None
    eni = found[0]
    owner = (eni.get("Attachment") or {}).get("InstanceId")
    return f"{eni['NetworkInterfaceId']}" + (f" of {owner}" if owner else "")


def seed_instance(ec2: Any, details: dict[str, Any], region: str) -> dict[str, Any]:
    """Create (if absent) the instance described by a finding's ``instanceDetails``.

    Raises :class:`SeedError` (the local cloud answers HTTP 400) when the finding cannot be stood
    up: no instance id or interface, an address that is not an IP, an address another interface of
    the subnet holds (EC2 refuses it: ``InvalidIPAddress.InUse``, "Address … is in use"), or any
    EC2 error while creating it (with its code)."""
    try:
        return _seed_instance(ec2, details, region)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise SeedError(f"EC2 refused to create the finding's instance: {error.get('Code')}: "
                        f"{error.get('Message')}") from None


def _seed_instance(ec2: Any, details: dict[str, Any], region: str) -> dict[str, Any]:
    instance_id = details.get("instanceId")
    if not instance_id:
        raise SeedError("the finding names no instanceId")
    if _exists(ec2.describe_instances, "Reservations", InstanceIds=[instance_id]):
        return {"instance_id": instance_id, "created": False}
    enis = details.get("networkInterfaces") or []
    if not enis:
        raise SeedError(f"the finding gives no network interface for {instance_id}")
    primary = enis[0]
    ip = primary.get("privateIpAddress") or "10.0.0.10"
    vpc_cidr, subnet_cidr = _network(ip)
    az = details.get("availabilityZone") or f"{region}a"
    if not az.startswith(region):
        az = region + az[-1]
    vpc_id, subnet_id = primary.get("vpcId"), primary.get("subnetId")
    if not vpc_id or not _exists(ec2.describe_vpcs, "Vpcs", VpcIds=[vpc_id]):
        with forced_ids(vpc=vpc_id):
            vpc_id = ec2.create_vpc(CidrBlock=vpc_cidr)["Vpc"]["VpcId"]
    if not subnet_id or not _exists(ec2.describe_subnets, "Subnets", SubnetIds=[subnet_id]):
        with forced_ids(subnet=subnet_id):
            subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock=subnet_cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]
    for eni in enis:
        address = eni.get("privateIpAddress")
        holder = _address_user(ec2, eni.get("subnetId") or subnet_id, address) if address else None
        if holder is not None:
            raise SeedError(f"InvalidIPAddress.InUse: Address {address} is in use (by {holder}): "
                            f"{instance_id} cannot be created with it")
    image = amazon_image_id(ec2)
    with forced_ids(instance=instance_id, eni=primary.get("networkInterfaceId")):
        ec2.run_instances(
            ImageId=image, MinCount=1, MaxCount=1, InstanceType=details.get("instanceType") or "m5.large",
            SubnetId=subnet_id, PrivateIpAddress=ip,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [
                {"Key": t.get("key", t.get("Key")), "Value": t.get("value", t.get("Value"))}
                for t in details.get("tags") or []]}] if details.get("tags") else [],
        )
    for index, extra in enumerate(enis[1:], start=1):
        extra_subnet = extra.get("subnetId") or subnet_id
        if not _exists(ec2.describe_subnets, "Subnets", SubnetIds=[extra_subnet]):
            extra_subnet = subnet_id
        with forced_ids(eni=extra.get("networkInterfaceId")):
            kwargs: dict[str, Any] = {"SubnetId": extra_subnet}
            if extra.get("privateIpAddress"):
                kwargs["PrivateIpAddress"] = extra["privateIpAddress"]
            eni_id = ec2.create_network_interface(**kwargs)["NetworkInterface"]["NetworkInterfaceId"]
        ec2.attach_network_interface(NetworkInterfaceId=eni_id, InstanceId=instance_id, DeviceIndex=index)
    return {"instance_id": instance_id, "created": True, "vpc_id": vpc_id, "subnet_id": subnet_id}
