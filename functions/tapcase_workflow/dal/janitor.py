"""What the janitor lists: every resource tagged by tapcase, the locks, the live executions."""

from __future__ import annotations

from botocore.exceptions import ClientError

from tapcase_contract import tags
from tapcase_workflow.dal import ec2
from tapcase_workflow.dal.clients import client
from tapcase_workflow.dal.history import execution_events, running_executions
from tapcase_workflow.logic.janitor import Live, Lock, Tagged
from tapcase_workflow.logic.recorded import recorded

_TAGGED = [{"Name": "tag-key", "Values": [tags.INVESTIGATION_ID]}]
_LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]
#: kind -> (Describe method, answer key, id key)
_EC2 = {
    "mirror_sessions": ("describe_traffic_mirror_sessions", "TrafficMirrorSessions", "TrafficMirrorSessionId"),
    "mirror_targets": ("describe_traffic_mirror_targets", "TrafficMirrorTargets", "TrafficMirrorTargetId"),
    "mirror_filters": ("describe_traffic_mirror_filters", "TrafficMirrorFilters", "TrafficMirrorFilterId"),
    "security_groups": ("describe_security_groups", "SecurityGroups", "GroupId"),
}


def _tags(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


def tagged_resources() -> list[Tagged]:
    """Every resource carrying ``tapcase:investigation-id``: mirror sessions, targets, filters,
    sensor instances (not terminated), security groups, control queues."""
    out: list[Tagged] = []
    for kind, (method, key, id_key) in _EC2.items():
        out += [Tagged(kind, str(i[id_key]), _tags(i.get("Tags"))) for i in ec2.described(method, key, Filters=_TAGGED)]
    pages = client("ec2").get_paginator("describe_instances").paginate(
        Filters=[*_TAGGED, {"Name": f"tag:{tags.ROLE}", "Values": [tags.ROLE_SENSOR]},
                 {"Name": "instance-state-name", "Values": _LIVE_STATES}]
    )
    out += [Tagged("sensor_instances", str(i["InstanceId"]), _tags(i.get("Tags")))
            for page in pages for r in page["Reservations"] for i in r["Instances"]]
    sqs = client("sqs")
    for page in sqs.get_paginator("list_queues").paginate(QueueNamePrefix="tapcase-"):
        for url in page.get("QueueUrls", []):
            try:
                queue_tags = sqs.list_queue_tags(QueueUrl=url).get("Tags") or {}
            except ClientError as exc:
                if ec2.error_code(exc) in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
                    continue
                raise
            if tags.INVESTIGATION_ID in queue_tags:
                out.append(Tagged("control_queues", str(url), dict(queue_tags)))
    return out


def locks(table: str) -> list[Lock]:
    out: list[Lock] = []
    for page in client("dynamodb").get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page.get("Items", []):
            expires = item.get("expires_at", {}).get("N")
            out.append(Lock(
                key=str(item["instance_id"]["S"]),
                investigation_id=item.get("investigation_id", {}).get("S"),
                execution_arn=item.get("execution_arn", {}).get("S"),
                expires_at=int(float(expires)) if expires is not None else None,
            ))
    return out


def live_executions(state_machine_arn: str) -> list[Live]:
    """The RUNNING executions that planned an investigation, with what their plan says."""
    out: list[Live] = []
    for arn in running_executions(state_machine_arn):
        plan = recorded(execution_events(arn)).plan
        if plan is not None:
            out.append(Live(arn, plan.investigation_id, plan.run_token, plan.sensor_deadline))
    return out


def delete_lock(table: str, lock: Lock) -> bool:
    """Release a stale lock, only if it is still the one listed (same holder)."""
    ddb = client("dynamodb")
    try:
        if lock.execution_arn is None:
            ddb.delete_item(TableName=table, Key={"instance_id": {"S": lock.key}},
                            ConditionExpression="attribute_not_exists(execution_arn)")
        else:
            ddb.delete_item(TableName=table, Key={"instance_id": {"S": lock.key}},
                            ConditionExpression="execution_arn = :holder",
                            ExpressionAttributeValues={":holder": {"S": lock.execution_arn}})
        return True
    except ClientError as exc:
        if ec2.error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
