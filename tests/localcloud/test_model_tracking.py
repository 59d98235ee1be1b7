"""moto's model tracker holds models weakly (tapcase/localcloud/model_tracking.py).

AWS keeps nothing of what is deleted: DeleteQueue deletes "the queue [...] and the messages in it"
(SQS API reference, DeleteQueue); an overwritten S3 object of an unversioned bucket is replaced
(S3 User Guide, PutObject). moto 5.2.5 kept every model it ever created in a class-level list, so a
long-running local cloud never freed any of them.
"""

from __future__ import annotations

import gc
import json
import urllib.request
from collections.abc import Iterator

import pytest

from tapcase.localcloud.cloud import LocalCloud
from tapcase.localcloud.model_tracking import WeakTracked


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=None, time_scale=0) as local_cloud:
        yield local_cloud


def _alive(model_class: type) -> int:
    gc.collect()
    tracked = model_class.instances_tracked  # type: ignore[attr-defined]
    assert isinstance(tracked, WeakTracked)
    return len(tracked)


def test_a_deleted_queues_messages_and_an_overwritten_object_are_freed(cloud: LocalCloud) -> None:
    from moto.s3.models import FakeKey
    from moto.sqs.models import Message

    sqs, s3 = cloud.client("sqs"), cloud.client("s3")
    queue = sqs.create_queue(QueueName="tracking")["QueueUrl"]
    for index in range(5):
        sqs.send_message(QueueUrl=queue, MessageBody=f"m{index}")
    s3.create_bucket(Bucket="tracking")
    s3.put_object(Bucket="tracking", Key="k", Body=b"first")
    messages, keys = _alive(Message), _alive(FakeKey)
    sqs.delete_queue(QueueUrl=queue)
    s3.put_object(Bucket="tracking", Key="k", Body=b"second")  # replaces the first (unversioned bucket)
    assert _alive(Message) == messages - 5
    assert _alive(FakeKey) == keys  # the new version in, the replaced one freed
    assert s3.get_object(Bucket="tracking", Key="k")["Body"].read() == b"second"


def test_the_moto_dashboard_still_lists_the_live_models(cloud: LocalCloud) -> None:
    cloud.client("s3").create_bucket(Bucket="dashboard")
    with urllib.request.urlopen(f"{cloud.endpoint}/moto-api/data.json") as response:
        data = json.loads(response.read())
    assert any(bucket.get("name") == "dashboard" for bucket in data["s3"]["FakeBucket"])
