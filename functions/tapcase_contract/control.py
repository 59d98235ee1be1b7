"""The control messages the state machine sends the sensor agent over the investigation's queue.

Each is sent by a ``sqs:sendMessage.waitForTaskToken`` state and its action is that state's name,
so the agent's step, the message and the state in the console carry one name:

* ``WaitForSensor`` - answered once the engines run and listen;
* ``CollectEvidence`` - answered once the engines stopped and the evidence is in S3
  (``bucket``/``prefix``: where; the agent's configured ones when absent).

A message to a sensor fleet (one queue for every investigation mirrored to the fleet's target)
also carries ``vni``, the investigation's VXLAN network id: ``WaitForSensor`` asks the fleet to
start keeping that VNI's traffic, ``CollectEvidence`` to hand it over for the window since then
(``ready``: the answer to ``WaitForSensor``, whose ``window_start`` says when that was: the
member that holds the VNI's packets need not be the one that answered).

``CollectEvidence`` also carries ``credentials``: temporary credentials that can create objects
under this investigation's prefixes only (:mod:`tapcase_contract.upload_access`); no sensor role
can write evidence by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from tapcase_contract.errors import ContractError
from tapcase_contract.ids import check_investigation_id
from tapcase_contract.upload_access import UploadCredentials

WAIT_FOR_SENSOR = "WaitForSensor"
COLLECT_EVIDENCE = "CollectEvidence"
ACTIONS = (WAIT_FOR_SENSOR, COLLECT_EVIDENCE)
MAX_VNI = 16_777_215  # VXLAN network ids are 24 bits


@dataclass(frozen=True)
class ControlMessage:
    """One control message body (what the ASL's ``MessageBody`` holds)."""

    action: str
    task_token: str
    investigation_id: str
    bucket: str | None = None
    prefix: str | None = None
    vni: int | None = None
    ready: Mapping[str, Any] | None = None
    credentials: Mapping[str, Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ContractError(f"unknown action {self.action!r} (expected {' or '.join(ACTIONS)})")
        if not isinstance(self.task_token, str) or not self.task_token:
            raise ContractError("control message without task_token")
        check_investigation_id(self.investigation_id)
        for name in ("bucket", "prefix"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ContractError(f"{name} must be a string, not {value!r}")
        if self.vni is not None and (isinstance(self.vni, bool) or not isinstance(self.vni, int)
                                     or not 1 <= self.vni <= MAX_VNI):
            raise ContractError(f"vni must be an integer from 1 to {MAX_VNI}, not {self.vni!r}")
        if self.ready is not None and not isinstance(self.ready, Mapping):
            raise ContractError(f"ready must be the WaitForSensor answer (an object), not {self.ready!r}")
        if self.credentials is not None:
            self.upload_credentials  # noqa: B018 - validates them

    @property
    def upload_credentials(self) -> UploadCredentials | None:
        """The investigation's upload credentials (``CollectEvidence``), or ``None``."""
        return None if self.credentials is None else UploadCredentials.from_dict(self.credentials)

    @property
    def window_start(self) -> float | None:
        """When the engines (or the fleet) started keeping this investigation's traffic."""
        value = (self.ready or {}).get("window_start")
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> ControlMessage:
        """The message from its parsed body; fields the contract does not know are ignored."""
        if not isinstance(body, Mapping):
            raise ContractError("a control message is a JSON object")
        known = {f.name for f in fields(cls)}
        missing = [k for k in ("action", "task_token", "investigation_id") if body.get(k) in (None, "")]
        if missing:
            raise ContractError(f"control message lacks {', '.join(missing)}")
        return cls(**{k: v for k, v in body.items() if k in known})
