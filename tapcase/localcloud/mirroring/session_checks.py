"""What a Traffic Mirror session may be: the checks of Create/ModifyTrafficMirrorSession that involve
other resources, and the VNI AWS picks.

- The Traffic Mirroring quotas: 3 sessions per source network interface
  (``TrafficMirrorSessionsPerInterfaceLimitExceeded``), 10 sources per ENI target
  (``TrafficMirrorSourcesPerTargetLimitExceeded``; NLB and Gateway Load Balancer endpoint targets
  take any number), 10,000 sessions per account (``TrafficMirrorSessionLimitExceeded``).
- One session number per source ENI (it orders the sessions: "The first session with a matching
  filter is the one that mirrors the packets").
- An ENI cannot be a mirror source and a mirror target at once.
- An unset ``VirtualNetworkId`` is a random 24-bit VNI unused in the account, as on AWS.
"""

from __future__ import annotations

from typing import Any

from moto.moto_api._internal import mock_random

from tapcase.localcloud.mirroring import errors, limits


def check_source_and_target(backend: Any, source_eni_id: str, target: Any) -> None:
    """An ENI cannot be a mirror source and a mirror target at once."""
    # UNCONFIRMED: the error code AWS returns for these three cases (InvalidParameterValue assumed).
    if target.network_interface_id == source_eni_id:
        raise errors.invalid(
            f"The network interface {source_eni_id} cannot be both the source and the target "
            f"({target.id}) of a Traffic Mirror session."
        )
    for other in backend.traffic_mirror_targets.values():
        if other.network_interface_id == source_eni_id:
            raise errors.invalid(
                f"The network interface {source_eni_id} is used by Traffic Mirror target {other.id} "
                "and cannot be a Traffic Mirror source."
            )
    if target.network_interface_id:
        for session in backend.traffic_mirror_sessions.values():
            if session.network_interface_id == target.network_interface_id:
                raise errors.invalid(
                    f"The network interface {target.network_interface_id} of Traffic Mirror target "
                    f"{target.id} is the source of Traffic Mirror session {session.id} and cannot be a target."
                )


def check_sessions_on_source(backend: Any, source_eni_id: str) -> None:
    on_source = [s for s in backend.traffic_mirror_sessions.values() if s.network_interface_id == source_eni_id]
    if len(on_source) >= limits.SESSIONS_PER_SOURCE_ENI:
        raise errors.refused(
            "TrafficMirrorSessionsPerInterfaceLimitExceeded",
            f"The allowed number of Traffic Mirror sessions ({limits.SESSIONS_PER_SOURCE_ENI}) for the network "
            f"interface {source_eni_id} has been exceeded.",
        )


def check_target_capacity(backend: Any, target: Any, source_eni_id: str, exclude: str | None = None) -> None:
    if not target.network_interface_id:
        return  # NLB and GWLB endpoint targets take any number of sources
    sources = {
        s.network_interface_id
        for s in backend.traffic_mirror_sessions.values()
        if s.traffic_mirror_target_id == target.id and s.id != exclude
    }
    sources.add(source_eni_id)
    if len(sources) > limits.SOURCES_PER_ENI_TARGET:
        raise errors.refused(
            "TrafficMirrorSourcesPerTargetLimitExceeded",
            f"The maximum number of Traffic Mirror sources ({limits.SOURCES_PER_ENI_TARGET}) for the Traffic Mirror "
            f"target {target.id} has been exceeded.",
        )


def check_account_sessions(backend: Any) -> None:
    if len(backend.traffic_mirror_sessions) >= limits.SESSIONS_PER_ACCOUNT:
        raise errors.refused(
            "TrafficMirrorSessionLimitExceeded",
            f"The maximum number of Traffic Mirror sessions ({limits.SESSIONS_PER_ACCOUNT}) has been exceeded.",
        )


def check_session_number(backend: Any, source_eni_id: str, number: int, exclude: str | None = None) -> None:
    for session in backend.traffic_mirror_sessions.values():
        if session.network_interface_id == source_eni_id and session.session_number == number and session.id != exclude:
            # UNCONFIRMED: the code AWS returns for a repeated session number (InvalidParameterValue assumed).
            raise errors.invalid(
                f"The session number {number} is already used by Traffic Mirror session {session.id} "
                f"on network interface {source_eni_id}."
            )


def random_vni(backend: Any) -> int:
    """A VNI unused in the account, chosen at random like AWS does."""
    used = {s.virtual_network_id for s in backend.traffic_mirror_sessions.values()}
    while True:
        vni = mock_random.randint(1, limits.VNI_MAX)
        if vni not in used:
            return int(vni)
