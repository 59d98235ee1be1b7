"""Mirror sessions over time, for the data plane: when each existed and with which parameters.

The sensor's engines read their interface capture when the agent collects, after ``StopMirroring``
has deleted the sessions. So the control plane (:mod:`.sessions`) reports every session's
creation, modification and deletion here (:func:`session_created`, :func:`session_modified`,
:func:`session_deleted`); each record keeps the session's parameters, its filter's rules and
network services, and its source ENI's addresses, refreshed at every event (a deleted session
keeps the state at its deletion; a session modified while it ran is taken with its last
parameters for its whole life). :func:`sources_targeting` gives the data plane every source ENI
with a session to one of a sensor's ENIs, with all of that ENI's sessions (whatever their
target: a lower-numbered session to another target takes packets away).

A deleted session is forgotten (:func:`forget_unreadable`, at each deletion) once no sensor can
read packets of its lifetime any more: its target is gone (the sensor's interface deleted with the
instance, :mod:`tapcase.localcloud.ec2_retention`) and it was deleted before every session on the
same source interface whose target still exists was created. AWS keeps nothing of a deleted session either; without this a
long-running local cloud kept every session of every run.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from tapcase.localcloud.mirroring import packet_filter as mr

_lock = threading.RLock()


@dataclass
class _Record:
    spec: mr.SessionSpec
    source: tuple[str, str, frozenset[bytes], frozenset[bytes]] | None  # primary IP, MAC, addresses, resolvers


_records: dict[str, _Record] = {}


def reset() -> None:
    """Forget every session (a fresh local cloud)."""
    with _lock:
        _records.clear()


def _filter_spec(backend: Any, filter_id: str) -> mr.FilterSpec | None:
    found = getattr(backend, "traffic_mirror_filters", {}).get(filter_id)
    if found is None:
        return None
    rules = [(rule.traffic_direction, mr.Rule.from_fields(rule.fields())) for rule in found.rules.values()]
    return mr.FilterSpec.build(found.id, rules, list(found.network_services))


def _source(backend: Any, eni_id: str) -> tuple[str, str, frozenset[bytes], frozenset[bytes]] | None:
    eni = getattr(backend, "enis", {}).get(eni_id)
    if eni is None:
        return None
    ips = [eni.private_ip_address] + [
        a.get("PrivateIpAddress") for a in eni.private_ip_addresses or [] if isinstance(a, dict)
    ]
    ips += list(eni.ipv6_addresses or [])
    addresses = frozenset(mr.packed(ip) for ip in ips if ip)
    cidr = None
    subnet = getattr(eni, "subnet", None)
    if subnet is not None:
        vpc = backend.vpcs.get(subnet.vpc_id)
        cidr = getattr(vpc, "cidr_block", None)
    return eni.private_ip_address, eni.mac_address, addresses, mr.resolver_addresses(cidr)


def _target_eni(backend: Any, target_id: str) -> str | None:
    """Where a session's packets arrive: the target's ENI, or for a Network Load Balancer or
    Gateway Load Balancer endpoint target the target's own id (a local fleet member takes the
    flows the load balancer gives it: :mod:`tapcase.localcloud.fleet`)."""
    target = getattr(backend, "traffic_mirror_targets", {}).get(target_id)
    if target is None:
        return None
    return getattr(target, "network_interface_id", None) or target.id


def _refresh(backend: Any, session: Any, record: _Record | None, now: float) -> _Record:
    previous = record.spec if record else None
    mirror_filter = _filter_spec(backend, session.traffic_mirror_filter_id) or (
        previous.filter if previous else mr.FilterSpec(session.traffic_mirror_filter_id, (), (), frozenset())
    )
    target_eni = _target_eni(backend, session.traffic_mirror_target_id)
    if target_eni is None and previous and previous.target_id == session.traffic_mirror_target_id:
        target_eni = previous.target_eni
    spec = mr.SessionSpec(
        session_id=session.id,
        number=int(session.session_number),
        source_eni=session.network_interface_id,
        target_id=session.traffic_mirror_target_id,
        target_eni=target_eni,
        vni=int(session.virtual_network_id),
        packet_length=None if session.packet_length is None else int(session.packet_length),
        filter=mirror_filter,
        created=previous.created if previous else now,
        deleted=previous.deleted if previous else None,
    )
    source = _source(backend, session.network_interface_id) or (record.source if record else None)
    return _Record(spec, source)


def session_created(backend: Any, session: Any) -> None:
    with _lock:
        _records[session.id] = _refresh(backend, session, None, time.time())


def session_modified(backend: Any, session: Any) -> None:
    with _lock:
        _records[session.id] = _refresh(backend, session, _records.get(session.id), time.time())


def session_deleted(backend: Any, session: Any) -> None:
    now = time.time()
    with _lock:
        record = _refresh(backend, session, _records.get(session.id), now)
        record.spec = replace(record.spec, deleted=now)
        _records[session.id] = record
        forget_unreadable(backend)


def _target_exists(backend: Any, spec: mr.SessionSpec) -> bool:
    if spec.target_eni is not None and spec.target_eni in getattr(backend, "enis", {}):
        return True
    return spec.target_id in getattr(backend, "traffic_mirror_targets", {})


def forget_unreadable(backend: Any) -> list[str]:
    """Forgets the deleted sessions no sensor can read packets of any more (see the module
    docstring); the ids forgotten."""
    with _lock:
        oldest: dict[str, float] = {}  # source ENI -> the earliest creation of a session a sensor may read
        for r in _records.values():
            if r.spec.deleted is None or _target_exists(backend, r.spec):
                oldest[r.spec.source_eni] = min(r.spec.created, oldest.get(r.spec.source_eni, float("inf")))
        gone = [sid for sid, r in _records.items()
                if r.spec.deleted is not None and not _target_exists(backend, r.spec)
                and r.spec.deleted < oldest.get(r.spec.source_eni, float("inf"))]
        for session_id in gone:
            _records.pop(session_id, None)
    return gone


def session_ids() -> list[str]:
    """The sessions the ledger keeps (tests, holdings)."""
    with _lock:
        return list(_records)


def sources_targeting(backend: Any, target_enis: Iterable[str]) -> list[mr.SourceSpec]:
    """Every source ENI with a session (now or before) whose target is one of ``target_enis``,
    with all the sessions it had, lowest session number first."""
    wanted = set(target_enis)
    live = getattr(backend, "traffic_mirror_sessions", {})
    with _lock:
        for session in list(live.values()):  # parameters and filters as they are now
            if session.id in _records and _records[session.id].spec.deleted is None:
                _records[session.id] = _refresh(backend, session, _records[session.id], time.time())
        records = list(_records.values())
    enis = {r.spec.source_eni for r in records if r.spec.target_eni in wanted}
    out = []
    for eni_id in sorted(enis):
        mine = [r for r in records if r.spec.source_eni == eni_id]
        source = next((r.source for r in mine if r.source is not None), None)
        if source is None:
            continue
        primary, mac, addresses, resolvers = source
        out.append(mr.SourceSpec(
            eni_id=eni_id, primary_ip=primary, mac=mac, addresses=addresses, resolvers=resolvers,
            sessions=tuple(sorted((r.spec for r in mine), key=lambda s: (s.number, s.created))),
        ))
    return out


def vpc_resolver(cidr: str | None) -> str | None:
    """The VPC resolver's address (primary CIDR base + 2)."""
    if not cidr:
        return None
    return str(ipaddress.ip_network(cidr, strict=False).network_address + 2)


__all__ = [
    "forget_unreadable", "reset", "session_created", "session_deleted", "session_ids", "session_modified",
    "sources_targeting", "vpc_resolver",
]
