"""Applies every fix and addition tapcase makes to moto, once per process.

moto is pinned exactly in pyproject.toml (:mod:`tapcase.localcloud.moto_version`); each patch
module relies on its internals, and ``tests/localcloud/test_moto_pin.py`` fails when the installed
version is not the pinned one. The patch modules never import this module (no import circle).
"""

from __future__ import annotations

import threading

from tapcase.localcloud.moto_version import PINNED_MOTO_VERSION, MotoVersionMismatch, require_pinned_moto

__all__ = ["PINNED_MOTO_VERSION", "MotoVersionMismatch", "apply_all"]

_lock = threading.Lock()
_applied = False


def apply_all() -> None:
    """Patch moto in this process (idempotent)."""
    global _applied
    with _lock:
        if _applied:
            return
        require_pinned_moto()
        # Imported here so that importing tapcase.localcloud stays cheap.
        from tapcase.localcloud import (
            athena,
            dispatch,
            dynamodb,
            ec2_events,
            ec2_retention,
            ec2_tags,
            events,
            flow_log_destinations,
            lambda_runtime,
            mirroring,
            model_tracking,
            policies,
            scheduler,
            securityhub,
            sensors,
            sfn,
            sqs,
            sts_sessions,
        )

        model_tracking.apply()  # first: before any model is created
        dispatch.apply()
        lambda_runtime.apply()
        sfn.apply()
        mirroring.apply()
        athena.apply()
        sensors.apply()
        ec2_retention.apply()  # wraps what sensors.apply() installed
        events.apply()
        sqs.apply()
        flow_log_destinations.apply()
        securityhub.apply()
        dynamodb.apply()
        scheduler.apply()
        policies.apply()
        ec2_tags.apply()
        sts_sessions.apply()
        ec2_events.apply()
        _applied = True
