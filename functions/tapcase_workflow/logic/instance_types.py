"""Which instance types VPC Traffic Mirroring can use as a source (from AWS's documentation).

A static list goes stale, so the state machine also turns AWS's own refusal at session creation
into :class:`~tapcase_workflow.errors.MirrorSetupFailed`.
"""

from __future__ import annotations

# Previous-generation and non-Nitro families that cannot be mirrored.
UNSUPPORTED_FAMILIES = frozenset(
    {"t1", "t2", "m1", "m2", "m3", "c1", "c3", "cc1", "cc2", "cg1", "cr1", "g2", "hi1", "hs1", "i2", "r3"}
)
# Non-Nitro families that are supported nevertheless.
SUPPORTED_NON_NITRO = frozenset({"c4", "d2", "g3", "g3s", "h1", "i3", "m4", "p2", "p3", "r4", "x1", "x1e"})


def family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0].lower()


def mirroring_supported(instance_type: str) -> tuple[bool, str]:
    """(supported, reason)."""
    fam = family(instance_type)
    size = instance_type.split(".", 1)[1] if "." in instance_type else ""
    if fam in UNSUPPORTED_FAMILIES:
        return False, f"{instance_type}: the {fam} family does not support traffic mirroring"
    if size.startswith("metal"):
        return False, f"{instance_type}: bare metal instances do not support traffic mirroring"
    return True, ""
