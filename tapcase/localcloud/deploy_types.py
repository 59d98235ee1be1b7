"""What the local deployer records of a deployed resource (shared by its resource modules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Deployed:
    logical_id: str
    type: str
    ref: Any
    attributes: dict[str, Any] = field(default_factory=dict)


def tags_list(tags: dict[str, str] | list[dict[str, str]] | None) -> list[dict[str, str]]:
    """CloudFormation tags (a map or a Key/Value list) as the APIs' Key/Value list."""
    if not tags:
        return []
    if isinstance(tags, dict):
        return [{"Key": k, "Value": str(v)} for k, v in tags.items()]
    return [{"Key": t["Key"], "Value": str(t["Value"])} for t in tags]
