"""The Lambda functions' inputs and outputs, as the state machine passes them.

Each handler parses its event into one ``*Input`` model and returns one ``*Output`` model (as
JSON). What the ASL builds itself (``Payload`` objects, ``ResultSelector`` shapes of earlier
states) is ours: ``extra="forbid"``, so a field the ASL adds or renames without the code breaks a
test (``tests/test_template.py`` checks every ``Payload`` field against these models). What the
sensor agent answers (``WaitForSensor``, ``CollectEvidence``) is typed where the report reads it
and tolerant otherwise: the sensor image and the functions are deployed apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tapcase_contract.outcomes import Outcome, ReportOutcome
from tapcase_workflow.models.plan import InvestigationPlan
from tapcase_workflow.models.request import INSTANCE_ID_PATTERN, InvestigationId

#: A Step Functions execution ARN (``arn:<partition>:states:<region>:<account>:execution:<machine>:<name>``).
EXECUTION_ARN_PATTERN = r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_-]{1,80}:[^\s:]{1,80}$"


class _Ours(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Sensors(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- Plan ----------------------------------------------------------------------------------------


class PlanInput(_Ours):
    """``{"request": <the execution's input>, "execution_name": $$.Execution.Name}``.

    ``request`` is whatever started the execution (a GuardDuty EventBridge event, a manual or a
    scheduled request); ``logic.request.normalise`` types it."""

    request: Any
    execution_name: str | None = None
    # $$.Execution.Id: the parent of the child executions a multi-instance request starts.
    execution_arn: str | None = None


# -- Admit -----------------------------------------------------------------------------------------


class AdmitInput(_Ours):
    """``{"execution_arn": $$.Execution.Id, "started_at": $$.Execution.StartTime, "investigation_id": ...}``."""

    execution_arn: str
    started_at: datetime
    investigation_id: InvestigationId


class AdmitOutput(_Ours):
    """``$.admission``: admitted now, or wait ``wait_seconds`` and ask again; ``reason`` says why."""

    admitted: bool
    running: int
    limit: int
    wait_seconds: int
    reason: str


# -- fragments the ASL puts into the execution state (ResultSelector shapes) ----------------------


class SensorLaunched(_Ours):
    """``$.sensor``: LaunchSensor's ResultSelector."""

    instance_id: str
    eni_id: str
    private_ip: str


class FleetReceiver(_Ours):
    """``$.sensor`` when the traffic goes to the stack's sensor fleet (the UseFleet state): no
    sensor of the investigation's own; no address of it to keep out of the filter."""

    fleet_target_id: str
    private_ip: None = None


class MirrorTargetCreated(_Ours):
    """``$.mirror_target``: CreateMirrorTarget's ResultSelector."""

    target_id: str


class MirrorSessionCreated(_Ours):
    """One item of ``$.mirror_sessions``: CreateMirrorSession's ResultSelector."""

    session_id: str
    eni_id: str
    session_number: int
    vni: int
    packet_length: int | None = None


class QueryOutcome(_Ours):
    """One item of ``$.analysis``: the Analyze map's QueryDone or QueryFailed."""

    name: str
    state: str
    query_execution_id: str | None = None
    bytes_scanned: int | None = None
    error: str | None = None
    cause: str | None = None


class InvestigationOutcome(_Ours):
    """``$.outcome``: Investigated (WriteReport's outcome: succeeded, no_traffic, incomplete_capture)
    or InvestigationFailed (failed, with the error's name)."""

    status: Outcome
    error: str | None = None


# -- what the sensor agent answers ---------------------------------------------------------------


class SensorReady(_Sensors):
    """``$.sensor_ready``: the agent's answer to WaitForSensor."""

    investigation_id: str | None = None
    mode: str | None = None


class EvidencePackets(_Sensors):
    seen: int | None = None
    dropped: int | None = None
    vxlan: int | None = None


class EvidenceCollected(_Sensors):
    """``$.evidence``: the agent's answer to CollectEvidence (the manifest's summary)."""

    investigation_id: str | None = None
    manifest_uri: str | None = None
    complete: bool | None = None
    packets: EvidencePackets = Field(default_factory=EvidencePackets)


# -- CreateMirrorFilter ---------------------------------------------------------------------------


class CreateMirrorFilterInput(_Ours):
    plan: InvestigationPlan
    sensor_ip: str | None  # None: a fleet target (no sensor of its own to keep out)


class CreateMirrorFilterOutput(_Ours):
    """Also ``$.mirror_filter`` (CreateMirrorFilter's ResultSelector keeps every field)."""

    filter_id: str
    rules: list[str]
    network_services: list[str]


# -- WriteReport ----------------------------------------------------------------------------------


class WriteReportInput(_Ours):
    plan: InvestigationPlan
    sensor: SensorLaunched | FleetReceiver
    sensor_ready: SensorReady
    mirror_sessions: list[MirrorSessionCreated]
    mirror_filter: CreateMirrorFilterOutput
    mirror_target: MirrorTargetCreated
    evidence: EvidenceCollected
    analysis: list[QueryOutcome]
    execution_arn: str


class Verdict(_Ours):
    """The report's ``verdict`` (tapcase_contract.outcomes.VERDICT_FIELDS)."""

    outcome: ReportOutcome
    assessment: str
    headline: str
    warnings: list[str]
    packets: dict[str, int | None]


class Notification(_Ours):
    """What WriteReport told people: the SNS message and the note on the finding."""

    published: bool
    message_id: str | None = None
    page_link_expires: str | None = None
    finding_note: str  # added | skipped: <why> | failed: <why>


class WriteReportOutput(_Ours):
    report_uri: str
    page_uri: str
    indicators_uri: str
    stix_uri: str
    #: The investigation's outcome (also the execution output's ``status``): succeeded, no_traffic,
    #: incomplete_capture.
    outcome: ReportOutcome
    verdict: Verdict
    #: The plan's warnings and the verdict's (the execution output's ``warnings``).
    warnings: list[str]
    headline: list[str]
    summary: dict[str, Any]
    notification: Notification


# -- RecordTeardown -------------------------------------------------------------------------------


class TeardownRecord(_Ours):
    """``$.teardown``: Teardown's ResultSelector."""

    deleted: dict[str, int]
    leftovers: dict[str, int]


class RecordTeardownInput(_Ours):
    investigation_id: InvestigationId
    report_uri: str
    teardown: TeardownRecord


class RecordTeardownOutput(_Ours):
    report_uri: str
    files: int


# -- Teardown -------------------------------------------------------------------------------------


class TeardownInput(_Ours):
    investigation_id: InvestigationId
    #: The plan's run token: only this run's resources are torn down (tag ``tapcase:run``).
    run_token: str = Field(pattern=r"^[0-9a-f]{8}$")
    instance_id: str = Field(pattern=INSTANCE_ID_PATTERN)
    #: The plan's lock key (``<account>/<instance>``); None: an execution planned before locks named
    #: their account, whose lock is keyed by the instance id alone.
    lock_key: str | None = Field(default=None, min_length=1, max_length=1024)
    execution_arn: str = Field(pattern=EXECUTION_ARN_PATTERN, max_length=2048)
    #: ``$$.Execution.StartTime``: the investigation's duration ends with its teardown.
    started_at: datetime
    outcome: InvestigationOutcome
    #: The plan's member role: teardown acts in the suspect's account with it.
    role_arn: str | None = Field(default=None, max_length=2048)


class TeardownOutput(_Ours):
    deleted: dict[str, int]
    leftovers: dict[str, int]


# -- VerifyEvidence -------------------------------------------------------------------------------


class CollectEvidenceInput(_Ours):
    """``CollectEvidence`` (``lambda:invoke.waitForTaskToken``): what the control message to the
    sensor (or the fleet) carries, and the queue it goes to. The state waits for the sensor's
    answer to ``task_token``; the function only hands the message over."""

    task_token: str = Field(min_length=1, max_length=2048)
    investigation_id: InvestigationId
    queue_url: str = Field(pattern=r"^https?://\S+/\d{12}/[A-Za-z0-9_-]{1,80}$")
    prefix: str = Field(min_length=1, max_length=1024)
    vni: int | None = Field(default=None, ge=1, le=16_777_215)
    ready: dict[str, Any] | None = None
    collect_timeout_seconds: int = Field(ge=1)
    #: The plan's member role: the control queue is in the suspect's account.
    role_arn: str | None = Field(default=None, max_length=2048)


class CollectEvidenceOutput(_Ours):
    """The function's own answer (ignored by the state, which waits for the sensor's): never a secret."""

    message_id: str
    queue_url: str
    credentials_expire: datetime


class VerifyEvidenceInput(_Ours):
    investigation_id: InvestigationId


class VerifyEvidenceOutput(_Ours):
    """``$.evidence_check.verified``: what was read back and matched the manifest."""

    files: int
    bytes: int
    manifest_sha256: str


# -- Janitor --------------------------------------------------------------------------------------


class JanitorOutput(_Ours):
    """What the janitor removed (or, in a dry run, would remove), by investigation id."""

    dry_run: bool
    investigations: dict[str, dict[str, int]]
    stale_locks: list[str]
    skipped: list[str]
    #: Each account swept (its id; ``own`` when the caller's account is unknown): the investigation
    #: runs found there (removed, or in a dry run listed); an account whose member role could not
    #: be assumed is in ``skipped`` instead.
    accounts: dict[str, list[str]] = Field(default_factory=dict)
