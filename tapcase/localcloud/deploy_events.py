"""Deploying the template's event sources: EventBridge rules and EventBridge Scheduler groups and
schedules (a mixin of :class:`tapcase.localcloud.deploy.Deployer`), through the APIs CloudFormation
calls for them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tapcase.localcloud.stack_model import Deployed


class EventResources:
    """``AWS::Events::Rule``, ``AWS::Scheduler::ScheduleGroup``, ``AWS::Scheduler::Schedule``."""

    cloud: Any
    #: the Deployer's physical-name rule (logical id, explicit name, lower case)
    _name: Callable[..., str]

    def _AWS_Events_Rule(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        events = self.cloud.client("events")
        name = self._name(logical_id, props.get("Name"))
        kwargs: dict[str, Any] = {"Name": name, "State": props.get("State", "ENABLED")}
        if "EventPattern" in props:
            # The property is JSON: an object, or its text (CloudFormation's schema takes both).
            pattern = props["EventPattern"]
            kwargs["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
        if "ScheduleExpression" in props:
            kwargs["ScheduleExpression"] = props["ScheduleExpression"]
        if props.get("Description"):
            kwargs["Description"] = props["Description"]
        arn = events.put_rule(**kwargs)["RuleArn"]
        targets = []
        for target in props.get("Targets", []):
            t = {"Id": target["Id"], "Arn": target["Arn"]}
            for key in ("RoleArn", "Input", "InputPath"):
                if key in target:
                    t[key] = target[key]
            if "InputTransformer" in target:
                t["InputTransformer"] = target["InputTransformer"]
            targets.append(t)
        if targets:
            events.put_targets(Rule=name, Targets=targets)
        return Deployed(logical_id, "AWS::Events::Rule", name, {"Arn": arn})

    def _AWS_Scheduler_ScheduleGroup(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        scheduler = self.cloud.client("scheduler")
        name = self._name(logical_id, props.get("Name"))
        arn = scheduler.create_schedule_group(Name=name)["ScheduleGroupArn"]
        return Deployed(logical_id, "AWS::Scheduler::ScheduleGroup", name, {"Arn": arn})

    def _AWS_Scheduler_Schedule(self, logical_id: str, props: dict[str, Any]) -> Deployed:
        scheduler = self.cloud.client("scheduler")
        name = self._name(logical_id, props.get("Name"))
        kwargs: dict[str, Any] = {
            "Name": name,
            "ScheduleExpression": props["ScheduleExpression"],
            "FlexibleTimeWindow": props["FlexibleTimeWindow"],
            "Target": props["Target"],
        }
        for key in ("GroupName", "Description", "ScheduleExpressionTimezone", "State", "StartDate", "EndDate"):
            if props.get(key):
                kwargs[key] = props[key]
        arn = scheduler.create_schedule(**kwargs)["ScheduleArn"]
        return Deployed(logical_id, "AWS::Scheduler::Schedule", name, {"Arn": arn})
