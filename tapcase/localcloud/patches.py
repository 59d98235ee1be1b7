"""Applies every fix and addition tapcase makes to moto, once per process.

moto is pinned exactly in pyproject.toml; each patch module relies on its internals and
``tests/localcloud/test_moto_pin.py`` fails when the installed version is not the pinned one.
"""

from __future__ import annotations

import threading

import moto

PINNED_MOTO_VERSION = "5.2.5"

_lock = threading.Lock()
_applied = False


class MotoVersionMismatch(RuntimeError):
    """The installed moto is not the version tapcase's patches were written for."""


def apply_all() -> None:
    """Patch moto in this process (idempotent)."""
    global _applied
    with _lock:
        if _applied:
            return
        if moto.__version__ != PINNED_MOTO_VERSION:
            raise MotoVersionMismatch(
                f"tapcase's local cloud patches moto {PINNED_MOTO_VERSION}; found {moto.__version__}. "
                "Re-check every module in tapcase/localcloud against the new version before bumping the pin."
            )
        # Imported here so that importing tapcase.localcloud stays cheap.
        from tapcase.localcloud import athena, ec2_mirroring, events, lambda_runtime, sensors, sfn, sqs

        lambda_runtime.apply()
        sfn.apply()
        ec2_mirroring.apply()
        athena.apply()
        sensors.apply()
        events.apply()
        sqs.apply()
        _applied = True
