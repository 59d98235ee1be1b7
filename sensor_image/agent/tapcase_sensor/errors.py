"""Typed errors of the sensor agent.

The class name of each error is what the agent sends to Step Functions as the ``error`` of
``SendTaskFailure``, so a state machine can ``Catch``/``Retry`` on it by name. Keep names stable.
"""

from __future__ import annotations


class SensorError(Exception):
    """Base class: something the sensor could not do. ``error_name`` goes to Step Functions."""

    @property
    def error_name(self) -> str:
        return type(self).__name__


class SensorConfigError(SensorError):
    """The agent's configuration (user data / config file / CLI arguments) is unusable."""


class SensorQueueNotFound(SensorConfigError):
    """The control queue does not exist (yet: the workflow creates it once the sensor runs)."""


class SensorBadCapture(SensorError):
    """A capture file is not a readable pcap/pcapng, is truncated, or holds no packets."""


class SensorEngineMissing(SensorError):
    """An engine (Suricata, Zeek, or the container runtime that runs them) is not installed."""


class SensorEngineFailed(SensorError):
    """An engine started but failed: non-zero exit, crash, fatal log line, or packets lost."""


class SensorNotReady(SensorError):
    """The engines did not come up and listen within the readiness timeout."""


class SensorUploadFailed(SensorError):
    """Logs or the manifest could not be written to S3."""


class SensorCurateFailed(SensorError):
    """The logs could not be converted to the curated Parquet tables."""


class SensorBadMessage(SensorError):
    """A control message is malformed or addressed to another investigation."""


class LogParseError(SensorError, ValueError):
    """A log file does not have the shape its reader expects (with file and line)."""


class SensorInternalError(SensorError):
    """An unexpected error inside the agent (a bug); the cause carries the exception text."""


class SensorAnswerRoleRefused(SensorError):
    """The sensor could not assume the role it answers task tokens through (its config's
    ``answer_role_arn``): nothing can be answered, so this is logged, never sent; the message is kept
    and retried, and the state machine's timeout ends the wait."""
