"""The tags of an investigation's resources (EC2 ``Key``/``Value`` form where AWS wants a list).

Teardown finds everything by ``tapcase:investigation-id``; the template's IAM conditions name the
same key (``aws:ResourceTag/tapcase:investigation-id``, checked by a test).
"""

from __future__ import annotations

#: Every resource an investigation creates carries its id under this key.
INVESTIGATION_ID = "tapcase:investigation-id"
#: The suspect instance the investigation is about.
INSTANCE_ID = "tapcase:instance-id"
#: What a resource is for; the sensor instance has ``tapcase:role=sensor``.
ROLE = "tapcase:role"
ROLE_SENSOR = "sensor"
#: A member of a sensor fleet behind a load balancer (sensor_image/fleet/fleet.yaml): runs
#: ``tapcase-sensor fleet``, never launched or terminated by an investigation.
ROLE_FLEET_MEMBER = "fleet-member"
#: When the investigation was planned (epoch seconds): the janitor's ``--older-than`` reads it.
STARTED_AT = "tapcase:started-at"
#: The run (execution) of the investigation that created the resource (the plan's run token):
#: a later run of the same investigation never tears down an earlier run's resources, or back.
RUN = "tapcase:run"
#: Coverage mode (handlers/coverage.py): the traffic mirror sessions and the filter that keep
#: tagged instances mirrored to the sensor fleet all the time carry this key (value
#: :data:`COVERAGE_ON`), never the investigation's; the coverage function creates, changes and
#: deletes only resources with it (its role's ``aws:RequestTag``/``aws:ResourceTag`` conditions).
COVERAGE = "tapcase:coverage"
COVERAGE_ON = "on"
#: The incident story a generated scenario's instances belong to (``tapcase scenario``).
SCENARIO = "tapcase:scenario"


def investigation_tags(
    investigation_id: str, instance_id: str, started_at: int | None = None, run: str | None = None
) -> list[dict[str, str]]:
    """The tags of every resource of the investigation (``started_at``, ``run``: of this run)."""
    tags = [{"Key": INVESTIGATION_ID, "Value": investigation_id}, {"Key": INSTANCE_ID, "Value": instance_id}]
    if started_at is not None:
        tags.append({"Key": STARTED_AT, "Value": str(int(started_at))})
    if run is not None:
        tags.append({"Key": RUN, "Value": run})
    return tags


def sensor_tags(
    investigation_id: str, instance_id: str, started_at: int | None = None, run: str | None = None
) -> list[dict[str, str]]:
    """The sensor instance's tags: the investigation's, its role and a readable name."""
    return [
        *investigation_tags(investigation_id, instance_id, started_at, run),
        {"Key": ROLE, "Value": ROLE_SENSOR},
        {"Key": "Name", "Value": f"tapcase-sensor-{investigation_id}"},
    ]


def coverage_tags(instance_id: str | None = None) -> list[dict[str, str]]:
    """A coverage resource's tags: the marker, and for a session the instance it mirrors."""
    tags = [{"Key": COVERAGE, "Value": COVERAGE_ON}]
    if instance_id is not None:
        tags.append({"Key": INSTANCE_ID, "Value": instance_id})
    return tags


def as_mapping(tags: list[dict[str, str]]) -> dict[str, str]:
    """``[{"Key": k, "Value": v}]`` -> ``{k: v}`` (SQS ``CreateQueue`` takes tags as a map)."""
    return {t["Key"]: t["Value"] for t in tags}
