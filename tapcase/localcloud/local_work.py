"""Local work: the time this machine computes for a task does not run down that task's deadline.

On AWS a sensor is an instance of its own: the seconds its engines, curation and upload take are
its own CPU's, whatever else runs in the account, and a Task's ``TimeoutSeconds`` is measured
against them in real time. Locally every sensor (and every in-process service) shares this
machine's cores, and deadlines are scaled (:mod:`tapcase.localcloud.timescale`: 1800 s at scale
0.01 are 18 s of real time) while computing is not: ten Suricata runs on two cores take longer
than one, and a scaled deadline would turn load into ``States.Timeout`` failures AWS would never
give. So a deadline counts only the time nobody on this machine was computing for its task:

- the local sensor marks the time it handles a control message as work for the message's task
  token (:func:`computing_for`; :mod:`tapcase.localcloud.sensors`);
- a Task's ``TimeoutSeconds``, a ``.waitForTaskToken`` wait and ``HeartbeatSeconds`` wait through
  :func:`wait`: they expire once the *idle* real time (elapsed minus the work for the task's token
  in that window) reaches ``timescale.scaled_timeout(declared)``;
- and never later than the declared seconds in real time, whatever the work: a local sensor is
  never given more time than AWS gives a sensor, and a sensor that hangs while "working" still
  times out.

A sensor that never answers, or answers late after doing nothing, times out exactly as before:
its waiting time is idle time. Only the work of the task's own sensor is excluded, never another
investigation's: each deadline is keyed by its own task token.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tapcase.localcloud import timescale

#: Tokens whose work is remembered (oldest forgotten first): bounded, whatever the number of runs.
MAX_KEYS = 4096
#: Shortest real wait between two looks at a deadline while its task is being worked for.
POLL_SECONDS = 0.02


@dataclass
class _Work:
    intervals: list[tuple[float, float]] = field(default_factory=list)  # ended (start, end)
    active: int = 0
    since: float = 0.0  # start of the current work, when active


_lock = threading.Lock()
_work: OrderedDict[str, _Work] = OrderedDict()


def _entry(key: str) -> _Work:
    work = _work.get(key)
    if work is None:
        work = _work[key] = _Work()
        while len(_work) > MAX_KEYS:
            _work.popitem(last=False)
    else:
        _work.move_to_end(key)
    return work


@contextmanager
def computing_for(key: str | None) -> Iterator[None]:
    """Marks the time inside the block as this machine computing for the task of ``key`` (a task token)."""
    if not key:
        yield
        return
    with _lock:
        work = _entry(key)
        if work.active == 0:
            work.since = time.monotonic()
        work.active += 1
    try:
        yield
    finally:
        with _lock:
            work = _entry(key)
            work.active -= 1
            if work.active == 0:
                work.intervals.append((work.since, time.monotonic()))


def busy_since(key: str | None, start: float) -> tuple[float, bool]:
    """(seconds of work for ``key`` since ``start`` (time.monotonic()), whether work is going on)."""
    if not key:
        return 0.0, False
    now = time.monotonic()
    with _lock:
        work = _work.get(key)
        if work is None:
            return 0.0, False
        total = sum(max(0.0, end - max(begin, start)) for begin, end in work.intervals)
        if work.active:
            total += max(0.0, now - max(work.since, start))
        return total, bool(work.active)


def forget(key: str) -> None:
    with _lock:
        _work.pop(key, None)


def tracked() -> int:
    """How many keys are remembered (bounded by :data:`MAX_KEYS`)."""
    with _lock:
        return len(_work)


def wait(event: threading.Event, declared_seconds: float, key: str | Callable[[], str | None] | None) -> bool:
    """Wait for ``event`` against a deadline of ``declared_seconds`` of workflow time (see the module
    docstring); ``key`` is the task token, or a function giving it once it exists. True if the
    event was set before the deadline."""
    budget = timescale.scaled_timeout(declared_seconds)
    cap = max(budget, float(declared_seconds))
    start = time.monotonic()
    while True:
        token = key() if callable(key) else key
        elapsed = time.monotonic() - start
        busy, working = busy_since(token, start)
        idle = elapsed - busy
        if idle >= budget or elapsed >= cap:
            return event.is_set()
        remaining = min(budget - idle, cap - elapsed)
        if working:
            remaining = max(remaining, POLL_SECONDS)
        if event.wait(remaining):
            return True
