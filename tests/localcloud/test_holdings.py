"""``GET /_tapcase/holdings``: what a long-running local cloud holds, per holder (tapcase/localcloud/holdings.py).

Not an AWS API: the count of records AWS would keep too (S3 object versions of a versioned bucket
-- S3 User Guide, versioning: every version is kept until deleted or expired -- EC2 instances,
SQS messages) and the deep size of each holder, to tell which one grows with each run.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tapcase.localcloud.cloud import LocalCloud


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=None, time_scale=0) as local_cloud:
        yield local_cloud


def _holdings(cloud: LocalCloud, sizes: bool) -> dict[str, Any]:
    with urllib.request.urlopen(f"{cloud.endpoint}/_tapcase/holdings{'?sizes=1' if sizes else ''}") as response:
        return dict(json.loads(response.read()))


def test_holdings_count_every_version_and_size_what_each_holder_keeps(cloud: LocalCloud) -> None:
    before = _holdings(cloud, sizes=True)
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="holdings")
    s3.put_bucket_versioning(Bucket="holdings", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="holdings", Key="report.json", Body=b"x" * 1000)
    s3.put_object(Bucket="holdings", Key="report.json", Body=b"y" * 3000)  # the first version is kept
    queue = cloud.client("sqs").create_queue(QueueName="holdings")["QueueUrl"]
    cloud.client("sqs").send_message(QueueUrl=queue, MessageBody="m")

    after = _holdings(cloud, sizes=True)
    versions = after["s3 object versions"]
    assert versions["count"] - before["s3 object versions"]["count"] == 2
    assert versions["data_bytes"] - before["s3 object versions"]["data_bytes"] == 4000
    assert versions["bytes"] - before["s3 object versions"]["bytes"] >= 4000  # the data and its records
    assert after["sqs messages"]["count"] == before["sqs messages"]["count"] + 1
    assert after["threads"]["count"] >= 1 and after["threads"]["bytes"] is None
    assert all(isinstance(h["bytes"], int) for name, h in after.items() if name not in (
        "mirror session ledger", "threads", "moto interpreter threads", "api call counter"))
    assert _holdings(cloud, sizes=False)["s3 object versions"]["bytes"] is None  # sizes only when asked


def test_the_allocator_free_heap_is_measured_over_every_arena() -> None:
    """Memory freed by the process but kept by glibc's malloc for reuse stays resident: measured
    over all arenas (malloc_info(3); each thread may allocate from its own), so that a growth of
    resident memory can be told apart from records the process holds."""
    import threading

    from tapcase.localcloud.holdings import allocator_heap

    before = allocator_heap()
    assert before is not None and before["arenas"] >= 1 and 0 <= before["free_bytes"] <= before["system_bytes"]

    seen: dict[str, int] = {}

    def churn() -> None:
        blocks = [bytearray(2048) for _ in range(4000)]
        start = allocator_heap()
        del blocks[::2]  # 2000 blocks freed, interleaved with live ones: the allocator keeps them
        held = allocator_heap()
        assert start is not None and held is not None
        seen["freed_kept"] = held["free_bytes"] - start["free_bytes"]
        del blocks

    worker = threading.Thread(target=churn)
    worker.start()
    worker.join()
    # about 2000 x 2 KB were freed and kept in the thread's arena while their neighbours lived
    assert seen["freed_kept"] >= 2000 * 2048 // 2, seen
