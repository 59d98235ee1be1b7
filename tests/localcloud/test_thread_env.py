"""A function run in-process sees its own environment variables, and no other thread does (on AWS
each function's variables live in its own execution environment)."""

from __future__ import annotations

import os
import threading

from tapcase.localcloud import thread_env


def test_the_overlay_is_seen_by_its_thread_only_and_the_process_is_unchanged():
    before = dict(os.environ)
    seen: dict[str, object] = {}
    inside, done = threading.Event(), threading.Event()

    def function() -> None:
        with thread_env.overlay({"LOCK_TABLE": "tapcase-LockTable", "HOME": "/function"}):
            seen["lock"] = os.environ.get("LOCK_TABLE")
            seen["home"] = os.getenv("HOME")
            seen["listed"] = "LOCK_TABLE" in dict(os.environ) and "LOCK_TABLE" in os.environ
            inside.set()
            done.wait(5)

    worker = threading.Thread(target=function)
    worker.start()
    assert inside.wait(5)
    # another thread, while the function runs: the process's environment, whole and unchanged
    assert "LOCK_TABLE" not in os.environ and os.environ.get("HOME") == before.get("HOME")
    assert dict(os.environ) == before
    done.set()
    worker.join(5)
    assert seen == {"lock": "tapcase-LockTable", "home": "/function", "listed": True}
    assert dict(os.environ) == before


def test_iterating_the_environment_while_functions_run_never_fails():
    """The failure this replaces: a thread iterating os.environ (botocore's proxy lookup) while a
    function's variables were removed from it got KeyError."""
    stop = threading.Event()

    def functions() -> None:
        while not stop.is_set():
            with thread_env.overlay({f"VAR_{i}": "x" for i in range(50)}):
                pass

    worker = threading.Thread(target=functions)
    worker.start()
    try:
        for _ in range(2000):
            assert not any(k.startswith("VAR_") for k, _v in os.environ.items())
    finally:
        stop.set()
        worker.join(5)
