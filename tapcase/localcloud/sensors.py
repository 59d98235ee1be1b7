"""Local sensors: a sensor instance launched in the local cloud runs the real agent in-process.

When ``RunInstances`` creates an instance tagged ``tapcase:role=sensor``, the agent
(``tapcase_sensor``) starts in a thread with its configuration from the instance's user data, the
same JSON the sensor reads on AWS, and *offline* engines: the capture set with
:func:`set_capture` (``tapcase local serve --pcap``) stands for the mirrored traffic; without
one the sensor sees an empty capture and still completes. ``TerminateInstances`` stops it.
"""

from __future__ import annotations

import base64
import json
import logging
import shutil
import struct
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_lock = threading.Lock()
_capture: Path | None = None
_rules: Path | None = None
_running: dict[str, _Sensor] = {}
_applied = False


@dataclass
class _Sensor:
    instance_id: str
    thread: threading.Thread
    stop: threading.Event
    workdir: Path


def set_capture(pcap: str | Path | None, rules: str | Path | None = None) -> None:
    """The capture every sensor launched from now on sees (None: no traffic)."""
    global _capture, _rules
    _capture = Path(pcap).resolve() if pcap else None
    _rules = Path(rules).resolve() if rules else None


def running() -> list[str]:
    with _lock:
        return [i for i, s in _running.items() if s.thread.is_alive()]


def _empty_pcap(directory: Path) -> Path:
    path = directory / "no-traffic.pcap"
    # pcap global header: magic, v2.4, tz 0, sigfigs 0, snaplen 65535, linktype Ethernet
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    return path


def _config_from_user_data(instance: Any) -> dict[str, Any]:
    raw = instance.user_data
    if raw is None:
        raise ValueError(f"sensor {instance.id} has no user data")
    encoded = raw._encoded_string if hasattr(raw, "_encoded_string") else raw
    if isinstance(encoded, (list, tuple)):
        encoded = encoded[0]
    return json.loads(base64.b64decode(encoded))


def _start(instance: Any, region: str) -> None:
    from tapcase_sensor.agent import Agent, AwsClients
    from tapcase_sensor.config import AgentConfig
    from tapcase_sensor.engines import OfflineEngines

    config = _config_from_user_data(instance)
    clients = AwsClients.create(region)
    if "control_queue_url" not in config:
        config["control_queue_url"] = clients.sqs.get_queue_url(QueueName=config["control_queue_name"])["QueueUrl"]
    workdir = Path(tempfile.mkdtemp(prefix=f"tapcase-sensor-{instance.id}-"))
    config["log_dir"] = str(workdir)
    config.setdefault("poll_wait_seconds", 1)
    agent_config = AgentConfig.from_dict(config)
    pcap = _capture or _empty_pcap(workdir)
    engines = OfflineEngines(pcap, workdir / "engines", rules=_rules, pcap_max_mb=agent_config.pcap_max_mb)
    agent = Agent(agent_config, engines, clients)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run_forever, args=(stop,), name=f"sensor-{instance.id}", daemon=True)
    with _lock:
        _running[instance.id] = _Sensor(instance.id, thread, stop, workdir)
    thread.start()
    log.info("local sensor %s started (capture: %s)", instance.id, pcap)


def _stop(instance_ids: list[str], wait: bool = False) -> None:
    with _lock:
        sensors = [_running.pop(i) for i in instance_ids if i in _running]
    for sensor in sensors:
        sensor.stop.set()
        if wait:
            sensor.thread.join(timeout=30)
        shutil.rmtree(sensor.workdir, ignore_errors=True)


def stop_all() -> None:
    with _lock:
        ids = list(_running)
    _stop(ids, wait=True)


def _is_sensor(backend: Any, instance_id: str) -> bool:
    tags = backend.tags.get(instance_id, {}) if hasattr(backend, "tags") else {}
    return tags.get("tapcase:role") == "sensor"


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.ec2.models.instances import InstanceBackend

    original_run = InstanceBackend.run_instances
    original_terminate = InstanceBackend.terminate_instances

    def run_instances(self: Any, *args: Any, **kwargs: Any) -> Any:
        reservation = original_run(self, *args, **kwargs)
        for instance in reservation.instances:
            if _is_sensor(self, instance.id):
                try:
                    _start(instance, self.region_name)
                except Exception:  # noqa: BLE001 - like a sensor that fails to boot: it never answers
                    log.exception("local sensor %s did not start", instance.id)
        return reservation

    def terminate_instances(self: Any, instance_ids: list[str]) -> Any:
        result = original_terminate(self, instance_ids)
        _stop([instance.id for instance, _ in result])
        return result

    InstanceBackend.run_instances = run_instances  # type: ignore[method-assign]
    InstanceBackend.terminate_instances = terminate_instances  # type: ignore[method-assign]
    _applied = True
