"""How the local cloud's fixes are put into moto: one :class:`Patch` record per replacement.

Every replacement of a moto function, method or constant (Step Functions: ``tapcase/localcloud/sfn/``,
Athena: ``tapcase/localcloud/athena/``, EC2 traffic mirroring: ``tapcase/localcloud/mirroring/``) is
made through :func:`install`, with a record that says in
one line what it fixes on the AWS side and which moto behaviour it relies on, and which moto code
it was written against (``watch``: the objects whose source it relies on).
``tests/localcloud/test_moto_patches.py`` checks each record: the moto source it watches is the
one it was written against (a sha256 prefix of :func:`inspect.getsource`), and after
``tapcase.localcloud.patches.apply_all()`` the target holds tapcase's replacement. When moto
changes what a fix relies on, that test names the fix to review; after the review,
:func:`print_fingerprints` (once ``apply_all()`` ran) prints the new fingerprints to record.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import pkgutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Patch:
    """One replacement in moto: ``target`` is ``"module:attr"`` or ``"module:Class.attr"``."""

    target: str
    fixes: str
    relies_on: str
    #: ``{"module:qualname": sha256-prefix}`` of the moto code this fix was written against.
    watch: dict[str, str] = field(default_factory=dict)
    #: moto lacks the target: the fix adds it (and :func:`install` refuses once moto has it).
    adds: bool = False

    @property
    def module_name(self) -> str:
        return self.target.split(":", 1)[0]

    @property
    def attr_path(self) -> list[str]:
        return self.target.split(":", 1)[1].split(".")


#: Every patch installed so far, by target (filled by :func:`install`, in apply order).
INSTALLED: dict[str, Patch] = {}
#: moto's objects as they were before tapcase replaced them, by target.
ORIGINALS: dict[str, Any] = {}
#: tapcase's replacement, by target.
REPLACEMENTS: dict[str, Any] = {}


def resolve(reference: str) -> Any:
    """The object named ``"module:qualname"`` (for a patched target: what it holds now)."""
    module_name, _, qualname = reference.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def fingerprint(obj: Any) -> str:
    """sha256 prefix of an object's source (of its ``repr`` for constants)."""
    try:
        text = inspect.getsource(obj)
    except TypeError:
        text = repr(obj)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def install(patch: Patch, replacement: Any, *, everywhere: bool = False) -> Any:
    """Put ``replacement`` at ``patch.target`` and return what moto had there (None for ``adds``).

    ``everywhere``: for a module-level function or constant, also replace it in every loaded moto
    module that imported it by name (``from … import extract_json``).
    """
    module = importlib.import_module(patch.module_name)
    *owner_path, attr = patch.attr_path
    owner: Any = module
    for part in owner_path:
        owner = getattr(owner, part)
    if patch.target in REPLACEMENTS:
        raise RuntimeError(f"{patch.target} is patched twice")
    if patch.adds:
        if hasattr(owner, attr):
            raise RuntimeError(f"moto now has {patch.target}, which tapcase adds: review the fix ({patch.fixes})")
        original = None
    else:
        original = inspect.getattr_static(owner, attr) if isinstance(owner, type) else getattr(owner, attr)
    if everywhere and not patch.adds:
        for name, loaded in list(sys.modules.items()):
            if name.startswith("moto.") and loaded is not None and getattr(loaded, attr, None) is original:
                setattr(loaded, attr, replacement)
    setattr(owner, attr, replacement)
    INSTALLED[patch.target] = patch
    ORIGINALS[patch.target] = original
    REPLACEMENTS[patch.target] = replacement
    return original


def unwrap(obj: Any) -> Any:
    """The function inside a ``staticmethod``/``classmethod``, else ``obj``."""
    return obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj


def watched(*references: str) -> dict[str, str]:
    """Fingerprints of moto objects as they are now (for writing a new :class:`Patch`)."""
    return {reference: fingerprint(unwrap(resolve(reference))) for reference in references}


def stale_watches(patch: Patch, lookup: Callable[[str], Any] | None = None) -> dict[str, tuple[str, str]]:
    """Watched objects whose moto source changed: ``{reference: (expected, found)}``.

    A watched reference that is itself a patched target is read from :data:`ORIGINALS`.
    """
    lookup = lookup or (lambda ref: ORIGINALS[ref] if ref in ORIGINALS else resolve(ref))
    changed = {}
    for reference, expected in patch.watch.items():
        found = fingerprint(unwrap(lookup(reference)))
        if found != expected:
            changed[reference] = (expected, found)
    return changed


def records_of(package: str) -> list[Patch]:
    """The :class:`Patch` records defined at module level in ``package``'s modules, alone or in a
    module-level tuple (installed or not)."""
    root = importlib.import_module(package)
    modules = [root] + [
        importlib.import_module(info.name) for info in pkgutil.iter_modules(root.__path__, f"{package}.")
    ]
    found: dict[int, Patch] = {}
    for module in modules:
        for value in vars(module).values():
            for candidate in value if isinstance(value, tuple) else (value,):
                if isinstance(candidate, Patch):
                    found.setdefault(id(candidate), candidate)
    return list(found.values())


def print_fingerprints() -> None:  # pragma: no cover - a maintenance aid
    """Print the current fingerprints of every watched moto object, by installed patch."""
    for target, patch in INSTALLED.items():
        print(target)
        for reference in patch.watch:
            obj = ORIGINALS[reference] if reference in ORIGINALS else resolve(reference)
            print(f"    {reference!r}: {fingerprint(unwrap(obj))!r},")
