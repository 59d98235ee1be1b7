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
#: The incident story a generated scenario's instances belong to (``tapcase scenario``).
SCENARIO = "tapcase:scenario"


def investigation_tags(investigation_id: str, instance_id: str) -> list[dict[str, str]]:
    """The tags of every resource of the investigation."""
    return [{"Key": INVESTIGATION_ID, "Value": investigation_id}, {"Key": INSTANCE_ID, "Value": instance_id}]


def sensor_tags(investigation_id: str, instance_id: str) -> list[dict[str, str]]:
    """The sensor instance's tags: the investigation's, its role and a readable name."""
    return [
        *investigation_tags(investigation_id, instance_id),
        {"Key": ROLE, "Value": ROLE_SENSOR},
        {"Key": "Name", "Value": f"tapcase-sensor-{investigation_id}"},
    ]


def as_mapping(tags: list[dict[str, str]]) -> dict[str, str]:
    """``[{"Key": k, "Value": v}]`` -> ``{k: v}`` (SQS ``CreateQueue`` takes tags as a map)."""
    return {t["Key"]: t["Value"] for t in tags}
