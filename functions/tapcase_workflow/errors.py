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


class NotAGuardDutyFinding(TapcaseError):
    """A Security Hub finding another product produced (Inspector, Config, Macie...): not activity
    GuardDuty saw, nothing to capture (skipped)."""


class FindingNotActive(TapcaseError):
    """A Security Hub finding that is archived (``RecordState``), resolved or suppressed
    (``Workflow.Status``), or archived in GuardDuty: nobody is to investigate it (skipped)."""


class SampleFinding(TapcaseError):
    """A GuardDuty sample finding (``service.additionalInfo.sample``), ignored by the stack's
    ``IgnoreSampleFindings``: it names an instance that does not exist."""


class FindingFromAnotherAccount(TapcaseError):
    """The finding is about an account the stack may not act in (a GuardDuty administrator account
    receives its members' findings): tapcase acts in its own account and its ``MemberAccounts``."""


class AccountNotAllowed(TapcaseError):
    """A request names an account (``account_id``) the stack may not act in (not its own, not one
    of its ``MemberAccounts``)."""


class MemberRoleUnavailable(TapcaseError):
    """The member role of the suspect's account cannot be assumed (STS ``AccessDenied``): the member
    template is not deployed there, or under another ``MemberRoleName``, or does not trust this
    stack's roles."""


class NothingSelected(TapcaseError):
    """A tag selector or ENI list that selects no running instance."""


class InvestigationIdTaken(TapcaseError):
    """A hand-chosen investigation id whose evidence exists already: evidence is never overwritten."""


class TooManyInvestigations(TapcaseError):
    """The account already runs the stack's maximum of concurrent investigations (refused, or
    waited for a slot longer than allowed)."""


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


class FleetNotConfigured(TapcaseError):
    """The request asks for the sensor fleet and the stack has none (FleetTargetId empty)."""


class FleetTargetNotFound(TapcaseError):
    """The stack's FleetTargetId names no traffic mirror target this account can use."""


class UnsupportedFleetTarget(TapcaseError):
    """The fleet's target is not a Network Load Balancer or a Gateway Load Balancer endpoint."""


class MirrorSetupFailed(TapcaseError):
    """AWS refused to create a traffic mirror resource (e.g. the instance type cannot be mirrored)."""


class TeardownIncomplete(TapcaseError):
    """Some investigation resources could not be deleted yet (retried by the state machine).

    ``leftovers``: how many of each kind are still there, as far as known."""

    def __init__(self, message: str, leftovers: dict[str, int] | None = None) -> None:
        super().__init__(message)
        self.leftovers = dict(leftovers or {})


# Plan's skips: the workflow ends "skipped", nothing created, the reason in its output.
PLAN_SKIPS = frozenset(cls.__name__ for cls in (NotAnEc2Finding, SampleFinding, AlreadyInvestigated))

# Plan's refusals: the workflow ends with one of these before anything is created.
PLAN_REFUSALS = frozenset(
    cls.__name__
    for cls in (
        InvalidRequest, InstanceNotFound, InstanceNotRunning, UnsupportedInstanceType, NoFreeMirrorSlot, NoSensorSubnet,
        FindingFromAnotherAccount, AccountNotAllowed, NothingSelected, InvestigationIdTaken,
    )
)


class EvidenceAccessFailed(TapcaseError):
    """The investigation's upload credentials could not be made, or the sensor not be told."""


class EvidenceIncomplete(TapcaseError):
    """The evidence manifest is missing, incomplete, or not this investigation's."""


class EvidenceTampered(TapcaseError):
    """An evidence object in S3 differs from the manifest's sha256, is missing, or is not listed."""


class JanitorError(TapcaseError):
    """The janitor could not run as asked (e.g. an event it does not handle)."""


class CoverageNotConfigured(TapcaseError):
    """Coverage mode's parameters do not fit together (a tag selector without a sensor fleet, a
    value without a key): nothing is mirrored."""


class InvalidCoverageEvent(TapcaseError):
    """The coverage function was given something else than an EC2 instance state change, a tag
    change on an instance or its schedule's event."""
