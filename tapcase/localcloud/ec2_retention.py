"""EC2: a terminated instance stays visible for about an hour, then is gone with its tags, as on AWS.

"Terminated instances remain visible after termination (for approximately one hour)" (EC2 API
reference, TerminateInstances); "After you terminate an instance, it remains visible in the console
for a short while, and then the entry is automatically deleted. [...] resources such as tags and
volumes are gradually disassociated from the instance" (EC2 User Guide, Terminate your instance).
moto 5.2.5 keeps every terminated instance for the life of the process, with its reservation, its
tags, its primary network interface (still "attached" to it) and its volumes, and keeps the tags of
every deleted security group, volume and network interface: one sensor's worth per investigation
in a long-running ``tapcase local serve``.

Here TerminateInstances records the local cloud's clock on each instance it terminates
(:func:`tapcase.localcloud.timescale.now`: at scale 0 the skipped delays move it, so an hour passes
in a few investigations) and forgets those terminated :data:`TERMINATED_VISIBLE_SECONDS` or more
ago: DescribeInstances no longer answers them (an id filter answers
``InvalidInstanceID.NotFound``, as EC2 does once the entry is gone). With a forgotten instance go
its reservation (when empty), its tags, and the network interfaces still attached to it: the
primary interface, created by the launch, is deleted ("the root device and any other devices
attached during the instance launch are automatically deleted", TerminateInstances), others are
detached. Tags whose instance, network interface, volume or security group no longer exists are
dropped at the same time (DescribeTags answers tags of existing resources only).

Wraps ``InstanceBackend.terminate_instances`` (after :mod:`.sensors` wrapped it: applied after it);
relies on moto keeping instances in ``backend.reservations[id].instances``, interfaces in
``backend.enis``, volumes in ``backend.volumes``, security groups in ``backend.groups[vpc][id]``
and tags in ``backend.tags[resource id]``.
"""

from __future__ import annotations

import threading
from typing import Any

from tapcase.localcloud import timescale

#: Seconds of workflow time a terminated instance stays visible.
TERMINATED_VISIBLE_SECONDS = 3600.0
#: Attribute set on moto's Instance when it is terminated (the local clock).
_TERMINATED_AT = "_tapcase_terminated_at"

_lock = threading.Lock()
_applied = False


def terminated_at(instance: Any) -> float | None:
    at: float | None = getattr(instance, _TERMINATED_AT, None)
    return at


def forget_terminated(backend: Any, now: float | None = None) -> list[str]:
    """Forgets the instances terminated :data:`TERMINATED_VISIBLE_SECONDS` or more before ``now``
    (the local clock), and the tags of resources that no longer exist; the ids forgotten."""
    now = timescale.now() if now is None else now
    forgotten: list[str] = []
    released: set[str] = set()
    with _lock:
        for reservation_id, reservation in list(backend.reservations.items()):
            emptied = False
            for instance in list(reservation.instances):
                at = terminated_at(instance)
                if at is None or now - at < TERMINATED_VISIBLE_SECONDS or instance.state != "terminated":
                    continue
                released |= _release_interfaces(backend, instance)
                reservation.instances.remove(instance)
                forgotten.append(instance.id)
                emptied = True
            # only a reservation this call emptied: RunInstances in another thread registers its
            # reservation before adding the instances to it (popping that one lost the new instance)
            if emptied and not reservation.instances:
                backend.reservations.pop(reservation_id, None)
        _drop_orphan_tags(backend, set(forgotten) | released)
    return forgotten


def _release_interfaces(backend: Any, instance: Any) -> set[str]:
    """The instance's interfaces let go (the primary one deleted with it); the ids of all of them."""
    ids: set[str] = set()
    for device_index, eni in list(instance.nics.items()):
        ids.add(eni.id)
        if backend.enis.get(eni.id) is not eni or eni.instance is not instance:
            continue  # already deleted at termination (DeleteOnTermination), or moved
        if int(device_index) == 0:
            backend.enis.pop(eni.id, None)
            for address in eni.private_ip_addresses:
                eni.subnet.del_subnet_ip(address["PrivateIpAddress"])
        else:
            instance.detach_eni(eni)
    instance.nics.clear()
    return ids


def _drop_orphan_tags(backend: Any, gone: set[str]) -> None:
    """Tags of resources that no longer exist: the instances and interfaces just forgotten (only
    those: an instance or interface another thread is creating has its tags before it is
    listed), and volumes and security groups deleted earlier."""
    groups = {group_id for by_vpc in backend.groups.values() for group_id in by_vpc}
    exists = {
        "i-": lambda rid: rid not in gone,
        "eni-": lambda rid: rid not in gone or rid in backend.enis,
        "vol-": backend.volumes.__contains__,
        "sg-": groups.__contains__,
    }
    for resource_id in list(backend.tags):
        for prefix, known in exists.items():
            if resource_id.startswith(prefix) and not known(resource_id):
                backend.tags.pop(resource_id, None)
                break


def apply() -> None:
    """Patch moto's EC2 backend in this process (idempotent; after :func:`.sensors.apply`)."""
    global _applied
    with _lock:
        if _applied:
            return
        from moto.ec2.models.instances import InstanceBackend

        wrapped = InstanceBackend.terminate_instances

        def terminate_instances(self: Any, instance_ids: list[str]) -> Any:
            result = wrapped(self, instance_ids)
            now = timescale.now()
            for instance, _ in result:
                if terminated_at(instance) is None:  # terminating again changes nothing (idempotent)
                    setattr(instance, _TERMINATED_AT, now)
            forget_terminated(self, now)
            return result

        InstanceBackend.terminate_instances = terminate_instances  # type: ignore[method-assign]
        _applied = True
