"""The one error the contracts raise."""

from __future__ import annotations


class ContractError(ValueError):
    """A value breaks a shared contract (an id, a config field, a control message).

    A ``ValueError``, so pydantic models that embed a contract turn it into a validation error;
    the agent wraps it into its own typed errors (``SensorConfigError``, ``SensorBadMessage``).
    """
