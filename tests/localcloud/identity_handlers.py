"""Lambda handlers of the caller-identity tests (tests/localcloud/test_caller_identity.py): each
calls STS through the workflow's own client adapter (``tapcase_workflow.dal.clients``, cached
clients, boto3's default credential chain: the function's environment), as tapcase's functions do."""

from __future__ import annotations

from typing import Any


def whoami(event: dict[str, Any], context: Any) -> dict[str, str]:
    from tapcase_workflow.dal.clients import client

    identity = client("sts").get_caller_identity()
    return {"Arn": identity["Arn"], "Account": identity["Account"]}


def assume(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """AssumeRole ``event["role"]`` (``event["duration"]``: DurationSeconds): STS's answer."""
    from botocore.exceptions import ClientError

    from tapcase_workflow.dal.clients import client

    extra = {"DurationSeconds": int(event["duration"])} if "duration" in event else {}
    try:
        client("sts").assume_role(RoleArn=event["role"], RoleSessionName="probe", **extra)
    except ClientError as exc:
        return {"code": exc.response["Error"]["Code"], "message": exc.response["Error"]["Message"],
                "status": exc.response["ResponseMetadata"]["HTTPStatusCode"]}
    return {"code": None}
