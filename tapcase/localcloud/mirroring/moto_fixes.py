"""Every replacement the traffic-mirroring package makes in moto, and :func:`apply`, which makes them.

Each replacement is a :class:`tapcase.localcloud.patching.Patch` record (in the module that holds
the fix) saying what it fixes and which moto behaviour it relies on, with the fingerprints of that
moto code; ``tests/localcloud/test_moto_patches.py`` fails when it changes. Records with
``adds=True`` add what moto 5.2.5 lacks; installing one fails if moto has since gained it.
:func:`check_moto_compatibility` says what no longer fits before anything is patched.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any, Final

from tapcase.localcloud import patching
from tapcase.localcloud.mirroring import filter_rules, filters, malformed, resources, responses, sessions, targets
from tapcase.localcloud.moto_version import PINNED_MOTO_VERSION, installed_moto_version

#: The modules holding fixes, in the order they are installed (models before the code using them).
_FIX_MODULES = (resources, filters, filter_rules, targets, sessions, responses, malformed)

#: The backend records: the control plane installed on moto's TrafficMirrorsBackend (and the ENI fix).
BACKEND_PATCHES: Final[tuple[patching.Patch, ...]] = (
    filters.CREATE, filters.DELETE, filters.DESCRIBE, filters.NETWORK_SERVICES,
    filter_rules.CREATE, filter_rules.MODIFY, filter_rules.DELETE, filter_rules.DESCRIBE,
    targets.CREATE, targets.DELETE, targets.DESCRIBE,
    sessions.CREATE, sessions.MODIFY, sessions.DELETE, sessions.DESCRIBE,
)
#: Every record of the package.
PATCHES: Final[tuple[patching.Patch, ...]] = (
    resources.FILTER_INIT, resources.FILTER_TO_DICT, resources.TARGET_TO_DICT, resources.SESSION_TO_DICT,
    resources.ID_PREFIXES, resources.PREFIX_RESOURCES,
    *BACKEND_PATCHES, sessions.DELETE_ENI,
    *responses.PATCHES,
    malformed.PARSE, malformed.CALL,
)

#: The control plane's functions by moto backend method name (what BACKEND_PATCHES install).
BACKEND_METHODS: Final[dict[str, Callable[..., Any]]] = {
    record.attr_path[-1]: function
    for module in (filters, filter_rules, targets, sessions)
    for record, function in module.FIXES
    if record in BACKEND_PATCHES
}
RESPONSE_METHODS: Final = responses.RESPONSE_METHODS

_apply_lock = threading.Lock()
_applied = False


def _exists_in_moto(record: patching.Patch) -> bool:
    *owner_path, attr = record.attr_path
    owner: Any = importlib.import_module(record.module_name)
    for part in owner_path:
        owner = getattr(owner, part)
    return hasattr(owner, attr)


def check_moto_compatibility() -> list[str]:
    """What the fixes rely on in moto and found changed; an empty list when all is as recorded."""
    from moto.ec2.models import EC2Backend
    from moto.ec2.responses import EC2Response
    from moto.ec2.responses.traffic_mirrors import TrafficMirrors

    problems: list[str] = []
    found = installed_moto_version()
    if found != PINNED_MOTO_VERSION:
        problems.append(f"moto {found} installed, the fixes were written for {PINNED_MOTO_VERSION}")
    for record in PATCHES:
        try:
            changed = patching.stale_watches(record)
            if record.adds and patching.INSTALLED.get(record.target) is not record and _exists_in_moto(record):
                problems.append(f"{record.target}: moto now has it; review the addition: {record.fixes}")
        except (ImportError, AttributeError) as exc:
            problems.append(f"{record.target}: moto code it relies on is gone ({exc})")
            continue
        problems.extend(
            f"{record.target}: moto changed {reference} ({expected} -> {now}); review the fix: {record.fixes}"
            for reference, (expected, now) in changed.items()
        )
    for name in BACKEND_METHODS:
        if name in EC2Backend.__dict__:
            problems.append(f"EC2Backend defines {name} itself and would hide the fix")
    if not issubclass(EC2Response, TrafficMirrors):
        problems.append("EC2Response no longer inherits the TrafficMirrors response class")
    return problems


def is_applied() -> bool:
    """Whether every fix of the package is in place in moto."""
    return all(patching.INSTALLED.get(record.target) is record for record in PATCHES)


def apply() -> None:
    """Patch moto's traffic mirroring in this process (idempotent)."""
    global _applied
    with _apply_lock:
        if _applied:
            return
        problems = check_moto_compatibility()
        if problems:
            raise RuntimeError("tapcase's EC2 traffic-mirroring fixes do not fit moto: " + "; ".join(problems))
        for module in _FIX_MODULES:
            module.apply()
        _applied = True
