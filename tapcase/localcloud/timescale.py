"""The local cloud's clock: how long workflow time takes in real time.

moto's ASL interpreter really waits. Locally every such wait goes through this module, which
applies a process-wide scale (``LocalCloud(time_scale=...)`` or ``TAPCASE_TIME_SCALE``):
1.0 is real time, 0.01 turns a 10-minute capture window into 6 seconds.

Two kinds of waits follow two rules:

- **Delays** -- Wait states (``Seconds``, ``SecondsPath``, ``Timestamp``, ``TimestampPath``) and
  Retry intervals (after ``IntervalSeconds``, ``BackoffRate``, ``MaxDelaySeconds`` and
  ``JitterStrategy`` are applied): :func:`sleep` waits ``seconds * scale``. Scale 0 does not
  wait at all.
- **Deadlines** -- ``TimeoutSeconds``/``TimeoutSecondsPath`` and ``HeartbeatSeconds`` of Task
  states, and a state machine's top-level ``TimeoutSeconds``: :func:`scaled_timeout` gives
  ``max(seconds * scale, min(seconds, TIMEOUT_FLOOR_SECONDS))``. A deadline is never shorter
  than the floor (1 s of real time, or the declared value if that is smaller), so that at
  scale 0 a Task that does real work in this process (a Lambda handler, a DuckDB query) is
  not timed out before it could answer, while a 900 s timeout at scale 0.01 fires after 9 s.
  A Task without ``TimeoutSeconds`` (99999999 s) has no deadline at any scale.

The execution history keeps the declared values (``timeoutInSeconds``, ``heartbeatInSeconds``);
only the real waiting is scaled. Polling that is not workflow time (the interpreter checking a
``.sync`` task's status) is not scaled.

**The clock** -- :func:`now` is the local cloud's clock in seconds of workflow time, for rules AWS
states in time (SQS refuses a queue name for 60 s after its deletion: ``QueueDeletedRecently``).
Such a rule is a delay on AWS's side, so it follows the delay rule: at scale ``s > 0`` the clock
runs ``1/s`` times as fast as real time (60 s of AWS time are ``60 * s`` real seconds, and a
Retry that waits 60 s of workflow time always sees them pass). At scale 0, where delays take no
real time, the clock runs at real speed and every delay the interpreter skips moves it forward by
the delay's declared length: a workflow that waits 60 s before reusing a queue name succeeds, one
that does not is refused. The clock is one for the whole cloud, so at scale 0 the skipped delays
of concurrent executions all move it: it may run ahead of an execution's own workflow time, never
behind -- a timed rule may lapse early under concurrency, it never holds longer than on AWS.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

#: Smallest real time, in seconds, a Task/heartbeat/execution deadline is given (see module doc).
TIMEOUT_FLOOR_SECONDS = 1.0

_lock = threading.Lock()
_scale = float(os.environ.get("TAPCASE_TIME_SCALE", "1.0"))
# The clock: workflow seconds counted up to _clock_anchor (time.monotonic()), then the rate of _scale.
_clock_offset = 0.0
_clock_anchor = time.monotonic()


def get_scale() -> float:
    return _scale


def set_scale(scale: float) -> None:
    global _scale, _clock_offset, _clock_anchor
    if scale < 0:
        raise ValueError(f"time scale must be >= 0, got {scale}")
    with _lock:
        _clock_offset, _clock_anchor = _now_locked(), time.monotonic()
        _scale = float(scale)


def _now_locked() -> float:
    elapsed = time.monotonic() - _clock_anchor
    return _clock_offset + (elapsed / _scale if _scale > 0 else elapsed)


def now() -> float:
    """The local cloud's clock: seconds of workflow time since this process started (see above)."""
    with _lock:
        return _now_locked()


def _advance_to(moment: float) -> None:
    """Moves the clock forward to ``moment`` (workflow seconds) if it is not there yet."""
    global _clock_offset
    with _lock:
        behind = moment - _now_locked()
        if behind > 0:
            _clock_offset += behind


def scaled(seconds: float) -> float:
    """Seconds of real time that a delay of ``seconds`` of workflow time takes."""
    return max(0.0, float(seconds)) * _scale


def scaled_timeout(seconds: float) -> float:
    """Seconds of real time after which a deadline of ``seconds`` of workflow time expires."""
    declared = max(0.0, float(seconds))
    return max(declared * _scale, min(declared, TIMEOUT_FLOOR_SECONDS))


def sleep(
    seconds: float,
    *,
    wake: threading.Event | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> None:
    """Wait a delay of ``seconds`` of workflow time (``seconds * scale`` of real time).

    ``wake``, an event set when something may have changed, cuts the current wait short so that
    ``cancelled()`` is asked again; the sleep ends early only when ``cancelled()`` is true. A
    sleep that was not cancelled leaves the clock (:func:`now`) at least ``seconds`` later than
    where it started.
    """
    started = now()
    deadline = time.monotonic() + scaled(seconds)
    while cancelled is None or not cancelled():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            _advance_to(started + max(0.0, float(seconds)))
            return
        if wake is None:
            time.sleep(remaining)
        else:
            wake.wait(remaining)
