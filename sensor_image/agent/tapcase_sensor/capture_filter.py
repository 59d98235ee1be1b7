"""What of the sensor's interface the engines analyse: the mirrored stream, nothing else.

VPC Traffic Mirroring delivers copies as VXLAN (UDP 4789) to the target ENI's own address; the
same ENI carries the sensor's own traffic (its calls to SQS, S3, Step Functions and SSM, DNS for
AWS endpoints, NTP). Zeek and Suricata therefore get a BPF capture filter built here, once, from
the sensor's address: :func:`mirror_bpf`. Live (compose: both containers) and offline
(``suricata -r``, ``zeek -r``) engines use the same string.

:meth:`CaptureFilter.matches` is the same filter in Python, with libpcap's semantics (no VLAN
tags skipped, IPv4 non-first fragments never match a port), so the agent can count what the
engines must see and check Suricata's ``decoder.pkts`` against it.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from tapcase_contract import ContractError, sensor_config
from tapcase_contract.limits import VXLAN_PORT
from tapcase_sensor.errors import SensorConfigError

INTERFACE = "interface"  # what a sensor's interface receives: VXLAN to the sensor + its own traffic
PLAIN = "plain"  # a plain capture of an instance: no filter, the packets as on the wire

_LINKTYPE_NULL, _LINKTYPE_ETHERNET, _LINKTYPE_RAW, _LINKTYPE_SLL = 0, 1, 101, 113
_LINKTYPE_IPV4, _LINKTYPE_IPV6 = 228, 229


def sensor_address(value: str) -> str:
    """The sensor's IP address in canonical form; a clear error for anything else."""
    try:
        return sensor_config.sensor_address(value)
    except ContractError as exc:
        raise SensorConfigError(str(exc)) from None


#: The VXLAN header (RFC 7348: flags 1 byte, reserved 3, VNI 3, reserved 1) follows the 8-byte UDP
#: header, so the 32-bit word at ``udp[12:4]`` holds the VNI in its upper 24 bits.
VNI_WORD_OFFSET = 12
MAX_VNI = 16_777_215


def check_vni(vni: int) -> int:
    if isinstance(vni, bool) or not isinstance(vni, int) or not 0 <= vni <= MAX_VNI:
        raise SensorConfigError(f"a VXLAN network id is an integer from 0 to {MAX_VNI}, not {vni!r}")
    return vni


def mirror_bpf(sensor_ip: str | None, vni: int | None = None) -> str:
    """The BPF filter of the mirrored stream: UDP destination port 4789 to the sensor's address.

    Without an address, UDP destination port 4789 only (VXLAN to any destination). With ``vni``
    (a fleet member keeping one investigation's traffic), only VXLAN with that network id:
    ``udp[12:4] >> 8`` is the VNI (:data:`VNI_WORD_OFFSET`).
    """
    bpf = f"udp dst port {VXLAN_PORT}"
    if sensor_ip is not None:
        bpf += f" and dst host {sensor_address(sensor_ip)}"
    if vni is not None:
        bpf += f" and (udp[{VNI_WORD_OFFSET}:4] >> 8) = {check_vni(vni)}"
    return bpf


