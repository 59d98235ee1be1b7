"""The local cloud's clock (tapcase.localcloud.timescale.now): workflow time for AWS's timed rules."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tapcase.localcloud import timescale


@pytest.fixture(autouse=True)
def saved_scale() -> Iterator[None]:
    saved = timescale.get_scale()
    yield
    timescale.set_scale(saved)


def test_clock_runs_one_over_scale_times_real_speed() -> None:
    timescale.set_scale(0.01)
    before = timescale.now()
    time.sleep(0.05)
    assert 4.5 <= timescale.now() - before < 20


def test_clock_at_scale_zero_runs_at_real_speed_and_jumps_by_skipped_delays() -> None:
    timescale.set_scale(0)
    before = timescale.now()
    timescale.sleep(600)
    assert 600 <= timescale.now() - before < 601


def test_clock_never_runs_behind_the_delays_of_an_execution() -> None:
    """Delays one after another add up; other threads' delays can only move the clock further."""
    timescale.set_scale(0)
    before = timescale.now()
    timescale.sleep(30)
    other = threading.Thread(target=timescale.sleep, args=(45,))
    other.start()
    other.join()
    timescale.sleep(30)
    assert timescale.now() - before >= 60


def test_cancelled_delay_does_not_move_the_clock() -> None:
    timescale.set_scale(0)
    before = timescale.now()
    timescale.sleep(600, cancelled=lambda: True)
    assert timescale.now() - before < 1


def test_changing_the_scale_keeps_the_clock_monotonic() -> None:
    timescale.set_scale(0.001)
    time.sleep(0.01)
    at_switch = timescale.now()
    timescale.set_scale(1.0)
    assert timescale.now() >= at_switch
