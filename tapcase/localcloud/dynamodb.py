"""DynamoDB: a conditional write is atomic, as on AWS.

"Conditional writes ... succeed only if the item attributes meet one or more expected conditions"
and DynamoDB applies each such write atomically: of two concurrent conditional puts of one item
(``attribute_not_exists``), exactly one succeeds and the other fails with
``ConditionalCheckFailedException``. moto 5.2.5 checks the condition and then writes, with no lock,
while the local cloud serves requests on many threads: both writers can pass the check. The lock
taken here around moto's ``PutItem``, ``UpdateItem``, ``DeleteItem`` and ``TransactWriteItems``
makes check-and-write one step again (the workflow's Lock and Admit states rely on it).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_write_lock = threading.RLock()
_applied = False
_apply_lock = threading.Lock()

WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


def apply() -> None:
    """Serialise moto's DynamoDB writes in this process (idempotent)."""
    global _applied
    with _apply_lock:
        if _applied:
            return
        from moto.dynamodb.models import DynamoDBBackend

        for name in WRITES:
            original = getattr(DynamoDBBackend, name)

            @functools.wraps(original)
            def atomic(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
                with _write_lock:
                    return _original(self, *args, **kwargs)

            setattr(DynamoDBBackend, name, atomic)
        _applied = True
