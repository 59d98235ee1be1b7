"""Evidence bucket and report topic access."""

from __future__ import annotations

import json
from typing import Any

from tapcase_workflow.dal.clients import client


def split_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def read_json(uri: str) -> Any:
    bucket, key = split_uri(uri)
    return json.loads(client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def put(bucket: str, key: str, body: str, content_type: str, investigation_id: str) -> str:
    client("s3").put_object(
        Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType=content_type,
        Metadata={"investigation-id": investigation_id},
    )
    return f"s3://{bucket}/{key}"


def publish(topic_arn: str, subject: str, message: str) -> str:
    return str(client("sns").publish(TopicArn=topic_arn, Subject=subject[:100], Message=message)["MessageId"])


def complete_manifest_exists(bucket: str, key: str) -> bool:
    """Whether a complete evidence manifest is stored at ``key``."""
    from botocore.exceptions import ClientError

    try:
        body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
            return False
        raise
    try:
        return bool(json.loads(body).get("complete"))
    except ValueError:
        return False
