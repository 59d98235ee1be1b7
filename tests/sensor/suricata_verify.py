"""Evaluate suricata-verify ``test.yaml`` checks against an eve.json.

Supports what the shared tests use: ``filter`` checks with ``count`` and ``match`` (dotted
paths, ``[n]`` list indexes, nested mappings) and ``requires`` with ``min-version`` /
``lt-version`` on the Suricata major version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

_MISSING = object()
_INDEX = re.compile(r"^(.*)\[(\d+)\]$")


def lookup(record: Any, path: str) -> Any:
    node = record
    for part in path.split("."):
        m = _INDEX.match(part)
        key, index = (m.group(1), int(m.group(2))) if m else (part, None)
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
        if index is not None:
            if not isinstance(node, list) or index >= len(node):
                return _MISSING
            node = node[index]
    return node


def matches(record: dict[str, Any], expected: dict[str, Any], prefix: str = "") -> bool:
    for key, want in expected.items():
        path = f"{prefix}{key}"
        if isinstance(want, dict):
            if not matches(record, want, prefix=f"{path}."):
                return False
            continue
        got = lookup(record, path)
        if got is _MISSING or got != want:
            return False
    return True


def applies(check: dict[str, Any], major: int) -> bool:
    requires = check.get("requires") or {}
    if "min-version" in requires and major < int(str(requires["min-version"]).split(".")[0]):
        return False
    if "lt-version" in requires and major >= int(str(requires["lt-version"]).split(".")[0]):
        return False
    return True


def filter_checks(test_yaml: Path, major: int) -> list[dict[str, Any]]:
    spec = yaml.safe_load(test_yaml.read_text(encoding="utf-8"))
    out = []
    for item in spec.get("checks", []):
        check = item.get("filter")
        if check is not None and applies(check, major):
            out.append(check)
    return out


def failures(records: Iterable[dict[str, Any]], checks: list[dict[str, Any]]) -> list[str]:
    records = list(records)
    problems = []
    for check in checks:
        n = sum(1 for r in records if matches(r, check["match"]))
        if n != check["count"]:
            problems.append(f"expected {check['count']} got {n} for {check['match']}")
    return problems
