"""Typed errors. A Lambda's unhandled exception reaches the state machine with the class name as
its error name, so ASL ``Catch``/``Retry`` blocks name these classes (checked by a test)."""

from __future__ import annotations


class TapcaseError(Exception):
    """Base class of every error the workflow raises on purpose."""


class AlreadyInvestigated(TapcaseError):
    """This finding's investigation already completed: its evidence is in S3 (a repeated event)."""


class InvalidRequest(TapcaseError):
    """The input is neither a GuardDuty finding event nor a valid manual/scheduled request."""


class NotAnEc2Finding(TapcaseError):
    """The GuardDuty finding is about something other than an EC2 instance."""


class InstanceNotFound(TapcaseError):
    """The instance named by the request does not exist (any more) or is terminated."""


class InstanceNotRunning(TapcaseError):
    """The instance exists but is not running: there is no traffic to mirror."""


class UnsupportedInstanceType(TapcaseError):
    """Traffic Mirroring does not support the instance's type."""


class NoFreeMirrorSlot(TapcaseError):
    """A source ENI already has the maximum number of mirror sessions."""


class NoSensorSubnet(TapcaseError):
    """No subnet in the suspect's Availability Zone can host the sensor."""


class MirrorSetupFailed(TapcaseError):
    """AWS refused to create a traffic mirror resource (e.g. the instance type cannot be mirrored)."""


class TeardownIncomplete(TapcaseError):
    """Some investigation resources could not be deleted yet (retried by the state machine).

    ``leftovers``: how many of each kind are still there, as far as known."""

    def __init__(self, message: str, leftovers: dict[str, int] | None = None) -> None:
        super().__init__(message)
        self.leftovers = dict(leftovers or {})


# Plan's refusals: the workflow ends with one of these before anything is created.
PLAN_REFUSALS = frozenset(
    cls.__name__
    for cls in (
        InvalidRequest, InstanceNotFound, InstanceNotRunning, UnsupportedInstanceType, NoFreeMirrorSlot, NoSensorSubnet,
    )
)


class EvidenceIncomplete(TapcaseError):
    """The evidence manifest is missing, incomplete, or not this investigation's."""


class EvidenceTampered(TapcaseError):
    """An evidence object in S3 differs from the manifest's sha256, is missing, or is not listed."""


class JanitorError(TapcaseError):
    """The janitor could not run as asked (e.g. an event it does not handle)."""
