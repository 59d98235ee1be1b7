"""Custom resources and stack deletion in the local deployer, as CloudFormation does them
(CloudFormation user guide: "Custom resources", "Custom resource request types" — Create, Update,
Delete —, "Custom resource response objects", AWS::CloudFormation::CustomResource ServiceTimeout,
"DeletionPolicy attribute", DeleteStack): the provider gets the documented request, its PUT to
ResponseURL decides, a failed creation rolls the stack back, deletion goes in reverse order and
keeps what ``DeletionPolicy: Retain`` keeps."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tapcase.localcloud import LocalCloud
from tapcase.localcloud.cfn import TemplateError
from tapcase.localcloud.deploy import deploy_template
from tapcase.localcloud.undeploy import StackDeletionFailed, delete_stack
from tests.localcloud import custom_resource_provider as provider

TEMPLATE = textwrap.dedent("""\
    Parameters:
      Answer: {Type: String, Default: SUCCESS}
      DeleteAnswer: {Type: String, Default: SUCCESS}
      Timeout: {Type: Number, Default: 60}
    Resources:
      Before:
        Type: AWS::SQS::Queue
      Kept:
        Type: AWS::SNS::Topic
        DeletionPolicy: Retain
      Provider:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: .
          Handler: tests.localcloud.custom_resource_provider.handler
          Runtime: python3.11
      Thing:
        Type: Custom::Thing
        Properties:
          ServiceToken: !GetAtt Provider.Arn
          ServiceTimeout: !Ref Timeout
          Answer: !Ref Answer
          DeleteAnswer: !Ref DeleteAnswer
          QueueUrl: !Ref Before
      After:
        Type: AWS::SQS::Queue
        Properties:
          QueueName: !Sub "${AWS::StackName}-after-${Thing.Size}"
    Outputs:
      Size:
        Value: !GetAtt Thing.Size
    """)


@pytest.fixture(scope="module")
def cloud():
    with LocalCloud(time_scale=0, template=None) as c:
        yield c


@pytest.fixture
def template(tmp_path: Path) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    provider.REQUESTS.clear()
    return path


def queues(cloud: LocalCloud) -> set[str]:
    return {u.rsplit("/", 1)[-1] for u in cloud.client("sqs").list_queues().get("QueueUrls", [])}


def functions(cloud: LocalCloud) -> set[str]:
    return {f["FunctionName"] for f in cloud.client("lambda").list_functions()["Functions"]}


def test_create_sends_the_documented_request_and_data_become_attributes(cloud: Any, template: Path) -> None:
    stack = deploy_template(cloud, template, {}, stack_name="cr-ok")
    (request,) = provider.REQUESTS
    assert request["RequestType"] == "Create"
    assert set(request) == {"RequestType", "ServiceToken", "ResponseURL", "StackId", "RequestId",
                            "LogicalResourceId", "ResourceType", "ResourceProperties"}
    assert request["LogicalResourceId"] == "Thing" and request["ResourceType"] == "Custom::Thing"
    assert request["StackId"] == stack.stack_id
    assert request["ResourceProperties"]["QueueUrl"] == stack.ref("Before")  # properties evaluated, token included
    assert request["ResourceProperties"]["ServiceToken"] == stack.get_att("Provider", "Arn")
    assert stack.ref("Thing") == "thing-1"  # Ref: the physical id it answered
    assert stack.outputs["Size"] == "3" and "cr-ok-after-3" in queues(cloud)  # GetAtt: its Data

    before, kept = stack.ref("Before").rsplit("/", 1)[-1], stack.ref("Kept")
    delete_stack(cloud, stack)
    delete = provider.REQUESTS[-1]
    assert delete["RequestType"] == "Delete" and delete["PhysicalResourceId"] == "thing-1"
    assert not {"cr-ok-after-3", before} & queues(cloud)
    assert "cr-ok-Provider" not in functions(cloud)
    assert stack.resources == {}
    topics = [t["TopicArn"] for t in cloud.client("sns").list_topics()["Topics"]]
    assert kept in topics  # DeletionPolicy: Retain
    with pytest.raises(ClientError, match="does not exist"):
        cloud.client("cloudformation").describe_stacks(StackName="cr-ok")


@pytest.mark.parametrize(("answer", "message"), [
    ("FAILED", "Thing CREATE_FAILED: told to fail"),
    ("BIG", "Response object is too long"),
    ("NO_ID", "PhysicalResourceId must be a non-empty string"),
    ("SILENT", "did not receive a response"),
])
def test_a_failed_creation_names_the_reason_and_rolls_the_stack_back(cloud: Any, template: Path, answer: str,
                                                                     message: str) -> None:
    """CREATE_FAILED, then ROLLBACK_COMPLETE: what was created before the custom resource is deleted
    (Retain kept), nothing after it was created."""
    before_queues, before_functions = queues(cloud), functions(cloud)
    with pytest.raises(TemplateError, match=message):
        deploy_template(cloud, template, {"Answer": answer}, stack_name=f"cr-{answer.lower().replace('_', '')}")
    assert queues(cloud) == before_queues
    assert functions(cloud) == before_functions


def test_service_timeout_outside_1_to_3600_is_refused(cloud: Any, template: Path) -> None:
    with pytest.raises(TemplateError, match="ServiceTimeout must be an integer from 1 to 3600"):
        deploy_template(cloud, template, {"Timeout": "3601"}, stack_name="cr-timeout")
    assert provider.REQUESTS == []


def test_a_failed_delete_stops_the_deletion_and_keeps_what_it_depends_on(cloud: Any, template: Path) -> None:
    """DELETE_FAILED: resources after the custom resource are deleted, the custom resource and
    everything it depends on stay; deleting again (once it succeeds) finishes."""
    stack = deploy_template(cloud, template, {"DeleteAnswer": "FAILED"}, stack_name="cr-nodelete")
    with pytest.raises(StackDeletionFailed, match="DELETE_FAILED at Thing: .*told to fail"):
        delete_stack(cloud, stack)
    assert "cr-nodelete-after-3" not in queues(cloud)
    assert stack.ref("Before").rsplit("/", 1)[-1] in queues(cloud)
    assert set(stack.resources) == {"Before", "Kept", "Provider", "Thing"}
    stack.resources["Thing"].properties["DeleteAnswer"] = "SUCCESS"  # the provider fixed
    delete_stack(cloud, stack)
    assert stack.resources == {}
    assert "cr-nodelete-Provider" not in functions(cloud)
