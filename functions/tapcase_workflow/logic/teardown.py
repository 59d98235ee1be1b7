"""Teardown order and bookkeeping (pure: the cloud is reached through a :class:`Cloud`).

Order: mirror sessions -> mirror target -> mirror filter -> sensor instance (until terminated) ->
sensor security group -> control queue -> lock. Everything is found by the investigation's tag
and, besides, by the ids the execution recorded (:mod:`tapcase_workflow.logic.recorded`), so a
teardown after any failure (or a second one) finds what exists even when a tag is missing.
"Already gone" is success.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from tapcase_workflow.errors import TeardownIncomplete

KINDS = ("mirror_sessions", "mirror_targets", "mirror_filters", "sensor_instances", "security_groups",
         "control_queues", "locks")
#: Deleted before the sensor must be gone (a security group in use cannot be deleted).
BEFORE_SENSOR_GONE = KINDS[:4]
AFTER_SENSOR_GONE = KINDS[4:]


class Cloud(Protocol):
    def find(self, kind: str, investigation_id: str) -> list[str]:
        """Ids of the investigation's resources of one kind, by tag (queues and locks: by name)."""
        ...

    def alive(self, kind: str, resource_ids: Sequence[str]) -> list[str]:
        """Which of these ids still exist (not deleted, not terminated)."""
        ...

    def delete(self, kind: str, resource_id: str) -> bool: ...

    def wait_terminated(self, instance_ids: list[str]) -> list[str]:
        """Instance ids still not terminated when the wait gave up."""
        ...


def _present(cloud: Cloud, kind: str, investigation_id: str, recorded: Mapping[str, Sequence[str]]) -> list[str]:
    found = cloud.find(kind, investigation_id)
    extra = [rid for rid in recorded.get(kind, ()) if rid not in found]
    return found + (cloud.alive(kind, extra) if extra else [])


def teardown(
    cloud: Cloud, investigation_id: str, recorded: Mapping[str, Sequence[str]] | None = None
) -> dict[str, dict[str, int]]:
    """Delete the investigation's resources in the safe order; ``recorded``: ids by kind that the
    execution recorded (deleted even when their tag is missing)."""
    ids = dict(recorded or {})
    deleted = {kind: 0 for kind in KINDS}
    for kind in BEFORE_SENSOR_GONE:
        for rid in _present(cloud, kind, investigation_id, ids):
            deleted[kind] += int(cloud.delete(kind, rid))
    pending = cloud.wait_terminated(_present(cloud, "sensor_instances", investigation_id, ids))
    if pending:
        raise TeardownIncomplete(f"sensor instance(s) {pending} not terminated yet", {"sensor_instances": len(pending)})
    for kind in AFTER_SENSOR_GONE:
        for rid in _present(cloud, kind, investigation_id, ids):
            deleted[kind] += int(cloud.delete(kind, rid))
    leftovers = {kind: len(_present(cloud, kind, investigation_id, ids)) for kind in KINDS}
    if any(leftovers.values()):
        raise TeardownIncomplete(f"still present after teardown: { {k: v for k, v in leftovers.items() if v} }", leftovers)
    return {"deleted": deleted, "leftovers": leftovers}
