"""Two simulated accounts, and a Task state's ``Credentials`` field honoured as AWS does.

"Accessing resources in other AWS accounts in Step Functions" (Step Functions developer guide):
a Task state with ``Credentials: {"RoleArn.$": ...}`` runs with a session of that role, so an
SDK task acts in the role's account. STS AssumeRole: a role that does not exist, or whose trust
policy does not trust the caller, is refused with ``AccessDenied`` ("User: ... is not authorized
to perform: sts:AssumeRole on resource: ..."); the trust policy's ``sts:ExternalId`` condition
must match the request's ``ExternalId``. moto keeps one backend per account: a request signed by
a role session lands in the role's account.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tapcase.localcloud.cloud import ACCOUNT_ID
from tests.localcloud.sfn_support import DESCRIBE_VPCS, SEND_WITH_TOKEN, history, run

MEMBER = "222222222222"
STRANGER = "333333333333"


@pytest.fixture(scope="module")
def cloud():
    from tapcase.localcloud import LocalCloud

    with LocalCloud(template=None, time_scale=0) as local:
        yield local


def _trust(principal: str, external_id: str | None = None) -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _member_role(cloud, name: str, principal: str, external_id: str | None = None) -> str:
    iam = cloud.client("iam", account=MEMBER)
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(principal, external_id))["Role"]["Arn"]


def test_a_role_session_acts_in_the_roles_account_and_a_member_account_has_its_own_resources(cloud):
    role = _member_role(cloud, "member-a", f"arn:aws:iam::{ACCOUNT_ID}:root")
    member_vpc = cloud.client("ec2", account=MEMBER).create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    own = {v["VpcId"] for v in cloud.client("ec2").describe_vpcs()["Vpcs"]}
    assert member_vpc not in own
    creds = cloud.client("sts").assume_role(RoleArn=role, RoleSessionName="test")["Credentials"]
    import boto3

    ec2 = boto3.client("ec2", region_name=cloud.region, endpoint_url=cloud.endpoint,
                       aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                       aws_session_token=creds["SessionToken"])
    assert member_vpc in {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
    identity = boto3.client("sts", region_name=cloud.region, endpoint_url=cloud.endpoint,
                            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"]).get_caller_identity()
    assert identity["Account"] == MEMBER


def test_assume_role_is_access_denied_for_a_missing_role_an_untrusted_caller_or_a_wrong_external_id(cloud):
    sts = cloud.client("sts")
    with pytest.raises(ClientError) as missing:
        sts.assume_role(RoleArn=f"arn:aws:iam::{MEMBER}:role/never-deployed", RoleSessionName="test")
    assert missing.value.response["Error"]["Code"] == "AccessDenied"
    assert "is not authorized to perform: sts:AssumeRole on resource: " \
           f"arn:aws:iam::{MEMBER}:role/never-deployed" in missing.value.response["Error"]["Message"]
    other = _member_role(cloud, "member-trusts-stranger", f"arn:aws:iam::{STRANGER}:root")
    with pytest.raises(ClientError, match="AccessDenied"):
        sts.assume_role(RoleArn=other, RoleSessionName="test")
    one_role = _member_role(cloud, "member-trusts-one-role", f"arn:aws:iam::{STRANGER}:role/admin-states")
    with pytest.raises(ClientError, match="AccessDenied"):
        sts.assume_role(RoleArn=one_role, RoleSessionName="test")
    guarded = _member_role(cloud, "member-external-id", ACCOUNT_ID, external_id="tapcase")
    with pytest.raises(ClientError, match="AccessDenied"):
        sts.assume_role(RoleArn=guarded, RoleSessionName="test")
    with pytest.raises(ClientError, match="AccessDenied"):
        sts.assume_role(RoleArn=guarded, RoleSessionName="test", ExternalId="other")
    assert sts.assume_role(RoleArn=guarded, RoleSessionName="test", ExternalId="tapcase")["Credentials"]


def _describe_vpcs_with(role_path: str) -> dict:
    return {"StartAt": "Describe", "States": {"Describe": {
        "Type": "Task", "Resource": DESCRIBE_VPCS, "Credentials": {"RoleArn.$": role_path},
        "ResultSelector": {"vpcs.$": "$.Vpcs[*].VpcId"}, "End": True}}}


def test_a_task_with_credentials_acts_in_the_roles_account(cloud, sfn):
    role = _member_role(cloud, "member-states", f"arn:aws:iam::{ACCOUNT_ID}:root")
    member_vpc = cloud.client("ec2", account=MEMBER).create_vpc(CidrBlock="10.78.0.0/16")["Vpc"]["VpcId"]
    own_vpc = cloud.client("ec2").create_vpc(CidrBlock="10.79.0.0/16")["Vpc"]["VpcId"]
    done = run(sfn, _describe_vpcs_with("$.role"), {"role": role})
    assert done["status"] == "SUCCEEDED", done
    vpcs = json.loads(done["output"])["vpcs"]
    assert member_vpc in vpcs and own_vpc not in vpcs
    scheduled = [e["taskScheduledEventDetails"] for e in history(sfn, done["executionArn"])
                 if e["type"] == "TaskScheduled"]
    assert scheduled[0]["taskCredentials"] == {"roleArn": role}
    # without the field, the same task acts in the state machine's own account
    plain = {"StartAt": "D", "States": {"D": {"Type": "Task", "Resource": DESCRIBE_VPCS,
                                              "ResultSelector": {"vpcs.$": "$.Vpcs[*].VpcId"}, "End": True}}}
    vpcs = json.loads(run(sfn, plain)["output"])["vpcs"]
    assert own_vpc in vpcs and member_vpc not in vpcs


def test_a_task_whose_role_cannot_be_assumed_fails_with_states_permissions(cloud, sfn):
    """A member account without the role: STS refuses the execution role (AccessDenied), and the
    task fails with States.Permissions ("insufficient privileges"), not as a service error of EC2."""
    done = run(sfn, _describe_vpcs_with("$.role"), {"role": f"arn:aws:iam::{MEMBER}:role/never-deployed"})
    assert (done["status"], done["error"]) == ("FAILED", "States.Permissions"), done
    failed = [e["taskFailedEventDetails"] for e in history(sfn, done["executionArn"]) if e["type"] == "TaskFailed"]
    assert [(f["error"], f["resourceType"], f["resource"]) for f in failed] == [
        ("States.Permissions", "aws-sdk:ec2", "describeVpcs")]
    assert f"is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{MEMBER}:role/never-deployed" \
        in done.get("cause", ""), done


def test_a_callback_task_sends_into_the_member_accounts_queue(cloud, sfn):
    role = _member_role(cloud, "member-sqs", f"arn:aws:iam::{ACCOUNT_ID}:root")
    member_sqs = cloud.client("sqs", account=MEMBER)
    url = member_sqs.create_queue(QueueName="member-control")["QueueUrl"]
    assert f"/{MEMBER}/" in url
    machine = {"StartAt": "Send", "States": {"Send": {
        "Type": "Task", "Resource": SEND_WITH_TOKEN, "Credentials": {"RoleArn.$": "$.role"},
        "TimeoutSeconds": 5,
        "Parameters": {"QueueUrl.$": "$.url", "MessageBody": {"token.$": "$$.Task.Token"}}, "End": True}}}
    import threading

    answered: dict = {}

    def answer() -> None:
        import time

        for _ in range(200):
            got = member_sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", [])
            if got:
                token = json.loads(got[0]["Body"])["token"]
                answered["token"] = token
                sfn.send_task_success(taskToken=token, output=json.dumps({"ok": True}))
                return
            time.sleep(0.05)

    worker = threading.Thread(target=answer)
    worker.start()
    done = run(sfn, machine, {"role": role, "url": url})
    worker.join()
    assert done["status"] == "SUCCEEDED", done
    assert answered["token"] and json.loads(done["output"]) == {"ok": True}
