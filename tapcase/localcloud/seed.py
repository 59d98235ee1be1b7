"""Seeding the local cloud with the VPC, subnet and instance a GuardDuty finding names.

moto picks random ids; a finding names real ones (``i-…``, ``eni-…``, ``subnet-…``, ``vpc-…``).
While seeding, moto's id generators are made to hand out the finding's ids, so the instance the
state machine later describes is exactly the one in the finding, with its private IP and AZ.
Only what is absent is created.
"""

from __future__ import annotations

import ipaddress
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
    addr = ipaddress.ip_address(ip)
    return str(ipaddress.ip_network(f"{addr}/16", strict=False)), str(ipaddress.ip_network(f"{addr}/24", strict=False))


def seed_instance(ec2: Any, details: dict[str, Any], region: str) -> dict[str, Any]:
    """Create (if absent) the instance described by a finding's ``instanceDetails``."""
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
    image = sorted(i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"])[0]
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
