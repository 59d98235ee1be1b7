"""The admission set: one DynamoDB item whose string set ``holders`` names the admitted executions.

Taking a slot is one ``UpdateItem`` (``ADD holders :me``) conditional on the set having room or
already holding this execution, so it is atomic and a retried call is harmless; an execution that
no longer runs (it ended, failed, was aborted) is taken out of the set by the next one that looks.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from tapcase_workflow.dal.clients import client

#: The admission table's key attribute and the one item's key.
KEY = {"name": {"S": "investigations"}}


def holders(table: str) -> set[str]:
    item = client("dynamodb").get_item(TableName=table, Key=KEY, ConsistentRead=True).get("Item") or {}
    return set((item.get("holders") or {}).get("SS", []))


def still_running(execution_arn: str) -> bool:
    """Whether an execution runs (an execution Step Functions does not know any more does not)."""
    try:
        return str(client("stepfunctions").describe_execution(executionArn=execution_arn)["status"]) == "RUNNING"
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"ExecutionDoesNotExist", "InvalidArn"}:
            return False
        raise


def release(table: str, execution_arns: set[str]) -> None:
    """Take executions out of the set (idempotent)."""
    if execution_arns:
        client("dynamodb").update_item(
            TableName=table, Key=KEY, UpdateExpression="DELETE holders :gone",
            ExpressionAttributeValues={":gone": {"SS": sorted(execution_arns)}},
        )


def take_slot(table: str, execution_arn: str, limit: int) -> bool:
    """Add this execution to the set if it has room (or holds it already); False when full."""
    try:
        client("dynamodb").update_item(
            TableName=table, Key=KEY, UpdateExpression="ADD holders :me",
            ConditionExpression="attribute_not_exists(holders) OR size(holders) < :limit OR contains(holders, :arn)",
            ExpressionAttributeValues={":me": {"SS": [execution_arn]}, ":limit": {"N": str(limit)},
                                       ":arn": {"S": execution_arn}},
        )
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
