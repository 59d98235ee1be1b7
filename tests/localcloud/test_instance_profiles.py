"""Instance profiles on the local cloud (tapcase.localcloud.instance_profiles).

* A launch template "stores instance launch parameters so that you don't have to specify them every
  time you launch an instance" (EC2 user guide, "Store instance launch parameters in Amazon EC2
  launch templates"); its ``IamInstanceProfile`` (LaunchTemplateData, Arn or Name) is one of them.
  RunInstances with the template launches the instance with that profile; a profile named in the
  request itself is the instance's instead. moto 5.2.5 ignored the template's.
* An application on the instance signs with temporary credentials of the profile's role (IAM user
  guide, "Use an IAM role to grant permissions to applications running on Amazon EC2 instances"):
  GetCallerIdentity answers ``arn:aws:sts::<account>:assumed-role/<role>/<session>``, and STS
  judges what that role assumes by the target role's trust (``AccessDenied``, 403, otherwise).
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tapcase.localcloud.instance_profiles import profile_session

EC2_TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}


@pytest.fixture(scope="module")
def cloud():
    from tapcase.localcloud import LocalCloud

    with LocalCloud(template=None, time_scale=0) as local:
        yield local


def _profile(cloud, name: str) -> tuple[str, str]:
    iam = cloud.client("iam")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(EC2_TRUST))["Role"]["Arn"]
    profile = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=f"{name}-role")
    return profile, role


def _image(cloud) -> str:
    from tapcase.localcloud.seed import amazon_image_id

    return amazon_image_id(cloud.client("ec2"))


def _associated(cloud, instance_id: str) -> list[str]:
    found = cloud.client("ec2").describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [instance_id]}])["IamInstanceProfileAssociations"]
    return [a["IamInstanceProfile"]["Arn"] for a in found]


def test_an_instance_launched_from_a_template_has_the_templates_instance_profile(cloud):
    ec2 = cloud.client("ec2")
    profile, _ = _profile(cloud, "from-template")
    ec2.create_launch_template(LaunchTemplateName="with-profile", LaunchTemplateData={
        "ImageId": _image(cloud), "InstanceType": "m6i.large", "IamInstanceProfile": {"Name": "from-template"}})
    instance = ec2.run_instances(MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateName": "with-profile"})[
        "Instances"][0]["InstanceId"]
    assert _associated(cloud, instance) == [profile]
    described = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert described["IamInstanceProfile"]["Arn"] == profile


def test_a_profile_named_in_the_request_is_the_instances_not_the_templates(cloud):
    ec2 = cloud.client("ec2")
    _profile(cloud, "template-profile")
    request_profile, _ = _profile(cloud, "request-profile")
    ec2.create_launch_template(LaunchTemplateName="overridden", LaunchTemplateData={
        "ImageId": _image(cloud), "InstanceType": "m6i.large", "IamInstanceProfile": {"Name": "template-profile"}})
    instance = ec2.run_instances(MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateName": "overridden"},
                                 IamInstanceProfile={"Name": "request-profile"})["Instances"][0]["InstanceId"]
    assert _associated(cloud, instance) == [request_profile]


def test_a_template_without_a_profile_launches_an_instance_without_one(cloud):
    ec2 = cloud.client("ec2")
    ec2.create_launch_template(LaunchTemplateName="no-profile", LaunchTemplateData={
        "ImageId": _image(cloud), "InstanceType": "m6i.large"})
    instance = ec2.run_instances(MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateName": "no-profile"})[
        "Instances"][0]["InstanceId"]
    assert _associated(cloud, instance) == []


def test_the_profile_roles_session_is_that_role_and_sts_judges_it_by_trust(cloud):
    _, role = _profile(cloud, "caller")
    iam = cloud.client("iam")
    iam.put_role_policy(RoleName="caller-role", PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    trusting = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                        "Principal": {"AWS": cloud.account_id},
                                                        "Condition": {"ArnLike": {"aws:PrincipalArn": role}}}]}
    target = iam.create_role(RoleName="trusts-caller", AssumeRolePolicyDocument=json.dumps(trusting))["Role"]["Arn"]
    other = dict(trusting, Statement=[dict(trusting["Statement"][0],
                                           Condition={"ArnLike": {"aws:PrincipalArn": f"{role}-not"}})])
    refused = iam.create_role(RoleName="trusts-another", AssumeRolePolicyDocument=json.dumps(other))["Role"]["Arn"]

    session = profile_session(role, cloud.region, "i-0123456789abcdef0")
    sts = session.client("sts", endpoint_url=cloud.endpoint)
    assert sts.get_caller_identity()["Arn"] == \
        f"arn:aws:sts::{cloud.account_id}:assumed-role/caller-role/i-0123456789abcdef0"
    assert sts.assume_role(RoleArn=target, RoleSessionName="ok")["Credentials"]["SessionToken"]
    with pytest.raises(ClientError) as denied:
        sts.assume_role(RoleArn=refused, RoleSessionName="no")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # the session's credentials are refreshable, as the metadata service's are
    credentials = session.get_credentials()
    assert credentials.method == "iam-role" and credentials.refresh_needed() is False
