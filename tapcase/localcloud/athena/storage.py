"""The local S3 as the engine reads and writes it: moto's in-process S3 backend, used directly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from tapcase.localcloud.athena.failures import QueryFailure

#: The moto S3 code this module relies on, with its fingerprints (``tapcase.localcloud.patching``):
#: buckets by name, their ``keys`` by name (``FakeKey`` with ``value`` and ``size``),
#: ``get_object``/``put_object``. Watched by :data:`tapcase.localcloud.athena.api.START`.
MOTO_S3: Final[dict[str, str]] = {
    "moto.s3.models:S3Backend.get_bucket": "f2a393d4b1bb",
    "moto.s3.models:S3Backend.get_object": "a80723978ebb",
    "moto.s3.models:S3Backend.put_object": "db803f2da9d7",
    "moto.s3.models:FakeBucket.__init__": "8965d4badfee",
    "moto.s3.models:FakeKey.value.fget": "5e9a53c3d82c",
    "moto.s3.models:FakeKey.size.fget": "e1319453344e",
}


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` → ``(bucket, prefix)``."""
    if not url.lower().startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    rest = url[5:]
    bucket, _, key = rest.partition("/")
    return bucket, key


class S3Store:
    """The local S3 (moto's in-process backend), read and written directly."""

    def __init__(self, account_id: str, region: str) -> None:
        from moto.s3.models import s3_backends
        from moto.utilities.utils import get_partition

        self._backend = s3_backends[account_id][get_partition(region)]

    def _bucket(self, name: str) -> Any | None:
        from moto.s3.exceptions import MissingBucket

        try:
            return self._backend.get_bucket(name)
        except MissingBucket:
            return None

    def list(self, url: str) -> list[S3Object]:
        """Objects under an ``s3://bucket/prefix``, in key order (none if the bucket is missing)."""
        from moto.s3.models import FakeKey

        bucket_name, prefix = split_s3_url(url)
        bucket = self._bucket(bucket_name)
        if bucket is None:
            return []
        found = [
            S3Object(bucket_name, name, int(key.size))
            for name, key in list(bucket.keys.items())
            if name.startswith(prefix) and isinstance(key, FakeKey)
        ]
        return sorted(found, key=lambda o: o.key)

    def read(self, obj: S3Object) -> bytes:
        key = self._backend.get_object(obj.bucket, obj.key)
        if key is None:
            raise QueryFailure(f"HIVE_CANNOT_OPEN_SPLIT: s3://{obj.bucket}/{obj.key} disappeared")
        return bytes(key.value)

    def write(self, url: str, data: bytes) -> None:
        bucket_name, key = split_s3_url(url)
        if self._bucket(bucket_name) is None:
            # Athena's message when the result bucket does not exist.
            raise QueryFailure(f"Unable to verify/create output bucket {bucket_name}")
        self._backend.put_object(bucket_name, key, data)
