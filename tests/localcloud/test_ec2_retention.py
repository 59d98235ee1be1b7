"""Terminated instances on the local cloud (tapcase/localcloud/ec2_retention.py).

EC2 API reference, TerminateInstances: "Terminated instances remain visible after termination (for
approximately one hour)"; EC2 User Guide, Terminate your instance: "it remains visible in the
console for a short while, and then the entry is automatically deleted [...] resources such as tags
and volumes are gradually disassociated from the instance". moto 5.2.5 kept every terminated
instance, its tags and its interface for the life of the process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tapcase.localcloud import timescale
from tapcase.localcloud.cloud import LocalCloud
from tapcase.localcloud.ec2_retention import TERMINATED_VISIBLE_SECONDS
from tapcase.localcloud.seed import amazon_image_id


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=None, time_scale=0) as local_cloud:
        yield local_cloud


@pytest.fixture
def ec2(cloud: LocalCloud, time_scale: Callable[[float], None]) -> Any:
    time_scale(0)
    return cloud.client("ec2")


def _launch(ec2: Any, name: str) -> dict[str, Any]:
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
    tags = [{"Key": "test", "Value": name}]
    specs = [{"ResourceType": kind, "Tags": tags} for kind in ("instance", "volume", "network-interface")]
    instance = ec2.run_instances(ImageId=amazon_image_id(ec2), MinCount=1, MaxCount=1, SubnetId=subnet,
                                 SecurityGroupIds=[group], TagSpecifications=specs)["Instances"][0]
    ec2.create_tags(Resources=[group], Tags=tags)
    return {"instance": instance["InstanceId"], "group": group,
            "eni": instance["NetworkInterfaces"][0]["NetworkInterfaceId"]}


def _tagged(ec2: Any, name: str) -> set[str]:
    found = ec2.describe_tags(Filters=[{"Name": "key", "Values": ["test"]}, {"Name": "value", "Values": [name]}])["Tags"]
    return {t["ResourceId"] for t in found}


def test_terminated_instance_is_visible_for_about_an_hour_then_gone_with_its_tags_and_interface(ec2: Any) -> None:
    launched = _launch(ec2, "retention-a")
    ec2.terminate_instances(InstanceIds=[launched["instance"]])
    ec2.delete_security_group(GroupId=launched["group"])
    timescale.sleep(TERMINATED_VISIBLE_SECONDS - 60)
    ec2.terminate_instances(InstanceIds=[launched["instance"]])  # idempotent: the hour is not restarted
    described = ec2.describe_instances(InstanceIds=[launched["instance"]])["Reservations"][0]["Instances"][0]
    assert described["State"]["Name"] == "terminated"  # still visible within the hour

    other = _launch(ec2, "retention-b")
    timescale.sleep(60)
    ec2.terminate_instances(InstanceIds=[other["instance"]])  # any later termination forgets the old ones

    with pytest.raises(ClientError) as excinfo:
        ec2.describe_instances(InstanceIds=[launched["instance"]])
    assert excinfo.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
    listed = {i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}
    assert launched["instance"] not in listed and other["instance"] in listed
    assert not _tagged(ec2, "retention-a")  # instance, volume, interface and deleted group: no tags left
    with pytest.raises(ClientError) as excinfo:
        ec2.describe_network_interfaces(NetworkInterfaceIds=[launched["eni"]])
    assert excinfo.value.response["Error"]["Code"] == "InvalidNetworkInterfaceID.NotFound"
    assert other["instance"] in _tagged(ec2, "retention-b")  # terminated a moment ago: still there


def test_a_running_instance_is_never_forgotten(ec2: Any) -> None:
    running = _launch(ec2, "retention-c")
    doomed = _launch(ec2, "retention-d")
    timescale.sleep(TERMINATED_VISIBLE_SECONDS * 2)
    ec2.terminate_instances(InstanceIds=[doomed["instance"]])
    state = ec2.describe_instances(InstanceIds=[running["instance"]])["Reservations"][0]["Instances"][0]["State"]
    assert state["Name"] == "running"
    assert {running["instance"], running["group"], running["eni"]} <= _tagged(ec2, "retention-c")


def test_forgetting_never_takes_an_instance_another_thread_is_launching(cloud: LocalCloud, ec2: Any) -> None:
    """RunInstances registers its reservation before it adds the instances and their tags (moto's
    InstanceBackend.run_instances); a forget running at that moment in another thread (a
    TerminateInstances elsewhere) must leave that empty reservation and any instance tags it does
    not forget alone — it once dropped them, and the new instance answered InvalidInstanceID.NotFound."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.instances import Reservation
    from moto.ec2.utils import random_reservation_id

    from tapcase.localcloud.ec2_retention import forget_terminated

    ec2.describe_instances()  # the backend exists
    backend = ec2_backends[cloud.account_id][cloud.region]
    launching = Reservation(reservation_id=random_reservation_id())
    backend.reservations[launching.id] = launching  # registered, no instance yet
    backend.tags["i-0fedcba987654321f"] = {"test": "being-launched"}  # tags ahead of the listing
    forget_terminated(backend, now=timescale.now() + TERMINATED_VISIBLE_SECONDS * 2)
    assert launching.id in backend.reservations
    assert backend.tags.get("i-0fedcba987654321f") == {"test": "being-launched"}
    backend.reservations.pop(launching.id)
    backend.tags.pop("i-0fedcba987654321f")
