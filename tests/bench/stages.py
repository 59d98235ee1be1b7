"""Stage timers for the benchmarks (not a test): wrap functions of this process and add up their time.

:class:`Timers` replaces ``owner.attr`` with a wrapper that records every call's wall time under a
stage name (thread-safe; concurrent calls are recorded apart and also as the union of their
intervals, so that five queries running at once count their shared second once). Used by the
pipeline and orchestration benchmarks on the real code paths: nothing is stubbed, the wrapper only
reads the clock around the call.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class Timers:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.intervals: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, attr: str, stage: str | Callable[..., str]) -> None:
        """Time every call of ``owner.attr`` under ``stage`` (or ``stage(*args, **kwargs)``)."""
        original = getattr(owner, attr)
        timers = self

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            name = stage(*args, **kwargs) if callable(stage) else stage
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                timers.add(name, began, time.perf_counter())

        self._undo.append((owner, attr, owner.__dict__.get(attr, original) if isinstance(owner, type) else original))
        setattr(owner, attr, timed)

    def add(self, stage: str, began: float, ended: float) -> None:
        with self._lock:
            self.intervals[stage].append((began, ended))

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, began, time.perf_counter())

    def restore(self) -> None:
        for owner, attr, original in reversed(self._undo):
            setattr(owner, attr, original)
        self._undo.clear()

    def total(self, stage: str) -> float:
        """Sum of the calls' durations."""
        return sum(end - begin for begin, end in self.intervals.get(stage, []))

    def wall(self, stage: str) -> float:
        """Union of the calls' intervals (concurrent calls counted once)."""
        spans = sorted(self.intervals.get(stage, []))
        total, current_begin, current_end = 0.0, None, None
        for begin, end in spans:
            if current_end is None or begin > current_end:
                if current_end is not None:
                    total += current_end - current_begin  # type: ignore[operator]
                current_begin, current_end = begin, end
            else:
                current_end = max(current_end, end)
        if current_end is not None:
            total += current_end - current_begin  # type: ignore[operator]
        return total

    def count(self, stage: str) -> int:
        return len(self.intervals.get(stage, []))

    def summary(self) -> dict[str, dict[str, float]]:
        return {name: {"seconds": round(self.wall(name), 4), "calls": self.count(name),
                       "sum_seconds": round(self.total(name), 4)} for name in sorted(self.intervals)}


def state_durations(history: list[dict[str, Any]]) -> dict[str, float]:
    """Wall seconds of each top-level state of an execution (first entered -> last exited), from
    its history (the events' timestamps), plus ``execution`` (first -> last event)."""
    if not history:
        return {}
    first_seen: dict[str, float] = {}
    last_exit: dict[str, float] = {}
    start = history[0]["timestamp"]
    for event in history:
        at = (event["timestamp"] - start).total_seconds()
        if event["type"].endswith("StateEntered"):
            first_seen.setdefault(event["stateEnteredEventDetails"]["name"], at)
        elif event["type"].endswith("StateExited"):
            last_exit[event["stateExitedEventDetails"]["name"]] = at
    out = {name: round(last_exit[name] - began, 4) for name, began in first_seen.items() if name in last_exit}
    out["execution"] = round((history[-1]["timestamp"] - start).total_seconds(), 4)
    return out
