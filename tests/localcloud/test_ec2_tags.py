"""RunInstances TagSpecifications on the local cloud (tapcase/localcloud/ec2_tags.py)."""

from __future__ import annotations

import boto3
from moto import mock_aws

from tapcase.localcloud import patches

patches.apply_all()


def test_run_instances_tags_the_instance_its_volumes_and_its_network_interfaces() -> None:
    """EC2 API reference, RunInstances ``TagSpecifications``: "The tags to apply to the resources
    that are created during instance launch ... Instances, Volumes, Spot Instance requests, Network
    interfaces"."""
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        specs = [{"ResourceType": kind, "Tags": [{"Key": "tapcase:investigation-id", "Value": kind}]}
                 for kind in ("instance", "volume", "network-interface")]
        instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=specs)["Instances"][0]
        eni = instance["NetworkInterfaces"][0]["NetworkInterfaceId"]
        described = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]
        assert described["TagSet"] == [{"Key": "tapcase:investigation-id", "Value": "network-interface"}]
        volume = instance["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
        assert ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["Tags"][0]["Value"] == "volume"
        tags = ec2.describe_instances(InstanceIds=[instance["InstanceId"]])["Reservations"][0]["Instances"][0]["Tags"]
        assert tags == [{"Key": "tapcase:investigation-id", "Value": "instance"}]
        # an interface created on its own is not tagged by a later launch's specifications
        plain = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
        plain_eni = plain["NetworkInterfaces"][0]["NetworkInterfaceId"]
        assert not ec2.describe_network_interfaces(NetworkInterfaceIds=[plain_eni])["NetworkInterfaces"][0].get("TagSet")
