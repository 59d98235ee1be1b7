"""SQS: a queue name cannot be reused for 60 s after its deletion, as on AWS.

"You must wait 60 seconds after deleting a queue before you can create another queue with the
same name" (SQS API reference, CreateQueue errors: ``QueueDeletedRecently``; the same 60 s in
DeleteQueue). moto 5.2.5 forgets a deleted queue at once and lets its name be taken again.

The 60 s are measured on the local cloud's clock (:func:`tapcase.localcloud.timescale.now`):
60 s of workflow time, i.e. ``60 * scale`` real seconds, or at scale 0 the delays the interpreter
skipped (a Retry or Wait of 60 s) plus real time. A name is quarantined per account and region.

Fixes ``SQSBackend.create_queue``/``delete_queue``; relies on moto's SQS answering both through
those backend methods (one backend per account and region, ``queues`` keyed by name) and
serialising an ``SQSException`` with its code for the JSON protocol.
"""

from __future__ import annotations

import threading
from typing import Any

from tapcase.localcloud import timescale

#: Seconds of workflow time a deleted queue's name stays unusable.
QUEUE_NAME_QUARANTINE_SECONDS = 60.0

_lock = threading.Lock()
_applied = False


def _deleted_names(backend: Any) -> dict[str, float]:
    """Queue name -> the clock's time of its deletion, for one account and region."""
    names: dict[str, float] | None = getattr(backend, "_tapcase_deleted_queue_names", None)
    if names is None:
        names = {}
        backend._tapcase_deleted_queue_names = names
    return names


def forget_lapsed(names: dict[str, float], now: float) -> None:
    """Drops the names whose 60 s have passed: the quarantine is all AWS keeps of a deleted queue,
    so a long-running local cloud keeps only the names deleted in the last 60 s (not one per run)."""
    for name in [n for n, at in names.items() if now - at >= QUEUE_NAME_QUARANTINE_SECONDS]:
        names.pop(name, None)


def apply() -> None:
    """Patch moto's SQS backend in this process (idempotent)."""
    global _applied
    with _lock:
        if _applied:
            return
        from moto.sqs.exceptions import SQSException
        from moto.sqs.models import SQSBackend

        class QueueDeletedRecently(SQSException):
            """AWS's error for a name deleted less than 60 s ago (query code of the JSON protocol)."""

            def __init__(self) -> None:
                super().__init__(
                    "AWS.SimpleQueueService.QueueDeletedRecently",
                    "You must wait 60 seconds after deleting a queue before you can create another "
                    "queue with the same name.",
                )

        original_create = SQSBackend.create_queue
        original_delete = SQSBackend.delete_queue

        def create_queue(self: Any, name: str, tags: dict[str, str] | None = None, **kwargs: Any) -> Any:
            if name not in self.queues:
                deleted_at = _deleted_names(self).get(name)
                if deleted_at is not None and timescale.now() - deleted_at < QUEUE_NAME_QUARANTINE_SECONDS:
                    raise QueueDeletedRecently()
            return original_create(self, name, tags, **kwargs)

        def delete_queue(self: Any, queue_name: str) -> None:
            original_delete(self, queue_name)
            now = timescale.now()
            names = _deleted_names(self)
            names[queue_name] = now
            forget_lapsed(names, now)

        SQSBackend.create_queue = create_queue  # type: ignore[method-assign]
        SQSBackend.delete_queue = delete_queue  # type: ignore[method-assign]
        _applied = True
