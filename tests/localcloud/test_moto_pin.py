"""moto is pinned exactly: the local cloud's fixes rely on its internals (``tapcase.localcloud.moto_version``)."""

from __future__ import annotations

import re
import tomllib

import pytest

from tapcase.localcloud import moto_version
from tests.conftest import REPO


def test_installed_moto_is_the_pinned_one() -> None:
    assert moto_version.installed_moto_version() == moto_version.PINNED_MOTO_VERSION
    moto_version.require_pinned_moto()


def test_pyproject_pins_the_version_the_fixes_were_written_for() -> None:
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    pins = [re.fullmatch(r"moto\[[^\]]*\]==(\S+)", d) for d in dependencies if d.startswith("moto")]
    assert [pin.group(1) for pin in pins if pin] == [moto_version.PINNED_MOTO_VERSION]


def test_another_moto_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto_version, "installed_moto_version", lambda: "9.9.9")
    with pytest.raises(moto_version.MotoVersionMismatch, match="patches moto 5.2.5; found 9.9.9"):
        moto_version.require_pinned_moto()
