"""moto's model tracker holds its models weakly: what a backend forgot is freed, as AWS forgets it.

moto 5.2.5 appends every model it ever creates (``BaseModel.__new__``: each S3 object version,
Athena query execution, EC2 instance and security group, SQS message, DynamoDB item, Step Functions
state machine snapshot...) to its class's ``instances_tracked`` list, for the moto server's
dashboard (``/moto-api/data.json``) and for S3's reset; the list is emptied only when every backend
is reset. So nothing a backend deletes or forgets is ever freed: a deleted queue's messages, a
replaced DynamoDB item, an overwritten object's buffer, the state machine copied for each
execution, and everything the local cloud's own retention bounds (finished executions, Athena's
45 days, terminated instances) stay in memory for the life of ``tapcase local serve``. Measured:
the largest holder of its growth per run (tests/bench, ``local serve`` memory).

Here each class's ``instances_tracked`` is a :class:`WeakTracked`: it keeps weak references, and
iterating it gives the models still alive (what a backend or anything else still holds), which is
all the dashboard shows and all S3's reset disposes of. moto's ``reset_model_data`` replaces it by
a plain list: the next model created puts a :class:`WeakTracked` back.

Fixes ``BaseModel.__new__``; relies on moto reading ``instances_tracked`` only by iterating it
(``moto_api`` responses, ``S3Backend.reset``) and on every tracked model supporting weak references.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from typing import Any

from tapcase.localcloud.patching import Patch, install

BASE_MODEL_NEW = Patch(
    target="moto.core.common_models:BaseModel.__new__",
    fixes="moto's per-class list of every model ever created holds them weakly: a model a backend deleted "
    "or forgot is freed (AWS keeps nothing of it either)",
    relies_on="BaseModel.__new__ only appends the new instance to cls.instances_tracked; moto reads "
    "instances_tracked only by iterating it (moto_api data.json, S3Backend.reset); reset_model_data "
    "assigns a fresh list",
    watch={
        "moto.core.common_models:BaseModel.__new__": "08cf0ef20e88",
        "moto.core.model_instances:reset_model_data": "4a510e716295",
    },
)


class WeakTracked:
    """A list-like of weak references to models: ``append`` and iteration (live models only)."""

    def __init__(self) -> None:
        self._refs: list[weakref.ReferenceType[Any]] = []
        self._lock = threading.Lock()

    def append(self, model: Any) -> None:
        with self._lock:
            if len(self._refs) >= 64 and len(self._refs) & (len(self._refs) - 1) == 0:
                self._refs = [r for r in self._refs if r() is not None]  # prune dead refs now and then
            self._refs.append(weakref.ref(model))

    def __iter__(self) -> Iterator[Any]:
        with self._lock:
            refs = list(self._refs)
        for ref in refs:
            model = ref()
            if model is not None:
                yield model

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _new(cls: Any, *args: Any, **kwargs: Any) -> Any:
    from moto.core.common_models import BaseModel

    instance = super(BaseModel, cls).__new__(cls)
    tracked = cls.__dict__.get("instances_tracked")
    if not isinstance(tracked, WeakTracked):
        tracked = WeakTracked()
        cls.instances_tracked = tracked
    tracked.append(instance)
    return instance


def apply() -> None:
    install(BASE_MODEL_NEW, staticmethod(_new))
