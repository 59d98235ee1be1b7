"""Moved to the package :mod:`tapcase.localcloud.mirroring` (issue 9: split by concern); this path
keeps the names other code imported from it. New code imports the package's modules."""

from tapcase.localcloud.mirroring.actions import (
    DIRECTIONS,
    NETWORK_SERVICES,
    RULE_ACTIONS,
    RULE_REMOVABLE_FIELDS,
    SESSION_REMOVABLE_FIELDS,
)
from tapcase.localcloud.mirroring.limits import (
    FILTERS_PER_ACCOUNT,
    NUMBER_MAX,
    NUMBER_MIN,
    PACKET_LENGTH_MAX,
    PACKET_LENGTH_MIN,
    PROTOCOLS_WITH_PORTS,
    RULES_PER_FILTER,
    SESSIONS_PER_ACCOUNT,
    SESSIONS_PER_SOURCE_ENI,
    SOURCES_PER_ENI_TARGET,
    TARGETS_PER_ACCOUNT,
    VNI_MAX,
)
from tapcase.localcloud.mirroring.moto_fixes import (
    BACKEND_METHODS,
    RESPONSE_METHODS,
    apply,
    check_moto_compatibility,
    is_applied,
)
from tapcase.localcloud.mirroring.resources import AWS_ID_PREFIXES, TrafficMirrorFilterRule
from tapcase.localcloud.mirroring.sessions import delete_network_interface
from tapcase.localcloud.mirroring.store import lock as state_lock

__all__ = [
    "AWS_ID_PREFIXES",
    "BACKEND_METHODS",
    "DIRECTIONS",
    "FILTERS_PER_ACCOUNT",
    "NETWORK_SERVICES",
    "NUMBER_MAX",
    "NUMBER_MIN",
    "PACKET_LENGTH_MAX",
    "PACKET_LENGTH_MIN",
    "PROTOCOLS_WITH_PORTS",
    "RESPONSE_METHODS",
    "RULES_PER_FILTER",
    "RULE_ACTIONS",
    "RULE_REMOVABLE_FIELDS",
    "SESSIONS_PER_ACCOUNT",
    "SESSIONS_PER_SOURCE_ENI",
    "SESSION_REMOVABLE_FIELDS",
    "SOURCES_PER_ENI_TARGET",
    "TARGETS_PER_ACCOUNT",
    "VNI_MAX",
    "TrafficMirrorFilterRule",
    "apply",
    "check_moto_compatibility",
    "delete_network_interface",
    "is_applied",
    "state_lock",
]
