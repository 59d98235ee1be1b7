"""Where the sensor's engine configuration lives.

One copy of each file: ``sensor_image/`` in the repository (the agent installed editable, the
tests, the local cloud), ``/opt/tapcase-sensor`` on the sensor AMI (the recipe copies the
directory there), or wherever ``TAPCASE_SENSOR_IMAGE_DIR`` points.
"""

from __future__ import annotations

import os
from pathlib import Path

from tapcase_sensor.errors import SensorConfigError

INSTALLED_DIR = Path("/opt/tapcase-sensor")
_REPO_DIR = Path(__file__).resolve().parents[2]


def sensor_image_dir() -> Path:
    candidates: list[Path] = []
    env = os.environ.get("TAPCASE_SENSOR_IMAGE_DIR")
    if env:
        candidates.append(Path(env))
    candidates += [_REPO_DIR, INSTALLED_DIR]
    for candidate in candidates:
        if (candidate / "suricata" / "suricata.yaml").is_file():
            return candidate
    raise SensorConfigError(
        "sensor configuration not found: looked for suricata/suricata.yaml under "
        + ", ".join(str(c) for c in candidates)
        + " (set TAPCASE_SENSOR_IMAGE_DIR)"
    )


def suricata_config() -> Path:
    return sensor_image_dir() / "suricata" / "suricata.yaml"


def suricata_rules_dir() -> Path:
    return sensor_image_dir() / "suricata" / "rules"


def zeek_script() -> Path:
    return sensor_image_dir() / "zeek" / "local.zeek"


def compose_file() -> Path:
    return sensor_image_dir() / "compose.yaml"
