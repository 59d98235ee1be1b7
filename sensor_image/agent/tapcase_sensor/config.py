"""Where the agent finds its configuration, one :class:`~tapcase_contract.sensor_config.SensorConfig`
(the model Plan writes into the sensor's user data; defined once, in ``tapcase_contract``).

On a sensor instance the configuration is JSON, found (first match wins) at the path given
with ``--config``, at ``$TAPCASE_SENSOR_CONFIG``, at ``/etc/tapcase-sensor/agent.json`` (written
by cloud-init from ``sensor_image/boot/user-data.yaml``) or as the instance's raw user data
(IMDSv2), which may itself be that JSON object. A config the contract refuses is a
:class:`~tapcase_sensor.errors.SensorConfigError`.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tapcase_contract import ContractError
from tapcase_contract.sensor_config import SensorConfig
from tapcase_sensor.errors import SensorConfigError, SensorQueueNotFound

DEFAULT_CONFIG_PATH = Path("/etc/tapcase-sensor/agent.json")
IMDS = "http://169.254.169.254"


def parse_config(data: Any) -> SensorConfig:
    """The config from its JSON object (:class:`SensorConfigError` saying what is wrong)."""
    try:
        return SensorConfig.from_dict(data)
    except ContractError as exc:
        raise SensorConfigError(str(exc)) from None


def load_config(path: str | os.PathLike[str] | None = None) -> SensorConfig:
    """From ``path``, ``$TAPCASE_SENSOR_CONFIG``, the default file, or IMDS user data."""
    candidates = [Path(p) for p in (path, os.environ.get("TAPCASE_SENSOR_CONFIG")) if p]
    for candidate in candidates:
        if not candidate.is_file():
            raise SensorConfigError(f"agent config file not found: {candidate}")
        return parse_config(_read_json(candidate.read_text(encoding="utf-8"), str(candidate)))
    if DEFAULT_CONFIG_PATH.is_file():
        return parse_config(_read_json(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"), str(DEFAULT_CONFIG_PATH)))
    user_data = fetch_user_data()
    if user_data is None:
        raise SensorConfigError(f"no agent config: no --config, no {DEFAULT_CONFIG_PATH}, no instance user data")
    return parse_config(_read_json(user_data, "instance user data"))


def resolve_queue_url(config: SensorConfig, sqs: Any) -> SensorConfig:
    """``config`` with ``control_queue_url`` resolved from ``control_queue_name`` (GetQueueUrl)."""
    if config.control_queue_url:
        return config
    try:
        url = sqs.get_queue_url(QueueName=config.control_queue_name)["QueueUrl"]
    except Exception as exc:  # botocore ClientError / connection errors
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
            raise SensorQueueNotFound(f"control queue {config.control_queue_name!r} does not exist yet") from None
        raise SensorConfigError(f"cannot resolve control queue {config.control_queue_name!r}: {exc}") from None
    return config.with_queue_url(str(url))


def _read_json(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SensorConfigError(f"{where} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SensorConfigError(f"{where} must hold a JSON object")
    # The config may be nested under "tapcase_sensor" to share user data with other tools.
    nested = data.get("tapcase_sensor")
    return nested if isinstance(nested, dict) else data


def fetch_user_data(timeout: float = 2.0) -> str | None:
    """The instance's user data through IMDSv2, or None when not on EC2 / none set."""
    try:
        token_req = urllib.request.Request(
            f"{IMDS}/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"}
        )
        with urllib.request.urlopen(token_req, timeout=timeout) as resp:  # noqa: S310 (fixed IMDS URL)
            token = resp.read().decode()
        req = urllib.request.Request(f"{IMDS}/latest/user-data", headers={"X-aws-ec2-metadata-token": token})
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return str(resp.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, TimeoutError):
        return None
