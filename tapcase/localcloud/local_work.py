"""Local work: while this machine computes for the cloud, workflow deadlines stand still.

On AWS every sensor is an instance of its own, every Lambda invocation and every Athena query runs
on capacity of its own, and a Task's ``TimeoutSeconds`` is measured against work that never waits
for anybody else's. Locally they all share this machine's cores (and one Python interpreter), and
deadlines are scaled (:mod:`tapcase.localcloud.timescale`: 1800 s at scale 0.01 are 18 s of real
time, at scale 0 one second) while computing is not: ten Suricata runs on two cores take longer
than one, and every message between the workflow and a sensor waits its turn behind them. A
scaled deadline would turn load into ``States.Timeout`` failures AWS would never give (measured:
10 investigations at once on one ``local serve`` at scale 0.01, 4 of them FAILED).

So the local cloud's deadlines count only the time it waits on nothing local:

- the work it does for the workflow is marked with :func:`computing` -- a local sensor handling a
  control message (its engines, curation, upload: :mod:`tapcase.localcloud.sensors`), a Lambda
  handler running in-process (:mod:`tapcase.localcloud.lambda_runtime`), an Athena query on the
  local engine (:mod:`tapcase.localcloud.athena.api`);
- a Task's ``TimeoutSeconds``, a ``.waitForTaskToken`` wait and ``HeartbeatSeconds`` wait through
  :func:`wait` (:mod:`tapcase.localcloud.sfn.deadlines`): they expire once the *idle* real time
  (elapsed, minus the time any local work was going on) reaches
  ``timescale.scaled_timeout(declared)``;
- and never later than the declared seconds in real time, whatever the work: a task is never
  given more time locally than AWS gives it, and a sensor that hangs while "working" still times
  out.

What stays faithful: a sensor that never answers, or a task nobody works for, times out as
before, after the scaled deadline of idle time. Under load a deadline is reached later in real
time than its scaled value, never sooner: as if the cloud's clock slowed down while the machine
is saturated, which is what the local cloud (everything on one machine) is, while AWS's services
are not.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from tapcase.localcloud import timescale

#: Shortest real wait between two looks at a deadline while local work goes on.
POLL_SECONDS = 0.02

_lock = threading.Lock()
_active = 0
_since = 0.0  # start of the current busy period (when _active > 0)
_accumulated = 0.0  # busy seconds of the ended busy periods
_by_kind: defaultdict[str, float] = defaultdict(float)  # seconds of work per kind (diagnostics, benchmarks)


def busy_total(now: float | None = None) -> float:
    """Seconds of real time (since the process started) during which some local work went on."""
    now = time.monotonic() if now is None else now
    with _lock:
        return _accumulated + (now - _since if _active else 0.0)


def busy() -> bool:
    with _lock:
        return _active > 0


@contextmanager
def computing(kind: str = "work") -> Iterator[None]:
    """Marks the block as this machine computing for the cloud (``kind``: for :func:`work_by_kind`)."""
    global _active, _since, _accumulated
    began = time.monotonic()
    with _lock:
        if _active == 0:
            _since = began
        _active += 1
    try:
        yield
    finally:
        ended = time.monotonic()
        with _lock:
            _active -= 1
            if _active == 0:
                _accumulated += ended - _since
            _by_kind[kind] += ended - began


def work_by_kind() -> dict[str, float]:
    """Seconds of local work per kind (concurrent work is counted for each)."""
    with _lock:
        return dict(_by_kind)


def wait(event: threading.Event, declared_seconds: float) -> bool:
    """Wait for ``event`` against a deadline of ``declared_seconds`` of workflow time (see the module
    docstring). True if the event was set before the deadline."""
    budget = timescale.scaled_timeout(declared_seconds)
    cap = max(budget, float(declared_seconds))
    start = time.monotonic()
    busy_at_start = busy_total(start)
    while True:
        now = time.monotonic()
        elapsed = now - start
        idle = elapsed - (busy_total(now) - busy_at_start)
        if idle >= budget or elapsed >= cap:
            return event.is_set()
        remaining = min(budget - idle, cap - elapsed)
        if busy():
            remaining = max(remaining, POLL_SECONDS)
        if event.wait(remaining):
            return True
