"""The local sensor's engines: what its interface received, then the real engines on it.

A sensor on AWS listens on its interface from boot; the mirror sessions are created after it
answered ``WaitForSensor`` and deleted before ``CollectEvidence``. Locally the packets exist only
as a capture file, so :class:`MirroredEngines` answers readiness at once (after checking that
Suricata runs) and, on ``CollectEvidence``, builds the sensor's interface capture with the mirror data plane
(:func:`tapcase.localcloud.mirroring.dataplane.materialize`: what the sessions that targeted this
sensor delivered, plus the sensor's own traffic) and runs
:class:`tapcase_sensor.engines.OfflineEngines` on it.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path
from typing import Any

from tapcase.localcloud import timescale
from tapcase.localcloud.mirroring import dataplane, ledger
from tapcase.localcloud.mirroring.dataplane import SensorEndpoint
from tapcase.localcloud.mirroring.wire import CaptureError
from tapcase.localcloud.sensor_traffic import own_traffic
from tapcase_sensor.engines import Engines, OfflineEngines
from tapcase_sensor.errors import SensorBadCapture
from tapcase_sensor.model import CaptureResult, EngineStatus

log = logging.getLogger(__name__)

#: The sensor was up before mirroring began: its own traffic starts this long before the capture.
OWN_TRAFFIC_LEAD_US = 2_000_000


def empty_pcap(path: Path) -> Path:
    """A pcap with a header and no packets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    return path


def sensor_endpoint(instance: Any) -> tuple[SensorEndpoint, str | None]:
    """The sensor's ENIs, address and MAC, and its VPC's resolver address."""
    nics = dict(getattr(instance, "nics", {}) or {})
    primary = nics.get(0) or next(iter(nics.values()))
    backend = instance.ec2_backend
    vpc = backend.vpcs.get(primary.subnet.vpc_id) if primary.subnet is not None else None
    endpoint = SensorEndpoint(
        instance_id=instance.id,
        eni_ids=frozenset(n.id for n in nics.values()),
        ip=primary.private_ip_address,
        mac=primary.mac_address,
    )
    return endpoint, ledger.vpc_resolver(getattr(vpc, "cidr_block", None))


class MirroredEngines(Engines):
    """Engines of a local sensor (see the module docstring)."""

    mode = "offline"

    def __init__(
        self,
        *,
        backend: Any,
        instance_id: str,
        capture: Path | None,
        rules: Path | None,
        workdir: Path,
        keep_dir: Path | None = None,
        pcap_max_mb: int = 1024,
    ) -> None:
        self.backend = backend
        self.instance_id = instance_id
        self.capture = capture
        self.rules = rules
        self.workdir = Path(workdir)
        self.keep_dir = keep_dir
        self.pcap_max_mb = pcap_max_mb
        self.stats: dataplane.DeliveryStats | None = None
        self._probe: OfflineEngines | None = None
        self._result: CaptureResult | None = None
        self._sensor_ip = ""

    @property
    def interface_pcap(self) -> Path:
        directory = self.keep_dir or self.workdir
        return directory / f"{self.instance_id}.pcap"

    def start(self) -> None:
        if self._probe is None:
            probe = OfflineEngines(empty_pcap(self.workdir / "probe" / "empty.pcap"), self.workdir / "probe",
                                   rules=self.rules)
            probe.start()  # Suricata present and runnable, Zeek planned: as at boot
            self._probe = probe

    def status(self) -> EngineStatus:
        if self._probe is None:
            return EngineStatus(False, {}, False, 0, 0, detail="not started")
        probe = self._probe.status()
        return EngineStatus(
            ready=True, engines=probe.engines, vxlan_seen=False, vxlan_packets=0, packets_seen=0,
            detail="local sensor: listening; the interface capture is built when the agent collects",
        )

    def stop(self) -> CaptureResult:
        if self._result is not None:
            return self._result
        self.start()
        interface = self.build_interface_capture()
        self._result = self.engines_for(interface, sensor_ip=self._sensor_ip).stop()
        return self._result

    def build_interface_capture(self) -> Path:
        """What this sensor's interface carried (the mirror data plane)."""
        from tapcase.localcloud.mirroring import store  # imports moto: only when the local cloud runs

        instance = self.backend.get_instance(self.instance_id)
        sensor, resolver = sensor_endpoint(instance)
        self._sensor_ip = sensor.ip
        with store.lock:  # a consistent view of sessions, filters and ENIs
            sources = ledger.sources_targeting(self.backend, sensor.eni_ids)

        def own(first_us: int) -> Any:
            return own_traffic(
                start_us=first_us - OWN_TRAFFIC_LEAD_US, sensor_ip=sensor.ip, sensor_mac=sensor.mac,
                resolver_ip=resolver or "169.254.169.253", region=self.backend.region_name, seed=self.instance_id,
            )

        try:
            self.stats = dataplane.materialize(
                self.capture, self.interface_pcap, sensor, sources, scale=timescale.get_scale(), own_traffic=own,
            )
        except CaptureError as exc:
            raise SensorBadCapture(str(exc)) from None
        log.info("local sensor %s: interface capture %s: %s", self.instance_id, self.interface_pcap,
                 {k: v for k, v in self.stats.to_dict().items() if k in ("mirrored", "own_packets", "skipped")})
        return self.interface_pcap

    def engines_for(self, interface: Path, *, sensor_ip: str) -> OfflineEngines:
        """The real engines on what the sensor's interface received, as on AWS: they analyse only
        the mirrored stream, by the capture filter "UDP 4789 to the sensor's own address"."""
        return OfflineEngines(interface, self.workdir / "engines", rules=self.rules, sensor_ip=sensor_ip,
                              pcap_max_mb=self.pcap_max_mb)
