"""The EventBridge events the coverage function receives (AWS's own shapes, tolerant of new
fields), and what it answers.

* ``EC2 Instance State-change Notification`` (source ``aws.ec2``; EC2 user guide, "State change
  events for Amazon EC2 instances"): ``detail`` is ``{"instance-id": "i-…", "state": "running"}``,
  states ``pending``, ``running``, ``stopping``, ``stopped``, ``shutting-down``, ``terminated``.
* ``Tag Change on Resource`` (source ``aws.tag``; Tag Editor user guide, "Monitor tag changes with
  serverless workflows and Amazon EventBridge"): ``resources`` holds the instance's ARN, ``detail``
  ``changed-tag-keys``, ``tags`` (the tags now), ``service`` ``ec2``, ``resource-type`` ``instance``.
* ``Scheduled Event`` (source ``aws.events``): the coverage schedule, a reconcile of everything.
* A CloudFormation custom resource request for ``CoverageLifecycle`` (Create, Update: a reconcile of
  everything as the stack's parameters now say; Delete: every coverage session and filter removed,
  so deleting the stack leaves no mirroring behind).
"""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, RootModel

from tapcase_workflow.models.events import ScheduledEvent

INSTANCE_ID_PATTERN = r"^i-[0-9a-f]{8}([0-9a-f]{9})?$"
INSTANCE_ARN_PATTERN = r"^arn:aws[a-z-]*:ec2:[a-z0-9-]+:\d{12}:instance/i-[0-9a-f]{8}([0-9a-f]{9})?$"
STATES = ("pending", "running", "stopping", "stopped", "shutting-down", "terminated")


class InstanceState(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    instance_id: str = Field(alias="instance-id", pattern=INSTANCE_ID_PATTERN)
    state: Literal["pending", "running", "stopping", "stopped", "shutting-down", "terminated"]


class InstanceStateChange(EventBridgeModel):
    detail_type: Literal["EC2 Instance State-change Notification"] = Field(alias="detail-type")
    source: Literal["aws.ec2"]
    detail: InstanceState


class TagChange(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    changed_tag_keys: list[str] = Field(alias="changed-tag-keys", default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    service: Literal["ec2"]
    resource_type: Literal["instance"] = Field(alias="resource-type")


class TagChangeOnInstance(EventBridgeModel):
    detail_type: Literal["Tag Change on Resource"] = Field(alias="detail-type")
    source: Literal["aws.tag"]
    resources: list[Annotated[str, Field(pattern=INSTANCE_ARN_PATTERN)]] = Field(min_length=1, max_length=1)
    detail: TagChange

    @property
    def instance_id(self) -> str:
        return self.resources[0].rsplit("/", 1)[-1]


class CoverageEvent(RootModel[InstanceStateChange | TagChangeOnInstance | ScheduledEvent]):
    """Any event the coverage function's rule and schedule deliver."""


class CoverageOutput(BaseModel):
    """What one reconcile did."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool
    scope: list[str] | None  # the instances looked at; None: all (the schedule)
    created: dict[str, str]  # session id -> ENI
    deleted: list[str]
    covered: dict[str, str]  # ENI -> instance, after this reconcile
    filter_id: str | None
    filters_deleted: list[str]
    skipped: list[str]