@dataclass(frozen=True)
class CaptureFilter:
    """The engines' capture filter: ``interface`` mode (the mirrored stream) or ``plain`` (none)."""

    mode: str = INTERFACE
    sensor_ip: str | None = None
    vni: int | None = None  # a fleet member: only this VXLAN network id

    def __post_init__(self) -> None:
        if self.mode not in (INTERFACE, PLAIN):
            raise SensorConfigError(f"capture mode must be {INTERFACE!r} or {PLAIN!r}, not {self.mode!r}")
        if self.mode == PLAIN and self.sensor_ip is not None:
            raise SensorConfigError("a plain capture has no sensor address to filter on (sensor IP given with plain)")
        if self.sensor_ip is not None:
            object.__setattr__(self, "sensor_ip", sensor_address(self.sensor_ip))
        if self.vni is not None:
            if self.mode == PLAIN:
                raise SensorConfigError("a plain capture has no VXLAN network id to filter on (VNI given with plain)")
            check_vni(self.vni)

    @classmethod
    def of(cls, *, sensor_ip: str | None = None, plain: bool = False, vni: int | None = None) -> CaptureFilter:
        return cls(PLAIN if plain else INTERFACE, sensor_ip, vni)

    @property
    def bpf(self) -> str | None:
        """The BPF expression handed to both engines (None: no filter)."""
        return None if self.mode == PLAIN else mirror_bpf(self.sensor_ip, self.vni)

    @property
    def note(self) -> str:
        if self.mode == PLAIN:
            return "plain capture of an instance: no capture filter, the engines see its packets as on the wire"
        if self.vni is not None:
            return (f"only VXLAN (UDP {VXLAN_PORT}) with network id {self.vni} to the fleet member's address "
                    f"{self.sensor_ip or '(any)'}: other investigations' traffic and the member's own are not analysed")
        if self.sensor_ip is None:
            return (
                f"no sensor IP given: every UDP {VXLAN_PORT} packet is analysed whatever its destination "
                "(give the sensor's address to keep only what is mirrored to it)"
            )
        return f"only VXLAN (UDP {VXLAN_PORT}) to the sensor's address {self.sensor_ip}: the sensor's own traffic is not analysed"

    def to_dict(self) -> dict[str, Any]:
        """What the manifest records."""
        out: dict[str, Any] = {"mode": self.mode, "bpf": self.bpf, "sensor_ip": self.sensor_ip, "note": self.note}
        if self.vni is not None:
            out["vni"] = self.vni
        return out

    def matches(self, linktype: int, data: bytes) -> bool:
        """Whether libpcap would pass this packet through :attr:`bpf` (always, in plain mode)."""
        if self.mode == PLAIN:
            return True
        parsed = _udp_destination(linktype, data)
        if parsed is None:
            return False
        address, port, udp = parsed
        if port != VXLAN_PORT or (self.sensor_ip is not None and address != self._packed):
            return False
        if self.vni is None:
            return True
        word = udp + VNI_WORD_OFFSET
        # libpcap rejects a packet whose loaded bytes lie beyond the captured length
        return len(data) >= word + 4 and struct.unpack_from("!I", data, word)[0] >> 8 == self.vni

    @cached_property
    def _packed(self) -> bytes:
        return ipaddress.ip_address(self.sensor_ip).packed if self.sensor_ip else b""


def _network_layer(linktype: int, data: bytes) -> tuple[int, int] | None:
    """(IP version, offset of the IP header) the way libpcap's ``ip``/``ip6`` see it: no VLAN skipping."""
    if linktype == _LINKTYPE_ETHERNET:
        if len(data) < 14:
            return None
        ethertype, offset = struct.unpack_from("!H", data, 12)[0], 14
    elif linktype == _LINKTYPE_SLL:
        if len(data) < 16:
            return None
        ethertype, offset = struct.unpack_from("!H", data, 14)[0], 16
    elif linktype == _LINKTYPE_NULL:
        if len(data) < 4:
            return None
        family = struct.unpack_from("<I", data, 0)[0]
        if family > 0xFFFF:
            family = struct.unpack_from(">I", data, 0)[0]
        ethertype = 0x0800 if family == 2 else 0x86DD if family in (10, 24, 28, 30) else 0
        offset = 4
    elif linktype in (_LINKTYPE_RAW, _LINKTYPE_IPV4, _LINKTYPE_IPV6):
        if not data:
            return None
        version = data[0] >> 4
        ethertype, offset = (0x0800 if version == 4 else 0x86DD if version == 6 else 0), 0
    else:
        return None
    if ethertype == 0x0800:
        return 4, offset
    if ethertype == 0x86DD:
        return 6, offset
    return None


def _udp_destination(linktype: int, data: bytes) -> tuple[bytes, int, int] | None:
    """(destination address, packed; UDP destination port; offset of the UDP header) of a UDP packet, else None."""
    layer = _network_layer(linktype, data)
    if layer is None:
        return None
    version, offset = layer
    if version == 4:
        if len(data) < offset + 20 or data[offset + 9] != 17:
            return None
        if struct.unpack_from("!H", data, offset + 6)[0] & 0x1FFF:  # not the first fragment
            return None
        ihl = (data[offset] & 0x0F) * 4
        if len(data) < offset + ihl + 4:
            return None
        return data[offset + 16 : offset + 20], int(struct.unpack_from("!H", data, offset + ihl + 2)[0]), offset + ihl
    if len(data) < offset + 44 or data[offset + 6] != 17:  # IPv6: libpcap does not chase extension headers
        return None
    return data[offset + 24 : offset + 40], int(struct.unpack_from("!H", data, offset + 42)[0]), offset + 40
