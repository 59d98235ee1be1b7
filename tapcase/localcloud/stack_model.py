"""What the local deployer made of a template: its resources (physical ids, attributes) and outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tapcase.localcloud.cfn import TemplateError


@dataclass
class Deployed:
    logical_id: str
    type: str
    ref: Any
    attributes: dict[str, Any] = field(default_factory=dict)
    #: the evaluated properties it was created with (deleting some types needs them)
    properties: dict[str, Any] = field(default_factory=dict)
    #: ``DeletionPolicy`` ("Delete" or "Retain")
    deletion_policy: str = "Delete"


@dataclass
class Stack:
    """``resources`` in creation order (deletion goes in reverse)."""

    name: str
    template_path: Path
    resources: dict[str, Deployed] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    stack_id: str = ""

    def ref(self, logical_id: str) -> Any:
        try:
            return self.resources[logical_id].ref
        except KeyError:
            raise KeyError(f"no deployed resource {logical_id!r} in stack {self.name}") from None

    def get_att(self, logical_id: str, attribute: str) -> Any:
        deployed = self.resources.get(logical_id)
        if deployed is None:
            raise KeyError(f"no deployed resource {logical_id!r} in stack {self.name}")
        if attribute not in deployed.attributes:
            raise TemplateError(f"{logical_id} ({deployed.type}) has no attribute {attribute!r} locally")
        return deployed.attributes[attribute]

    def of_type(self, resource_type: str) -> dict[str, Deployed]:
        return {k: v for k, v in self.resources.items() if v.type == resource_type}


def tags_list(tags: dict[str, str] | list[dict[str, str]] | None) -> list[dict[str, str]]:
    """CloudFormation tags (a map or a Key/Value list) as the APIs' Key/Value list."""
    if not tags:
        return []
    if isinstance(tags, dict):
        return [{"Key": k, "Value": str(v)} for k, v in tags.items()]
    return [{"Key": t["Key"], "Value": str(t["Value"])} for t in tags]
