"""Render the sensor's cloud-init user data (``sensor_image/boot/user-data.yaml``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tapcase_sensor import paths
from tapcase_sensor.config import parse_config
from tapcase_sensor.errors import SensorConfigError

PLACEHOLDER = "AGENT_CONFIG_JSON"


def user_data_template() -> Path:
    return paths.sensor_image_dir() / "boot" / "user-data.yaml"


def render_user_data(config: dict[str, Any], template: Path | None = None) -> str:
    """The cloud-config document that writes ``config`` to /etc/tapcase-sensor/agent.json.

    The config is validated first (same rules as the agent), then inserted as one JSON line
    at the placeholder's indentation inside the YAML block scalar.
    """
    parse_config(config)
    text = (template or user_data_template()).read_text(encoding="utf-8")
    lines = text.splitlines()
    hits = [i for i, line in enumerate(lines) if line.strip() == PLACEHOLDER]
    if len(hits) != 1:
        raise SensorConfigError(f"user-data template must hold {PLACEHOLDER} on exactly one line")
    indent = lines[hits[0]][: len(lines[hits[0]]) - len(lines[hits[0]].lstrip())]
    lines[hits[0]] = indent + json.dumps(config, sort_keys=True, separators=(",", ":"))
    return "\n".join(lines) + "\n"
