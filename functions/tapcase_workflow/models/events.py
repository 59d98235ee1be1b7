"""The EventBridge events the janitor receives (AWS's own shapes, so tolerant of new fields).

* ``Step Functions Execution Status Change`` (source ``aws.states``): sent by Step Functions for
  Standard workflows when an execution's status changes (Step Functions developer guide,
  "EventBridge for Step Functions execution status changes"); the janitor's rule matches the
  investigation state machine's executions ending ``ABORTED``, ``TIMED_OUT`` or ``FAILED``.
* ``Scheduled Event`` (source ``aws.events``): the janitor's schedule.

And the CloudFormation custom resource requests the stack's lifecycle resources send
(:class:`StackLifecycle`; CloudFormation user guide, "Custom resource request types": Create,
Update, Delete), as powertools' parser models them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.utilities.parser.models import (
    CloudFormationCustomResourceCreateModel,
    CloudFormationCustomResourceDeleteModel,
    CloudFormationCustomResourceUpdateModel,
    EventBridgeModel,
)
from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from tapcase_workflow.models.payloads import EXECUTION_ARN_PATTERN

#: A state machine ARN (``arn:<partition>:states:<region>:<account>:stateMachine:<name>``).
STATE_MACHINE_ARN_PATTERN = r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$"
ENDED = ("ABORTED", "TIMED_OUT", "FAILED")


class ExecutionStatus(BaseModel):
    model_config = ConfigDict(extra="allow")

    executionArn: str = Field(pattern=EXECUTION_ARN_PATTERN, max_length=2048)
    stateMachineArn: str = Field(pattern=STATE_MACHINE_ARN_PATTERN, max_length=2048)
    name: str | None = None
    status: Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]

    @model_validator(mode="after")
    def _execution_of_that_state_machine(self) -> ExecutionStatus:
        """``arn:…:execution:<state machine name>:<name>`` of the same partition, region and account."""
        machine = self.stateMachineArn.split(":")
        execution = self.executionArn.split(":")
        if execution[:5] != machine[:5] or execution[6] != machine[6]:
            raise ValueError(f"{self.executionArn} is not an execution of {self.stateMachineArn}")
        return self


class ExecutionStatusChange(EventBridgeModel):
    detail_type: Literal["Step Functions Execution Status Change"] = Field(alias="detail-type")
    source: Literal["aws.states"]
    detail: ExecutionStatus


class ScheduledEvent(EventBridgeModel):
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
    source: Literal["aws.events", "aws.scheduler"]


class SweepRequest(BaseModel):
    """``tapcase janitor``: an operator asks the janitor function for a sweep (the function's role is
    one of those the member role trusts; an operator's is not)."""

    model_config = ConfigDict(extra="forbid")

    sweep: Literal["tapcase-janitor"]
    dry_run: bool = False
    #: Only runs started longer ago than this (seconds).
    older_than_seconds: int = Field(default=0, ge=0, le=366 * 86400)
    #: Accounts to sweep (None: the stack's own and every MemberAccounts one).
    accounts: list[Annotated[str, Field(pattern=r"^\d{12}$")]] | None = Field(default=None, min_length=1)


class JanitorEvent(RootModel[ExecutionStatusChange | ScheduledEvent | SweepRequest]):
    """An event the janitor's rules deliver, or an operator's sweep request."""


StackRequest = Annotated[
    CloudFormationCustomResourceCreateModel | CloudFormationCustomResourceUpdateModel
    | CloudFormationCustomResourceDeleteModel,
    Field(discriminator="request_type"),
]


class StackLifecycle(RootModel[StackRequest]):
    """A request CloudFormation sends for one of the stack's lifecycle resources
    (``CoverageLifecycle``, ``JanitorLifecycle``)."""
