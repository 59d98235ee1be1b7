"""Zeek and Suricata behind one interface.

* :class:`LiveEngines` drives the containers of ``sensor_image/compose.yaml`` on the sensor
  instance: they capture the mirror interface until told to stop.
* :class:`OfflineEngines` runs the same engines, with the same configuration, on a capture
  file: Suricata for real (``suricata -r``), Zeek through a ``zeek`` binary or a container
  engine when one is available, otherwise Zeek is skipped and the reason is recorded.

Both analyse only the mirrored stream (:mod:`tapcase_sensor.capture_filter`) and keep the packets
they received as pcap evidence (:mod:`tapcase_sensor.packet_log`). The agent only uses
:meth:`Engines.start`, :meth:`Engines.status` and :meth:`Engines.stop`.
"""

from tapcase_sensor.engines.base import (
    Engines,
    Runner,
    counter,
    last_eve_stats,
    list_log_files,
    run_command,
    zeek_packet_stats,
)
from tapcase_sensor.engines.live import (
    SURICATA_SOCKET,
    LiveEngines,
    default_route_interface,
    interface_address,
    parse_compose_ps,
    prepare_host,
)
from tapcase_sensor.engines.offline import OfflineEngines

__all__ = [
    "SURICATA_SOCKET",
    "Engines",
    "LiveEngines",
    "OfflineEngines",
    "Runner",
    "counter",
    "default_route_interface",
    "interface_address",
    "last_eve_stats",
    "list_log_files",
    "parse_compose_ps",
    "prepare_host",
    "run_command",
    "zeek_packet_stats",
]
