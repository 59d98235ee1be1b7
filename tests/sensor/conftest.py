"""Shared fixtures for the sensor tests.

The oracles are real engine outputs kept outside the repository in ``../shared/data``
(see its PROVENANCE.md); they are read in place, never copied into the repo.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = (REPO / ".." / "shared" / "data").resolve()
SENSOR_IMAGE = REPO / "sensor_image"
SV = DATA / "suricata-verify"
SURI_OUT = DATA / "suri-out"
ZEEK = DATA / "zeek"
BRIM = ZEEK / "brimdata-zed-sample-data"
BTEST = ZEEK / "zeek-btest"

MASK = re.compile(r"XXXXXXXXXX\.XXXXXX")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if DATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"shared test data not found at {DATA} (see PROVENANCE.md)")
    for item in items:
        if "tests/sensor" in str(item.fspath).replace("\\", "/"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def suricata_bin() -> str:
    path = shutil.which("suricata")
    if path is None:
        pytest.fail("suricata is required for the sensor tests (scripts/install-system-deps.sh installs it)")
    return path


def unmask(src: Path, dst_dir: Path, ts: str = "1000000000.000000") -> Path:
    """A copy of a btest baseline with the masked timestamps replaced by a number."""
    dst = dst_dir / src.parent.name / src.name
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(MASK.sub(ts, src.read_text(encoding="utf-8")), encoding="utf-8")
    return dst
