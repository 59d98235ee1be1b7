"""Teardown order and bookkeeping (pure: the cloud is reached through a :class:`Cloud`).

Order: mirror sessions -> mirror target -> mirror filter -> sensor instance (until terminated) ->
sensor security group -> control queue -> lock. Everything is found by the investigation's tag,
not by what earlier states returned, so a teardown after any failure (or a second one) finds
exactly what exists. "Already gone" is success.
"""

from __future__ import annotations

from typing import Protocol

from tapcase_workflow.errors import TeardownIncomplete

KINDS = ("mirror_sessions", "mirror_targets", "mirror_filters", "sensor_instances", "security_groups",
         "control_queues", "locks")


class Cloud(Protocol):
    def find(self, kind: str, investigation_id: str) -> list[str]: ...
    def delete(self, kind: str, resource_id: str) -> bool: ...
    def wait_terminated(self, instance_ids: list[str]) -> list[str]:
        """Instance ids still not terminated when the wait gave up."""
        ...


def teardown(cloud: Cloud, investigation_id: str) -> dict[str, dict[str, int]]:
    deleted = {kind: 0 for kind in KINDS}
    for kind in ("mirror_sessions", "mirror_targets", "mirror_filters", "sensor_instances"):
        for rid in cloud.find(kind, investigation_id):
            deleted[kind] += int(cloud.delete(kind, rid))
    pending = cloud.wait_terminated(cloud.find("sensor_instances", investigation_id))
    if pending:
        raise TeardownIncomplete(f"sensor instance(s) {pending} not terminated yet", {"sensor_instances": len(pending)})
    for kind in ("security_groups", "control_queues", "locks"):
        for rid in cloud.find(kind, investigation_id):
            deleted[kind] += int(cloud.delete(kind, rid))
    leftovers = {kind: len(cloud.find(kind, investigation_id)) for kind in KINDS}
    if any(leftovers.values()):
        raise TeardownIncomplete(f"still present after teardown: { {k: v for k, v in leftovers.items() if v} }", leftovers)
    return {"deleted": deleted, "leftovers": leftovers}
