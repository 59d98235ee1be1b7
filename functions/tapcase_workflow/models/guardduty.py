"""GuardDuty findings as EventBridge delivers them.

Tolerant models (``extra="allow"``): GuardDuty adds fields over time and real findings vary
(``networkInterfaceId`` missing in old findings, ``launchTime`` as epoch-ms or ISO string, ``asn``
as int or string, null ``platform``). Only what the workflow reads is typed.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class PrivateIp(_Tolerant):
    privateIpAddress: str | None = None


class NetworkInterface(_Tolerant):
    networkInterfaceId: str | None = None
    privateIpAddress: str | None = None
    privateIpAddresses: list[PrivateIp] = Field(default_factory=list)
    publicIp: str | None = None
    subnetId: str | None = None
    vpcId: str | None = None


class InstanceDetails(_Tolerant):
    instanceId: str | None = None
    instanceType: str | None = None
    availabilityZone: str | None = None
    launchTime: int | float | str | None = None
    networkInterfaces: list[NetworkInterface] = Field(default_factory=list)


class Resource(_Tolerant):
    resourceType: str | None = None
    instanceDetails: InstanceDetails | None = None


class Service(_Tolerant):
    action: dict[str, Any] | None = None
    resourceRole: str | None = None
    count: int | None = None
    eventFirstSeen: str | None = None
    eventLastSeen: str | None = None


class Finding(_Tolerant):
    id: str
    type: str
    severity: float = 0.0
    region: str | None = None
    accountId: str | None = None
    title: str | None = None
    resource: Resource
    service: Service | None = None
    updatedAt: str | None = None


class GuardDutyFindingEvent(EventBridgeModel):
    """A GuardDuty finding as EventBridge delivers it: powertools' EventBridge model (the envelope,
    every field EventBridge always sends) whose ``detail`` is one :class:`Finding`."""

    detail: Finding  # narrows powertools' RawDictOrModel
