"""The evidence bucket: the sensor's manifest read back, the report written."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from tapcase_workflow.dal.clients import client

_MISSING = {"NoSuchKey", "404", "NotFound"}


def split_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def read_json(uri: str) -> Any:
    bucket, key = split_uri(uri)
    return json.loads(client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def put_text(bucket: str, key: str, body: str, content_type: str, investigation_id: str) -> str:
    """Store ``body`` (UTF-8) tagged with the investigation in its metadata; its S3 URI."""
    client("s3").put_object(
        Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType=content_type,
        Metadata={"investigation-id": investigation_id},
    )
    return f"s3://{bucket}/{key}"


def complete_manifest_exists(bucket: str, key: str) -> bool:
    """Whether a complete evidence manifest is stored at ``key``."""
    try:
        body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING:
            return False
        raise
    try:
        return bool(json.loads(body).get("complete"))
    except ValueError:
        return False
