"""The moto version the local cloud's fixes were written for (pinned exactly in pyproject.toml).

Imported by every module that checks moto before patching it; it imports no local-cloud module,
so that it never closes an import circle (``patches`` imports the patch modules, they import this).
``tests/localcloud/test_moto_pin.py`` fails when pyproject.toml or the installed moto disagree with it.
"""

from __future__ import annotations

from typing import Final

PINNED_MOTO_VERSION: Final[str] = "5.2.5"


class MotoVersionMismatch(RuntimeError):
    """The installed moto is not the version tapcase's patches were written for."""


def installed_moto_version() -> str:
    import moto

    return str(moto.__version__)


def require_pinned_moto() -> None:
    """Raise :class:`MotoVersionMismatch` unless the installed moto is the pinned one."""
    found = installed_moto_version()
    if found != PINNED_MOTO_VERSION:
        raise MotoVersionMismatch(
            f"tapcase's local cloud patches moto {PINNED_MOTO_VERSION}; found {found}. "
            "Re-check every module in tapcase/localcloud against the new version before bumping the pin."
        )
