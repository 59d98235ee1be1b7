"""Control plane: Traffic Mirror sessions, and what deleting a network interface does to them.

- ``CreateTrafficMirrorSession``: the source ENI, target and filter exist; the target is reachable
  (:mod:`.topology`); the quotas, session numbers and source/target rules of :mod:`.session_checks`;
  ``PacketLength`` 8500 for an NLB target; a random VNI when none is given; ClientToken idempotency;
- ``ModifyTrafficMirrorSession``: the same checks for what changes; ``RemoveFields`` resets
  ``packet-length``, ``description`` or ``virtual-network-id`` (a fresh random VNI);
- ``DeleteTrafficMirrorSession``, ``DescribeTrafficMirrorSessions`` (ids, filters, pages);
- ``DeleteNetworkInterface`` (or terminating its instance) deletes the sessions whose source the
  ENI is.

Every session's creation, modification and deletion is reported to :mod:`.ledger`, which the
data plane reads after ``StopMirroring`` deleted the sessions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tapcase.localcloud import patching
from tapcase.localcloud.mirroring import describe, ledger, store, topology
from tapcase.localcloud.mirroring import session_checks as checks
from tapcase.localcloud.patching import Patch

_BACKEND = "moto.ec2.models.traffic_mirrors:TrafficMirrorsBackend"
_ENIS = "moto.ec2.models.elastic_network_interfaces:NetworkInterfaceBackend"

CREATE = Patch(
    target=f"{_BACKEND}.create_traffic_mirror_session",
    fixes="CreateTrafficMirrorSession refuses unknown resources, unreachable targets, the quotas and repeated "
    "numbers; NLB PacketLength 8500; random VNI; ClientToken",
    relies_on="moto's create_traffic_mirror_session(self, network_interface_id, traffic_mirror_target_id, "
    "traffic_mirror_filter_id, session_number, packet_length, virtual_network_id, description, "
    "tag_specifications, client_token) builds the session and keeps it in traffic_mirror_sessions",
    watch={
        f"{_BACKEND}.create_traffic_mirror_session": "a4ff3362bcfd",
        f"{_ENIS}.get_network_interface": "2df29d002be6",
    },
)
MODIFY = Patch(
    target=f"{_BACKEND}.modify_traffic_mirror_session",
    fixes="ModifyTrafficMirrorSession checks what changes as a new session would be, and honours RemoveFields",
    relies_on="moto's response passes the session id, target, filter, packet length, number, VNI and description "
    "by keyword (RemoveFields added by the table)",
    watch={f"{_BACKEND}.modify_traffic_mirror_session": "c41cbb1309ce"},
)
DELETE = Patch(
    target=f"{_BACKEND}.delete_traffic_mirror_session",
    fixes="DeleteTrafficMirrorSession refuses an unknown id (InvalidTrafficMirrorSessionId.NotFound), drops its tags",
    relies_on="moto's delete_traffic_mirror_session(self, traffic_mirror_session_id) popped the id from "
    "traffic_mirror_sessions",
    watch={f"{_BACKEND}.delete_traffic_mirror_session": "c503d767543e"},
)
DESCRIBE = Patch(
    target=f"{_BACKEND}.describe_traffic_mirror_sessions",
    fixes="DescribeTrafficMirrorSessions refuses unknown ids and filter names, supports tag filters and wildcards",
    relies_on="moto's response passes traffic_mirror_session_ids and filters by keyword",
    watch={f"{_BACKEND}.describe_traffic_mirror_sessions": "f1d01b339062"},
)
DELETE_ENI = Patch(
    target=f"{_ENIS}.delete_network_interface",
    fixes="deleting a network interface (DeleteNetworkInterface, instance termination) deletes its sessions",
    relies_on="moto's delete_network_interface(self, eni_id) removes the ENI; NetworkInterface.delete and "
    "instance termination call it with eni_id=",
    watch={
        f"{_ENIS}.delete_network_interface": "744456159848",
        "moto.ec2.models.elastic_network_interfaces:NetworkInterface.delete": "d3edd3d17293",
    },
)


def create_traffic_mirror_session(
    self: Any,
    network_interface_id: str,
    traffic_mirror_target_id: str,
    traffic_mirror_filter_id: str,
    session_number: int,
    packet_length: int | None,
    virtual_network_id: int | None,
    description: str | None,
    tag_specifications: list[dict[str, Any]] | None,
    client_token: str | None,
) -> Any:
    """CreateTrafficMirrorSession with AWS's checks and quotas."""
    request = {
        "network_interface_id": network_interface_id,
        "traffic_mirror_target_id": traffic_mirror_target_id,
        "traffic_mirror_filter_id": traffic_mirror_filter_id,
        "session_number": session_number,
        "packet_length": packet_length,
        "virtual_network_id": virtual_network_id,
        "description": description,
        "tag_specifications": tag_specifications,
    }
    with store.lock:
        earlier = store.earlier(self.traffic_mirror_sessions.values(), client_token, request)
        if earlier is not None:
            return earlier
        eni = self.get_network_interface(network_interface_id)
        target = store.get_target(self, traffic_mirror_target_id)
        mirror_filter = store.get_filter(self, traffic_mirror_filter_id)
        checks.check_source_and_target(self, eni.id, target)
        topology.check_target_reachable(self, eni, target)
        packet_length = topology.default_packet_length(target, packet_length)
        checks.check_sessions_on_source(self, eni.id)
        checks.check_session_number(self, eni.id, session_number)
        checks.check_target_capacity(self, target, eni.id)
        checks.check_account_sessions(self)
        if virtual_network_id is None:
            virtual_network_id = checks.random_vni(self)
        created = patching.ORIGINALS[CREATE.target](
            self, eni.id, target.id, mirror_filter.id, session_number, packet_length, virtual_network_id,
            description, tag_specifications, client_token,
        )
        ledger.session_created(self, created)
        return store.remember(created, request)


