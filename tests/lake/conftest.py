"""Datasets of the lake tests, each curated once per test session."""

from __future__ import annotations

import pytest

from tests.conftest import shared
from tests.lake.helpers import Lake, build_lake
from tests.lake.synth import generate


@pytest.fixture(scope="session")
def brim_json(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """Real Zeek 6.2 logs (WRCCDC 2018), JSON with ISO times and _path."""
    out = tmp_path_factory.mktemp("brim-json")
    return build_lake(shared("zeek", "brimdata-zed-sample-data", "zeek-json"), out, "brim-json")


@pytest.fixture(scope="session")
def suri_bug28(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """Suricata 7.0.10 EVE of suricata-verify bug-28 run with its rules."""
    out = tmp_path_factory.mktemp("suri-bug28")
    return build_lake(shared("suri-out", "rules_bug-28"), out, "suri-bug28")


@pytest.fixture(scope="session")
def suri_all(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """Every Suricata EVE output of ../shared/data/suri-out as one investigation (no Zeek)."""
    out = tmp_path_factory.mktemp("suri-all")
    return build_lake(shared("suri-out"), out, "suri-all")


@pytest.fixture(scope="session")
def planted_logs(tmp_path_factory: pytest.TempPathFactory):
    logs = tmp_path_factory.mktemp("planted-logs")
    generate(logs, seed=7, background_conns=1500)
    return logs


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory, planted_logs) -> Lake:
    out = tmp_path_factory.mktemp("planted-lake")
    return build_lake(planted_logs, out, "planted-1")
