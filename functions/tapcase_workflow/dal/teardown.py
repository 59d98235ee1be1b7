"""The AWS side of teardown: find by tag, delete tolerating 'already gone'."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from tapcase_contract import tags
from tapcase_workflow.dal import ec2
from tapcase_workflow.dal.clients import client
from tapcase_workflow.errors import TeardownIncomplete

TAG_KEY = tags.INVESTIGATION_ID

_LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]


class AwsTeardown:
    """Implements :class:`tapcase_workflow.logic.teardown.Cloud` with boto3."""

    def __init__(self, *, lock_table: str, instance_id: str, control_queue_name: str, execution_arn: str,
                 wait_seconds: float = 600.0) -> None:
        self.execution_arn = execution_arn
        self.lock_table = lock_table
        self.instance_id = instance_id
        self.control_queue_name = control_queue_name
        self.wait_seconds = wait_seconds

    def find(self, kind: str, investigation_id: str) -> list[str]:
        if kind == "mirror_sessions":
            items = ec2.tagged("describe_traffic_mirror_sessions", "TrafficMirrorSessions", TAG_KEY, investigation_id)
            return [s["TrafficMirrorSessionId"] for s in items]
        if kind == "mirror_targets":
            items = ec2.tagged("describe_traffic_mirror_targets", "TrafficMirrorTargets", TAG_KEY, investigation_id)
            return [t["TrafficMirrorTargetId"] for t in items]
        if kind == "mirror_filters":
            items = ec2.tagged("describe_traffic_mirror_filters", "TrafficMirrorFilters", TAG_KEY, investigation_id)
            return [f["TrafficMirrorFilterId"] for f in items]
        if kind == "sensor_instances":
            pages = client("ec2").get_paginator("describe_instances").paginate(
                Filters=[{"Name": f"tag:{TAG_KEY}", "Values": [investigation_id]},
                         {"Name": f"tag:{tags.ROLE}", "Values": [tags.ROLE_SENSOR]},
                         {"Name": "instance-state-name", "Values": _LIVE_STATES}]
            )
            return [i["InstanceId"] for page in pages for r in page["Reservations"] for i in r["Instances"]]
        if kind == "security_groups":
            items = ec2.tagged("describe_security_groups", "SecurityGroups", TAG_KEY, investigation_id)
            return [g["GroupId"] for g in items]
        if kind == "control_queues":
            try:
                return [client("sqs").get_queue_url(QueueName=self.control_queue_name)["QueueUrl"]]
            except ClientError as exc:
                if ec2.error_code(exc) in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
                    return []
                raise
        if kind == "locks":
            item = client("dynamodb").get_item(
                TableName=self.lock_table, Key={"instance_id": {"S": self.instance_id}}, ConsistentRead=True
            ).get("Item")
            # only the lock this execution holds (another execution of the same finding may hold it)
            if item and item.get("execution_arn", {}).get("S") == self.execution_arn:
                return [self.instance_id]
            return []
        raise ValueError(f"unknown resource kind {kind}")

    def delete(self, kind: str, resource_id: str) -> bool:
        if kind == "mirror_sessions":
            return ec2.delete_quietly("delete_traffic_mirror_session", TrafficMirrorSessionId=resource_id)
        if kind == "mirror_targets":
            return ec2.delete_quietly("delete_traffic_mirror_target", TrafficMirrorTargetId=resource_id)
        if kind == "mirror_filters":
            return ec2.delete_quietly("delete_traffic_mirror_filter", TrafficMirrorFilterId=resource_id)
        if kind == "sensor_instances":
            return ec2.delete_quietly("terminate_instances", InstanceIds=[resource_id])
        if kind == "security_groups":
            try:
                return ec2.delete_quietly("delete_security_group", GroupId=resource_id)
            except ClientError as exc:
                if ec2.error_code(exc) == "DependencyViolation":
                    raise TeardownIncomplete(f"security group {resource_id} still in use", {kind: 1}) from exc
                raise
        if kind == "control_queues":
            try:
                client("sqs").delete_queue(QueueUrl=resource_id)
                return True
            except ClientError as exc:
                if ec2.error_code(exc) in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
                    return False
                raise
        if kind == "locks":
            try:
                client("dynamodb").delete_item(
                    TableName=self.lock_table,
                    Key={"instance_id": {"S": resource_id}},
                    ConditionExpression="execution_arn = :self",
                    ExpressionAttributeValues={":self": {"S": self.execution_arn}},
                )
                return True
            except ClientError as exc:
                if ec2.error_code(exc) == "ConditionalCheckFailedException":
                    return False
                raise
        raise ValueError(f"unknown resource kind {kind}")

    def wait_terminated(self, instance_ids: list[str]) -> list[str]:
        if not instance_ids:
            return []
        deadline = time.monotonic() + self.wait_seconds
        pending: list[str] = list(instance_ids)
        while pending and time.monotonic() < deadline:
            resp: Any = client("ec2").describe_instances(InstanceIds=pending)
            pending = [i["InstanceId"] for r in resp["Reservations"] for i in r["Instances"]
                       if i["State"]["Name"] != "terminated"]
            if pending:
                time.sleep(5)
        return pending
