"""The sensor's configuration: the one model of what Plan writes into the sensor's user data and
the agent reads (from the user data, ``/etc/tapcase-sensor/agent.json`` or ``--config``).

Plan fills the investigation's part (id, bucket, prefix, region, control queue, pcap cap) and the
state machine passes it as the launch's user data (``States.JsonToString($.plan.sensor_config)``);
the rest has defaults an operator may override (interface, address the capture filter keeps,
timeouts). Validation lives in ``__post_init__``, so the pydantic plan that embeds this dataclass
and the agent's :meth:`SensorConfig.from_dict` apply the same rules.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from tapcase_contract.errors import ContractError
from tapcase_contract.ids import RULE, is_investigation_id
from tapcase_contract.layout import evidence_prefix
from tapcase_contract.limits import DEFAULT_PCAP_MAX_MB, SENSOR_HEARTBEAT_SECONDS, check_pcap_max_mb

#: S3 bucket names: 3-63 lower-case letters, digits, dots and hyphens.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: An IAM role's ARN (IAM identifiers: role names of ``[\w+=,.@-]``, paths of ``/``-separated parts).
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$")
#: SQS ReceiveMessage ``WaitTimeSeconds``: 0 to 20 (long polling).
MAX_POLL_WAIT_SECONDS = 20
_NUMBERS: tuple[tuple[str, type], ...] = (
    ("ready_timeout", float),
    ("heartbeat_seconds", float),
    ("poll_wait_seconds", int),
    ("visibility_timeout", int),
)


def sensor_address(value: object) -> str:
    """An IP address in canonical form; :class:`ContractError` for anything else."""
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise ContractError(f"sensor IP {value!r} is not an IP address") from None


@dataclass(frozen=True)
class SensorConfig:
    """One sensor's investigation and settings.

    ``control_queue_name`` (what Plan writes) or ``control_queue_url``: the investigation's control
    queue. ``prefix``: the investigation's evidence prefix (default ``investigations/<id>``).
    ``pcap_max_mb``: MiB of received packets kept as pcap evidence (the stack's EvidencePcapMaxMB),
    0 for none. ``sensor_ip``: the address the engines' capture filter keeps VXLAN to (default: the
    mirror interface's own). ``interface``: the mirror interface (``auto``: the default route's).
    ``deadline``: when the sensor shuts itself down whatever it was told (epoch seconds; Plan sets
    it past the latest moment the investigation could still need the sensor).
    ``answer_role_arn``: the role of the state machine's account the sensor answers its task tokens
    through (the stack's ``SensorAnswerRole``: a sensor in a member account answers the
    administrator's tokens as the administrator's principal); None: with its own credentials.
    """

    investigation_id: str
    bucket: str
    prefix: str = ""
    region: str | None = None
    control_queue_name: str | None = None
    control_queue_url: str | None = None
    pcap_max_mb: int = DEFAULT_PCAP_MAX_MB
    interface: str = "auto"
    sensor_ip: str | None = None
    log_dir: str = "/var/log/tapcase"
    ready_timeout: float = 300.0
    poll_wait_seconds: int = 20
    visibility_timeout: int = 900
    heartbeat_seconds: float = float(SENSOR_HEARTBEAT_SECONDS)
    deadline: float | None = None
    answer_role_arn: str | None = None

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        if not is_investigation_id(self.investigation_id):
            raise ContractError(f"invalid investigation_id {self.investigation_id!r}: use {RULE}")
        if not isinstance(self.bucket, str) or not _BUCKET.match(self.bucket):
            raise ContractError(f"invalid bucket name {self.bucket!r}")
        if not self.control_queue_url and not self.control_queue_name:
            raise ContractError("the sensor config lacks control_queue_url (or control_queue_name)")
        url = self.control_queue_url
        if url and not str(url).startswith(("https://", "http://")):
            raise ContractError(f"control_queue_url must be an SQS queue URL, not {url!r}")
        put("prefix", str(self.prefix or evidence_prefix(self.investigation_id)).strip("/"))
        for name, kind in _NUMBERS:
            value = getattr(self, name)
            if isinstance(value, bool):
                raise ContractError(f"{name} must be a number, not {value!r}")
            try:
                put(name, kind(value))
            except (TypeError, ValueError):
                raise ContractError(f"{name} must be a number, not {value!r}") from None
        if self.deadline is not None:
            if isinstance(self.deadline, bool) or not isinstance(self.deadline, (int, float)) or self.deadline <= 0:
                raise ContractError(f"deadline must be a time in epoch seconds, not {self.deadline!r}")
            put("deadline", float(self.deadline))
        put("pcap_max_mb", check_pcap_max_mb(self.pcap_max_mb))
        if self.sensor_ip:
            put("sensor_ip", sensor_address(self.sensor_ip))
        if self.answer_role_arn is not None and not (isinstance(self.answer_role_arn, str)
                                                      and _ROLE_ARN.match(self.answer_role_arn)):
            raise ContractError(f"answer_role_arn must be an IAM role's ARN, not {self.answer_role_arn!r}")
        if not 0 <= self.poll_wait_seconds <= MAX_POLL_WAIT_SECONDS:
            raise ContractError(f"poll_wait_seconds must be 0..{MAX_POLL_WAIT_SECONDS} (SQS long polling limit)")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SensorConfig:
        """The config from its JSON object. Keys it does not know are ignored (the sensor image and
        the Lambda functions are deployed apart); ``null`` means the default."""
        if not isinstance(data, Mapping):
            raise ContractError("the sensor config must be a JSON object")
        missing = [k for k in ("investigation_id", "bucket") if not data.get(k)]
        if not data.get("control_queue_url") and not data.get("control_queue_name"):
            missing.append("control_queue_url (or control_queue_name)")
        if missing:
            raise ContractError(f"the sensor config lacks {', '.join(missing)}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known and v is not None})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_queue_url(self, url: str) -> SensorConfig:
        """This config with its control queue's URL (resolved from ``control_queue_name``)."""
        return replace(self, control_queue_url=url)
