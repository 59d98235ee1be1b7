"""Evidence uploads: each object created once, its bytes checked by S3 against the manifest.

* The uploads are signed with the investigation's upload credentials (:func:`upload_client`,
  :mod:`tapcase_contract.upload_access`): they reach that investigation's prefixes only.
* ``If-None-Match: *`` (S3 conditional writes): an upload never replaces an object. The bucket
  policy denies the upload credentials any PutObject/CompleteMultipartUpload without it, so no
  sensor can overwrite evidence, even its own. An object already there (a repeated
  ``CollectEvidence``) answers 412 and is left as it is; the workflow's VerifyEvidence compares
  it with the manifest anyway.
* ``x-amz-checksum-sha256``: S3 computes the SHA-256 of what it received and refuses the upload
  (``BadDigest``) when it differs from the manifest's value: the evidence is verified as it
  arrives. Above 5 GiB (the largest single PutObject) a multipart upload checks each part's
  SHA-256 instead, and VerifyEvidence checks the whole object.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from tapcase_contract.upload_access import UploadCredentials

#: "Upload an object in a single operation ... up to 5 GB" (S3 PutObject).
SINGLE_PUT_MAX = 5 * 1024**3
#: Parts of larger uploads (10,000 parts at most: up to 640 GiB).
PART_SIZE = 64 * 1024**2
_EXISTS = {"PreconditionFailed", "412"}


def sha256_b64(hex_digest: str) -> str:
    """A hex SHA-256 as S3's ``ChecksumSHA256`` (base64 of the 32 bytes)."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def upload_client(credentials: UploadCredentials, options: dict[str, Any]) -> Any:
    """An S3 client signing with an investigation's upload credentials (``options``: region,
    endpoint, botocore config of ``boto3.session.Session.client``)."""
    import boto3

    return boto3.session.Session().client(
        "s3",
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
        **options,
    )


def _already_there(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in _EXISTS


def put_bytes(s3: Any, bucket: str, key: str, body: bytes, sha256_hex: str, **extra: Any) -> bool:
    """Create ``key`` from ``body``; False when an object was already there."""
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ChecksumSHA256=sha256_b64(sha256_hex), IfNoneMatch="*",
                      **extra)
    except ClientError as exc:
        if _already_there(exc):
            return False
        raise
    return True


def put_file(s3: Any, bucket: str, key: str, path: Path, sha256_hex: str, **extra: Any) -> bool:
    """Create ``key`` from the file at ``path`` (whose SHA-256 is ``sha256_hex``); False when an
    object was already there."""
    if path.stat().st_size <= SINGLE_PUT_MAX:
        try:
            with path.open("rb") as body:
                s3.put_object(Bucket=bucket, Key=key, Body=body, ChecksumSHA256=sha256_b64(sha256_hex),
                              IfNoneMatch="*", **extra)
        except ClientError as exc:
            if _already_there(exc):
                return False
            raise
        return True
    return _put_multipart(s3, bucket, key, path, **extra)


def _put_multipart(s3: Any, bucket: str, key: str, path: Path, **extra: Any) -> bool:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256", **extra)["UploadId"]
    try:
        parts = []
        with path.open("rb") as fh:
            for number, chunk in enumerate(iter(lambda: fh.read(PART_SIZE), b""), start=1):
                answer = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=chunk,
                                        ChecksumAlgorithm="SHA256")
                parts.append({"PartNumber": number, "ETag": answer["ETag"],
                              "ChecksumSHA256": answer.get("ChecksumSHA256")})
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts},
                                     IfNoneMatch="*")
    except ClientError as exc:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
        if _already_there(exc):
            return False
        raise
    except BaseException:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
        raise
    return True
