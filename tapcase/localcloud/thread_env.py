"""Environment variables of one thread: a function run in-process sees its own, nobody else does.

On AWS each Lambda function runs in an environment of its own. Locally the handlers run in this
process, whose ``os.environ`` every thread shares: setting a function's variables there for the
duration of a call, and removing them afterwards, made other threads (the test or CLI creating
boto3 clients, local sensors) read a half-changed environment — measured: ``KeyError:
'LOCK_TABLE'`` inside botocore's proxy lookup while an asynchronously invoked janitor finished.

:func:`overlay` gives the calling thread its variables on top of the process's: ``os.environ``
(and so ``os.getenv``, pydantic settings, botocore) answers them in that thread only, and the
process's environment is never changed. Not seen through the overlay: subprocesses (they inherit
the process's C-level environment; no handler starts one).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_local = threading.local()
_lock = threading.Lock()


def _current() -> dict[str, str] | None:
    env: dict[str, str] | None = getattr(_local, "env", None)
    return env


class _ThreadEnviron(os._Environ):
    """``os.environ`` with the calling thread's overlay on top."""

    def __getitem__(self, key: str) -> str:
        overlay = _current()
        if overlay is not None and key in overlay:
            return overlay[key]
        value: str = super().__getitem__(key)
        return value

    def __iter__(self) -> Iterator[str]:
        keys = list(super().__iter__())
        overlay = _current()
        if overlay:
            seen = set(keys)
            keys += [k for k in overlay if k not in seen]
        return iter(keys)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def install() -> None:
    """Make ``os.environ`` thread-aware (idempotent; the same object, so every holder sees it)."""
    with _lock:
        if type(os.environ) is os._Environ:
            os.environ.__class__ = _ThreadEnviron


@contextmanager
def overlay(env: dict[str, str]) -> Iterator[None]:
    """``env`` on top of the process's environment, in the calling thread only, while inside."""
    install()
    previous = _current()
    _local.env = {**(previous or {}), **env}
    try:
        yield
    finally:
        _local.env = previous
