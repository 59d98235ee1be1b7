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


def presign(uri: str, seconds: int) -> str:
    """A pre-signed GET URL of an object (valid ``seconds``, at most until the signing role's
    session ends: S3 user guide, "Sharing objects with presigned URLs")."""
    bucket, key = split_uri(uri)
    return str(client("s3").generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                                   ExpiresIn=seconds))


def object_sizes(bucket: str, prefix: str) -> dict[str, int]:
    """Every object under ``prefix`` with its size (current versions)."""
    out: dict[str, int] = {}
    for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            out[str(obj["Key"])] = int(obj["Size"])
    return out


def sub_prefixes(bucket: str, prefix: str) -> list[str]:
    """The "folders" right under ``prefix`` (ListObjectsV2 with Delimiter ``/``)."""
    out: list[str] = []
    for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        out.extend(str(p["Prefix"]) for p in page.get("CommonPrefixes", []))
    return out


def sha256_of(bucket: str, key: str, chunk: int = 1 << 20) -> str:
    """The sha256 of an object's bytes, read back in chunks (never held whole in memory)."""
    import hashlib

    digest = hashlib.sha256()
    body = client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    for block in iter(lambda: body.read(chunk), b""):
        digest.update(block)
    return digest.hexdigest()


def read_json_object(bucket: str, key: str) -> Any | None:
    """The JSON document at ``key``, None when there is none."""
    try:
        body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING:
            return None
        raise
    try:
        return json.loads(body)
    except ValueError:
        return None
