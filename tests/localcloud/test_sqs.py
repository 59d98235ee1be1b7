"""SQS on the local cloud: a deleted queue's name is refused for 60 s of workflow time.

AWS (SQS API reference, CreateQueue errors and DeleteQueue): "You must wait 60 seconds after
deleting a queue before you can create another queue with the same name" -- QueueDeletedRecently.
moto 5.2.5 let the name be taken again at once (tapcase/localcloud/sqs.py patches moto's
SQSBackend.create_queue/delete_queue, which its CreateQueue/DeleteQueue handlers call).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tapcase.localcloud import timescale
from tapcase.localcloud.cloud import LocalCloud
from tapcase.localcloud.sqs import QUEUE_NAME_QUARANTINE_SECONDS
from tests.localcloud.sfn_support import create_machine, history, output, start, wait_done


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=None, time_scale=0) as local_cloud:
        yield local_cloud


@pytest.fixture
def sqs(cloud: LocalCloud) -> Any:
    return cloud.client("sqs")


def _deleted(sqs: Any) -> str:
    name = f"control-{uuid.uuid4().hex[:8]}"
    sqs.delete_queue(QueueUrl=sqs.create_queue(QueueName=name)["QueueUrl"])
    return name


def test_queue_name_reused_within_60_seconds_is_queue_deleted_recently(sqs: Any) -> None:
    name = _deleted(sqs)
    with pytest.raises(sqs.exceptions.QueueDeletedRecently) as excinfo:
        sqs.create_queue(QueueName=name)
    assert excinfo.value.response["Error"]["Message"].startswith("You must wait 60 seconds after deleting a queue")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert not sqs.list_queues(QueueNamePrefix=name).get("QueueUrls")  # nothing was created
    sqs.create_queue(QueueName=f"{name}-other")  # other names are free


def test_queue_name_is_free_again_after_60_seconds_of_workflow_time(sqs: Any, time_scale: Callable[[float], None]) -> None:
    """At scale 0 a delay of 60 s (Wait, Retry, timescale.sleep) moves the clock past the quarantine."""
    time_scale(0)
    name = _deleted(sqs)
    timescale.sleep(QUEUE_NAME_QUARANTINE_SECONDS - 1)
    with pytest.raises(sqs.exceptions.QueueDeletedRecently):
        sqs.create_queue(QueueName=name)
    timescale.sleep(1)
    assert sqs.create_queue(QueueName=name)["QueueUrl"].endswith(f"/{name}")


def test_quarantine_is_scaled_like_a_delay(sqs: Any, time_scale: Callable[[float], None]) -> None:
    """At scale 0.01, 60 s of AWS time are 0.6 s of real time."""
    time_scale(0.01)
    name = _deleted(sqs)
    with pytest.raises(sqs.exceptions.QueueDeletedRecently):
        sqs.create_queue(QueueName=name)
    time.sleep(0.65)
    sqs.create_queue(QueueName=name)


def test_deleted_names_are_kept_only_for_their_60_seconds(cloud: LocalCloud, sqs: Any,
                                                          time_scale: Callable[[float], None]) -> None:
    """AWS keeps a deleted queue's name unusable for 60 s and nothing after (CreateQueue,
    QueueDeletedRecently): a long-running local cloud that deletes a queue per investigation keeps
    only the names deleted in the last 60 s of workflow time, not one name per run."""
    from moto.sqs.models import sqs_backends

    time_scale(0)
    first = _deleted(sqs)
    timescale.sleep(QUEUE_NAME_QUARANTINE_SECONDS)
    second = _deleted(sqs)  # deleting another queue forgets the names whose 60 s have passed
    kept = sqs_backends[cloud.account_id][cloud.region]._tapcase_deleted_queue_names
    assert first not in kept and second in kept
    assert all(timescale.now() - at < QUEUE_NAME_QUARANTINE_SECONDS for at in kept.values())
    assert sqs.create_queue(QueueName=first)["QueueUrl"].endswith(f"/{first}")  # free, as on AWS
    with pytest.raises(sqs.exceptions.QueueDeletedRecently):
        sqs.create_queue(QueueName=second)


def test_existing_queue_create_stays_idempotent(sqs: Any) -> None:
    name = f"control-{uuid.uuid4().hex[:8]}"
    first = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == first


def test_state_machine_sees_queue_deleted_recently_and_a_60_second_retry_succeeds(
    cloud: LocalCloud, sqs: Any, time_scale: Callable[[float], None]
) -> None:
    """Through CreateControlQueue's integration (aws-sdk:sqs:createQueue): the error is
    Sqs.QueueDeletedRecentlyException (the SDK's modeled exception), and the documented remedy,
    waiting 60 s, works: at scale 0.05 the quarantine and the Retry interval are 3 real seconds
    (at scale 0 any other execution's skipped delay would move the shared clock past the 60 s)."""
    time_scale(0.05)
    name = _deleted(sqs)
    sfn = cloud.client("stepfunctions")
    create = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:sqs:createQueue",
        "Parameters": {"QueueName.$": "$.name"},
        "Retry": [{"ErrorEquals": ["Sqs.QueueDeletedRecentlyException"], "IntervalSeconds": 60, "MaxAttempts": 1}],
        "End": True,
    }
    machine_arn = create_machine(sfn, {"StartAt": "CreateControlQueue", "States": {"CreateControlQueue": create}})
    described = wait_done(sfn, start(sfn, machine_arn, f"q-{uuid.uuid4().hex[:8]}", {"name": name}))
    assert output(described)["QueueUrl"].endswith(f"/{name}")
    failed = [e for e in history(sfn, described["executionArn"]) if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failed] == ["Sqs.QueueDeletedRecentlyException"]
