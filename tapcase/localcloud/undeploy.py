"""Deleting a locally deployed stack, as CloudFormation's DeleteStack does (CloudFormation user
guide, "Delete a stack" and "DeletionPolicy attribute"; AWS::CloudFormation::CustomResource):

* resources are deleted in the reverse of their creation order, so nothing is deleted while
  another resource that refers to it still exists;
* a resource with ``DeletionPolicy: Retain`` is kept (here the evidence bucket and its key);
* a custom resource gets a Delete request and must answer SUCCESS
  (:mod:`tapcase.localcloud.custom_resources`); if it fails, the deletion stops there with the
  stack in DELETE_FAILED: what was deleted stays deleted, the rest (the custom resource and what
  it depends on) is kept, and deleting the stack again retries;
* a resource already gone counts as deleted;
* once every resource is deleted, DescribeStacks no longer finds the stack by name.

Each resource type the local deployer creates is deleted through the API CloudFormation calls for
it. A Lambda function's or state machine's role that SAM generated (``<Function>Role``) goes with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from tapcase.localcloud.custom_resources import CustomResourceFailed, is_custom, send_request
from tapcase.localcloud.stack_model import Deployed, Stack

#: Error codes meaning "already gone" for the delete calls below.
GONE = {
    "NoSuchEntity", "ResourceNotFoundException", "ResourceNotFound", "NotFoundException", "EntityNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NotFound", "InvalidLaunchTemplateId.NotFound",
    "InvalidLaunchTemplateName.NotFoundException", "NoSuchBucket", "NoSuchBucketPolicy", "StateMachineDoesNotExist",
}


class StackDeletionFailed(RuntimeError):
    """DELETE_FAILED: the resource that could not be deleted, and why."""


def _ignore_gone(call: Callable[[], Any]) -> None:
    try:
        call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in GONE:
            raise


def _delete_role(iam: Any, name: str) -> None:
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
    iam.delete_role(RoleName=name)


def _generated_role(stack: Stack, resource: Deployed, role_arn: str) -> str | None:
    """The role SAM made for a function or state machine without its own ``Role``."""
    name = role_arn.rsplit("/", 1)[-1]
    return name if not resource.properties.get("Role") and name == f"{stack.name}-{resource.logical_id}"[:64] else None


class Undeployer:
    def __init__(self, cloud: Any, stack: Stack) -> None:
        self.cloud = cloud
        self.stack = stack

    def delete(self) -> None:
        for logical_id in reversed(list(self.stack.resources)):
            resource = self.stack.resources[logical_id]
            if resource.deletion_policy == "Retain":
                del self.stack.resources[logical_id]
                continue
            try:
                self._delete(resource)
            except (ClientError, CustomResourceFailed) as exc:
                raise StackDeletionFailed(f"stack {self.stack.name} DELETE_FAILED at {logical_id}: {exc}") from exc
            del self.stack.resources[logical_id]
        _ignore_gone(lambda: self.cloud.client("cloudformation").delete_stack(StackName=self.stack.name))

    def _delete(self, resource: Deployed) -> None:
        if is_custom(resource.type):
            send_request(self.cloud.client("lambda"), stack_id=self.stack.stack_id, logical_id=resource.logical_id,
                         resource_type=resource.type, properties=resource.properties, request_type="Delete",
                         physical_id=str(resource.ref))
            return
        method = getattr(self, "_" + resource.type.replace("::", "_"), None)
        if method is None:
            raise StackDeletionFailed(f"{resource.logical_id}: the local deployer cannot delete {resource.type}")
        method(resource)

    def _c(self, service: str) -> Any:
        return self.cloud.client(service)

    # -- one method per resource type, the call CloudFormation makes -----------------------------
    def _AWS_SQS_Queue(self, r: Deployed) -> None:
        _ignore_gone(lambda: self._c("sqs").delete_queue(QueueUrl=r.ref))

    def _AWS_DynamoDB_Table(self, r: Deployed) -> None:
        _ignore_gone(lambda: self._c("dynamodb").delete_table(TableName=r.ref))

    def _AWS_SNS_Topic(self, r: Deployed) -> None:
        _ignore_gone(lambda: self._c("sns").delete_topic(TopicArn=r.ref))

    def _AWS_Logs_LogGroup(self, r: Deployed) -> None:
        _ignore_gone(lambda: self._c("logs").delete_log_group(logGroupName=r.ref))

    def _AWS_IAM_Role(self, r: Deployed) -> None:
        _ignore_gone(lambda: _delete_role(self._c("iam"), r.ref))

    def _AWS_IAM_InstanceProfile(self, r: Deployed) -> None:
        iam = self._c("iam")

        def delete() -> None:
            for role in iam.get_instance_profile(InstanceProfileName=r.ref)["InstanceProfile"]["Roles"]:
                iam.remove_role_from_instance_profile(InstanceProfileName=r.ref, RoleName=role["RoleName"])
            iam.delete_instance_profile(InstanceProfileName=r.ref)

        _ignore_gone(delete)

    def _delete_with_role(self, r: Deployed, role_of: Callable[[], str], delete: Callable[[], Any]) -> None:
        """Delete a function or state machine, then the role SAM generated for it (if it has one)."""
        try:
            role = role_of()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in GONE:
                return
            raise
        delete()
        generated = _generated_role(self.stack, r, role)
        if generated:
            _ignore_gone(lambda: _delete_role(self._c("iam"), generated))

    def _AWS_Serverless_Function(self, r: Deployed) -> None:
        lam = self._c("lambda")
        self._delete_with_role(r, lambda: lam.get_function_configuration(FunctionName=r.ref)["Role"],
                               lambda: lam.delete_function(FunctionName=r.ref))

    def _AWS_Serverless_StateMachine(self, r: Deployed) -> None:
        sfn = self._c("stepfunctions")
        self._delete_with_role(r, lambda: sfn.describe_state_machine(stateMachineArn=r.ref)["roleArn"],
                               lambda: sfn.delete_state_machine(stateMachineArn=r.ref))

    def _AWS_Glue_Database(self, r: Deployed) -> None:
        _ignore_gone(lambda: self._c("glue").delete_database(Name=r.ref))

    def _AWS_Glue_Table(self, r: Deployed) -> None:
        database = r.properties["DatabaseName"]
        _ignore_gone(lambda: self._c("glue").delete_table(DatabaseName=database, Name=r.ref))

    def _AWS_Athena_WorkGroup(self, r: Deployed) -> None:
        recursive = str(r.properties.get("RecursiveDeleteOption", "false")).lower() == "true"
        _ignore_gone(lambda: self._c("athena").delete_work_group(WorkGroup=r.ref, RecursiveDeleteOption=recursive))

    def _AWS_EC2_LaunchTemplate(self, r: Deployed) -> None:
        _ignore_gone(lambda: self._c("ec2").delete_launch_template(LaunchTemplateId=r.ref))

    def _AWS_Lambda_Permission(self, r: Deployed) -> None:
        function = r.properties["FunctionName"]
        _ignore_gone(lambda: self._c("lambda").remove_permission(FunctionName=function, StatementId=r.ref))

    def _AWS_Events_Rule(self, r: Deployed) -> None:
        events = self._c("events")

        def delete() -> None:
            ids = [t["Id"] for t in events.list_targets_by_rule(Rule=r.ref)["Targets"]]
            if ids:  # DeleteRule refuses a rule that still has targets
                events.remove_targets(Rule=r.ref, Ids=ids)
            events.delete_rule(Name=r.ref)

        _ignore_gone(delete)

    def _AWS_Scheduler_ScheduleGroup(self, r: Deployed) -> None:
        _ignore_gone(lambda: self._c("scheduler").delete_schedule_group(Name=r.ref))

    def _AWS_Scheduler_Schedule(self, r: Deployed) -> None:
        group = r.properties.get("GroupName") or "default"
        _ignore_gone(lambda: self._c("scheduler").delete_schedule(Name=r.ref, GroupName=group))

    def _AWS_KMS_Key(self, r: Deployed) -> None:
        window = int(r.properties.get("PendingWindowInDays", 30))
        _ignore_gone(lambda: self._c("kms").schedule_key_deletion(KeyId=r.ref, PendingWindowInDays=window))

    def _AWS_S3_Bucket(self, r: Deployed) -> None:
        # DeleteBucket refuses a bucket that holds objects (BucketNotEmpty): DELETE_FAILED, as on AWS.
        _ignore_gone(lambda: self._c("s3").delete_bucket(Bucket=r.ref))

    def _AWS_S3_BucketPolicy(self, r: Deployed) -> None:
        _ignore_gone(lambda: self._c("s3").delete_bucket_policy(Bucket=r.ref))


def delete_stack(cloud: Any, stack: Stack) -> None:
    """Delete ``stack``'s resources (see the module's docstring); :class:`StackDeletionFailed` when one
    cannot be deleted (the stack keeps that one and every resource created before it)."""
    Undeployer(cloud, stack).delete()


__all__ = ["StackDeletionFailed", "delete_stack"]
