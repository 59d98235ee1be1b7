"""The local cloud's clock for Wait states and Retry intervals.

moto's ASL interpreter really sleeps. Locally every such sleep goes through :func:`sleep`, which
multiplies the requested seconds by a process-wide scale: 1.0 is real time, 0.01 turns a
10-minute capture window into 6 seconds, 0 does not sleep at all.
"""

from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_scale = float(os.environ.get("TAPCASE_TIME_SCALE", "1.0"))


def get_scale() -> float:
    return _scale


def set_scale(scale: float) -> None:
    global _scale
    if scale < 0:
        raise ValueError(f"time scale must be >= 0, got {scale}")
    with _lock:
        _scale = float(scale)


def scaled(seconds: float) -> float:
    """Seconds of real time that ``seconds`` of workflow time take."""
    return max(0.0, float(seconds)) * _scale


def sleep(seconds: float) -> None:
    real = scaled(seconds)
    if real > 0:
        time.sleep(real)
