"""The agent's configuration: which investigation, which control queue, where logs go.

On a sensor instance the configuration is JSON, found (first match wins) at the path given
with ``--config``, at ``$TAPCASE_SENSOR_CONFIG``, at ``/etc/tapcase-sensor/agent.json`` (written
by cloud-init from ``sensor_image/boot/user-data.yaml``) or as the instance's raw user data
(IMDSv2), which may itself be that JSON object.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from tapcase_sensor.capture_filter import sensor_address
from tapcase_sensor.errors import SensorConfigError
from tapcase_sensor.packet_log import DEFAULT_PCAP_MAX_MB, validate_max_mb

DEFAULT_CONFIG_PATH = Path("/etc/tapcase-sensor/agent.json")
IMDS = "http://169.254.169.254"
INVESTIGATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class AgentConfig:
    """The sensor's investigation. ``control_queue_url`` may be given as ``control_queue_name``
    instead (the workflow's plan does that); :meth:`with_queue_url` resolves it.

    ``pcap_max_mb`` (the stack's EvidencePcapMaxMB, through the plan): MiB of received packets
    kept as pcap evidence, 0 for none. ``sensor_ip``: the address the engines' capture filter
    keeps VXLAN to; by default the mirror interface's own IPv4 address."""

    investigation_id: str
    bucket: str
    prefix: str = ""
    control_queue_url: str | None = None
    control_queue_name: str | None = None
    region: str | None = None
    vni: int | None = None
    capture_seconds: float | None = None
    interface: str = "auto"
    sensor_ip: str | None = None
    pcap_max_mb: int = DEFAULT_PCAP_MAX_MB
    log_dir: str = "/var/log/tapcase"
    ready_timeout: float = 300.0
    poll_wait_seconds: int = 20
    visibility_timeout: int = 900
    heartbeat_seconds: float = 60.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentConfig:
        if not isinstance(data, dict):
            raise SensorConfigError("agent config must be a JSON object")
        known = {f.name for f in fields(cls)}
        missing = [k for k in ("investigation_id", "bucket") if not data.get(k)]
        if not data.get("control_queue_url") and not data.get("control_queue_name"):
            missing.append("control_queue_url (or control_queue_name)")
        if missing:
            raise SensorConfigError(f"agent config lacks {', '.join(missing)}")
        values = {k: v for k, v in data.items() if k in known}
        investigation_id = str(values["investigation_id"])
        if not INVESTIGATION_ID.match(investigation_id):
            raise SensorConfigError(f"invalid investigation_id {investigation_id!r}")
        if not _BUCKET.match(str(values["bucket"])):
            raise SensorConfigError(f"invalid bucket name {values['bucket']!r}")
        url = values.get("control_queue_url")
        if url and not str(url).startswith(("https://", "http://")):
            raise SensorConfigError(f"control_queue_url must be an SQS queue URL, not {url!r}")
        values["prefix"] = str(values.get("prefix") or f"investigations/{investigation_id}").strip("/")
        numbers = (
            ("ready_timeout", float),
            ("heartbeat_seconds", float),
            ("poll_wait_seconds", int),
            ("visibility_timeout", int),
            ("vni", int),
            ("capture_seconds", float),
        )
        for key, kind in numbers:
            if values.get(key) is None:
                continue
            try:
                values[key] = kind(values[key])
            except (TypeError, ValueError):
                raise SensorConfigError(f"{key} must be a number, not {values[key]!r}") from None
        if values.get("pcap_max_mb") is not None:
            values["pcap_max_mb"] = validate_max_mb(values["pcap_max_mb"])
        else:
            values.pop("pcap_max_mb", None)
        if values.get("sensor_ip"):
            values["sensor_ip"] = sensor_address(values["sensor_ip"])
        if not 0 <= values.get("poll_wait_seconds", 20) <= 20:
            raise SensorConfigError("poll_wait_seconds must be 0..20 (SQS long polling limit)")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def queue_url(self) -> str:
        if not self.control_queue_url:
            raise SensorConfigError("control queue URL not resolved (call with_queue_url)")
        return self.control_queue_url

    def with_queue_url(self, sqs: Any) -> AgentConfig:
        """This config with ``control_queue_url`` resolved from ``control_queue_name`` (GetQueueUrl)."""
        if self.control_queue_url:
            return self
        try:
            url = sqs.get_queue_url(QueueName=self.control_queue_name)["QueueUrl"]
        except Exception as exc:  # botocore ClientError / connection errors
            raise SensorConfigError(f"cannot resolve control queue {self.control_queue_name!r}: {exc}") from None
        return replace(self, control_queue_url=str(url))

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> AgentConfig:
        """From ``path``, ``$TAPCASE_SENSOR_CONFIG``, the default file, or IMDS user data."""
        candidates = [Path(p) for p in (path, os.environ.get("TAPCASE_SENSOR_CONFIG")) if p]
        for candidate in candidates:
            if not candidate.is_file():
                raise SensorConfigError(f"agent config file not found: {candidate}")
            return cls.from_dict(_read_json(candidate.read_text(encoding="utf-8"), str(candidate)))
        if DEFAULT_CONFIG_PATH.is_file():
            return cls.from_dict(_read_json(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"), str(DEFAULT_CONFIG_PATH)))
        user_data = fetch_user_data()
        if user_data is None:
            raise SensorConfigError(f"no agent config: no --config, no {DEFAULT_CONFIG_PATH}, no instance user data")
        return cls.from_dict(_read_json(user_data, "instance user data"))


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
