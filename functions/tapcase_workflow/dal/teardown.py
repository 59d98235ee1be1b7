"""The AWS side of teardown: find by tag, check recorded ids, delete tolerating 'already gone'."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from tapcase_contract import tags
from tapcase_workflow.dal import ec2
from tapcase_workflow.dal.clients import client
from tapcase_workflow.errors import TeardownIncomplete

TAG_KEY = tags.INVESTIGATION_ID

_LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]
_QUEUE_GONE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
#: kind -> (Describe method, answer key, id key, ids parameter)
_EC2_KINDS = {
    "mirror_sessions": ("describe_traffic_mirror_sessions", "TrafficMirrorSessions", "TrafficMirrorSessionId",
                        "TrafficMirrorSessionIds"),
    "mirror_targets": ("describe_traffic_mirror_targets", "TrafficMirrorTargets", "TrafficMirrorTargetId",
                       "TrafficMirrorTargetIds"),
    "mirror_filters": ("describe_traffic_mirror_filters", "TrafficMirrorFilters", "TrafficMirrorFilterId",
                       "TrafficMirrorFilterIds"),
    "security_groups": ("describe_security_groups", "SecurityGroups", "GroupId", "GroupIds"),
}
_DELETES = {
    "mirror_sessions": ("delete_traffic_mirror_session", "TrafficMirrorSessionId"),
    "mirror_targets": ("delete_traffic_mirror_target", "TrafficMirrorTargetId"),
    "mirror_filters": ("delete_traffic_mirror_filter", "TrafficMirrorFilterId"),
}


def tagged_queues(investigation_id: str, run: str | None = None) -> list[str]:
    """URLs of the control queues tagged with the investigation (and run, if given; names
    ``tapcase-<id>-<run>-control``)."""
    sqs = client("sqs")
    urls: list[str] = []
    for page in sqs.get_paginator("list_queues").paginate(QueueNamePrefix=f"tapcase-{investigation_id}-"):
        for url in page.get("QueueUrls", []):
            try:
                queue_tags = sqs.list_queue_tags(QueueUrl=url).get("Tags") or {}
            except ClientError as exc:
                if ec2.error_code(exc) in _QUEUE_GONE:
                    continue
                raise
            if queue_tags.get(TAG_KEY) == investigation_id and (run is None or queue_tags.get(tags.RUN) == run):
                urls.append(str(url))
    return urls


class AwsTeardown:
    """Implements :class:`tapcase_workflow.logic.teardown.Cloud` with boto3.

    ``lock_key``: the key of the suspect's lock item (:func:`tapcase_workflow.logic.accounts.lock_key`).
    ``execution_arn``: the execution whose lock may be released (a lock held by another
    execution is never touched); None releases no lock (the janitor frees stale locks itself).
    ``run``: only resources of this run of the investigation (tag ``tapcase:run``); None: any run.
    ``by_tag``: False finds nothing by tag (only the ids teardown is given are deleted).
    """

    def __init__(self, *, lock_table: str, lock_key: str, execution_arn: str | None, run: str | None = None,
                 by_tag: bool = True, wait_seconds: float = 600.0) -> None:
        self.execution_arn = execution_arn
        self.run = run
        self.by_tag = by_tag
        self.lock_table = lock_table
        self.lock_key = lock_key
        self.wait_seconds = wait_seconds

    def _tag_filters(self, investigation_id: str) -> list[dict[str, Any]]:
        filters = [{"Name": f"tag:{TAG_KEY}", "Values": [investigation_id]}]
        if self.run is not None:
            filters.append({"Name": f"tag:{tags.RUN}", "Values": [self.run]})
        return filters

    def find(self, kind: str, investigation_id: str) -> list[str]:
        if not self.by_tag and kind != "locks":
            return []
        if kind in _EC2_KINDS:
            method, key, id_key, _ = _EC2_KINDS[kind]
            items = ec2.described(method, key, Filters=self._tag_filters(investigation_id))
            return [str(item[id_key]) for item in items]
        if kind == "sensor_instances":
            pages = client("ec2").get_paginator("describe_instances").paginate(
                Filters=[*self._tag_filters(investigation_id),
                         {"Name": f"tag:{tags.ROLE}", "Values": [tags.ROLE_SENSOR]},
                         {"Name": "instance-state-name", "Values": _LIVE_STATES}]
            )
            return [i["InstanceId"] for page in pages for r in page["Reservations"] for i in r["Instances"]]
        if kind == "control_queues":
            return tagged_queues(investigation_id, self.run)
        if kind == "locks":
            if self.execution_arn is None:
                return []
            item = client("dynamodb").get_item(
                TableName=self.lock_table, Key={"instance_id": {"S": self.lock_key}}, ConsistentRead=True
            ).get("Item")
            # only the lock this execution holds (another execution of the same finding may hold it)
            if item and item.get("execution_arn", {}).get("S") == self.execution_arn:
                return [self.lock_key]
            return []
        raise ValueError(f"unknown resource kind {kind}")

    def alive(self, kind: str, resource_ids: Sequence[str]) -> list[str]:
        out: list[str] = []
        for rid in resource_ids:  # one at a time: a Describe of several fails whole when one is gone
            try:
                if kind in _EC2_KINDS:
                    method, key, _, ids_param = _EC2_KINDS[kind]
                    if getattr(client("ec2"), method)(**{ids_param: [rid]}).get(key):
                        out.append(rid)
                elif kind == "sensor_instances":
                    resp = client("ec2").describe_instances(InstanceIds=[rid])
                    if any(i["State"]["Name"] in _LIVE_STATES for r in resp["Reservations"] for i in r["Instances"]):
                        out.append(rid)
                elif kind == "control_queues":
                    client("sqs").get_queue_attributes(QueueUrl=rid, AttributeNames=["QueueArn"])
                    out.append(rid)
            except ClientError as exc:
                if ec2.error_code(exc) in ec2.GONE_CODES | _QUEUE_GONE:
                    continue
                raise
        return out

    def delete(self, kind: str, resource_id: str) -> bool:
        if kind in _DELETES:
            call, param = _DELETES[kind]
            return ec2.delete_quietly(call, **{param: resource_id})
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
                if ec2.error_code(exc) in _QUEUE_GONE:
                    return False
                raise
        if kind == "locks":
            return release_lock(self.lock_table, resource_id, self.execution_arn)
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


def release_lock(table: str, key: str, execution_arn: str | None) -> bool:
    """Delete the lock item ``key`` (the table's key attribute ``instance_id`` holds the lock key,
    ``<account>/<instance>``) if ``execution_arn`` still holds it (True when deleted)."""
    if execution_arn is None:
        return False
    try:
        client("dynamodb").delete_item(
            TableName=table,
            Key={"instance_id": {"S": key}},
            ConditionExpression="execution_arn = :holder",
            ExpressionAttributeValues={":holder": {"S": execution_arn}},
        )
        return True
    except ClientError as exc:
        if ec2.error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