def modify_traffic_mirror_session(
    self: Any,
    traffic_mirror_session_id: str,
    traffic_mirror_target_id: str | None,
    traffic_mirror_filter_id: str | None,
    packet_length: int | None,
    session_number: int | None,
    virtual_network_id: int | None,
    description: str | None,
    remove_fields: list[str] | None = None,
) -> Any:
    """ModifyTrafficMirrorSession with the checks of CreateTrafficMirrorSession."""
    with store.lock:
        session = store.get_session(self, traffic_mirror_session_id)
        removed = set(remove_fields or [])
        target = store.get_target(self, traffic_mirror_target_id) if traffic_mirror_target_id else None
        mirror_filter = store.get_filter(self, traffic_mirror_filter_id) if traffic_mirror_filter_id else None
        if session_number is not None:
            checks.check_session_number(self, session.network_interface_id, session_number, exclude=session.id)
        if target is not None and target.id != session.traffic_mirror_target_id:
            checks.check_source_and_target(self, session.network_interface_id, target)
            topology.check_target_reachable(self, self.get_network_interface(session.network_interface_id), target)
            checks.check_target_capacity(self, target, session.network_interface_id, exclude=session.id)
            session.traffic_mirror_target_id = target.id
        if mirror_filter is not None:
            session.traffic_mirror_filter_id = mirror_filter.id
        changes = {"session_number": session_number, "packet_length": packet_length,
                   "virtual_network_id": virtual_network_id, "description": description}
        for key, value in changes.items():
            if value is not None:
                setattr(session, key, value)
        if "packet-length" in removed:
            session.packet_length = None
        if "description" in removed:
            session.description = None
        if "virtual-network-id" in removed:  # the default is a fresh random VNI
            session.virtual_network_id = None
            session.virtual_network_id = checks.random_vni(self)
        current_target = store.get_target(self, session.traffic_mirror_target_id)
        session.packet_length = topology.default_packet_length(current_target, session.packet_length)
        ledger.session_modified(self, session)
        return session


def delete_traffic_mirror_session(self: Any, traffic_mirror_session_id: str) -> str:
    """DeleteTrafficMirrorSession: an unknown id is refused."""
    with store.lock:
        session = store.get_session(self, traffic_mirror_session_id)
        ledger.session_deleted(self, session)
        del self.traffic_mirror_sessions[session.id]
        store.drop_tags(self, [session.id])
        return str(session.id)


def describe_traffic_mirror_sessions(
    self: Any, traffic_mirror_session_ids: list[str] | None, filters: dict[str, list[str]] | None
) -> list[Any]:
    """DescribeTrafficMirrorSessions."""
    with store.lock:
        found = list(self.traffic_mirror_sessions.values())
        return describe.select(found, traffic_mirror_session_ids, "session", filters, describe.SESSION_FILTERS)


def delete_network_interface(self: Any, eni_id: str) -> None:
    """DeleteNetworkInterface also deletes the sessions whose source the ENI is, as on AWS."""
    with store.lock:
        patching.ORIGINALS[DELETE_ENI.target](self, eni_id)
        sessions = getattr(self, "traffic_mirror_sessions", {})
        for session in [s for s in sessions.values() if s.network_interface_id == eni_id]:
            ledger.session_deleted(self, session)
            del sessions[session.id]
            store.drop_tags(self, [session.id])


#: Each record with the function it installs.
FIXES: tuple[tuple[Patch, Callable[..., Any]], ...] = (
    (CREATE, create_traffic_mirror_session),
    (MODIFY, modify_traffic_mirror_session),
    (DELETE, delete_traffic_mirror_session),
    (DESCRIBE, describe_traffic_mirror_sessions),
    (DELETE_ENI, delete_network_interface),
)


def apply() -> None:
    for record, function in FIXES:
        patching.install(record, function)
