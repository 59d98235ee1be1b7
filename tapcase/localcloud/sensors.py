"""Local sensors: a sensor instance launched in the local cloud runs the real agent in-process.

When ``RunInstances`` creates an instance tagged ``tapcase:role=sensor`` (``tapcase_contract.tags``), the agent
(``tapcase_sensor``) starts in a thread with its configuration from the instance's user data, the
same JSON the sensor reads on AWS, and :class:`~tapcase.localcloud.sensor_engines.MirroredEngines`: the engines answer ``WaitForSensor`` at
once, and on ``CollectEvidence`` (after ``StopMirroring``), the sensor's interface capture is
built by the mirror data plane (:mod:`tapcase.localcloud.mirroring.dataplane`) from the capture set
with :func:`set_capture` (``tapcase local serve --pcap``: the traffic of the suspect's network
interfaces) and the mirror sessions that targeted this sensor, with the sensor's own traffic;
then the real engines (Suricata, Zeek when available) run on it. Without a capture the interface
carries nothing and the sensor still completes. ``TerminateInstances`` stops it.
"""

from __future__ import annotations

import base64
import json
import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapcase_contract import tags as tag_keys

log = logging.getLogger(__name__)

_lock = threading.Lock()
_capture: Path | None = None
_rules: Path | None = None
_window_start: float | None = None
_keep_dir: Path | None = None
_running: dict[str, _Sensor] = {}
_applied = False


@dataclass
class _Sensor:
    instance_id: str
    thread: threading.Thread
    stop: threading.Event
    workdir: Path


def set_capture(pcap: str | Path | None, rules: str | Path | None = None, window_start: float | None = None) -> None:
    """The capture every sensor launched from now on sees (None: no traffic). ``window_start``
    (Unix seconds on the capture's clock): the packets before it happened before the investigation,
    never mirrored, only in the flow logs (:mod:`tapcase.localcloud.mirroring.dataplane`)."""
    global _capture, _rules, _window_start
    _capture = Path(pcap).resolve() if pcap else None
    _rules = Path(rules).resolve() if rules else None
    _window_start = window_start


def keep_interface_captures(directory: str | Path | None) -> None:
    """Write each sensor's interface capture to ``directory/<instance id>.pcap`` and keep it
    (diagnostics and tests; by default it lives in the sensor's work directory and goes with it)."""
    global _keep_dir
    _keep_dir = Path(directory).resolve() if directory else None
    if _keep_dir is not None:
        _keep_dir.mkdir(parents=True, exist_ok=True)


def running() -> list[str]:
    with _lock:
        return [i for i, s in _running.items() if s.thread.is_alive()]


def _config_from_user_data(instance: Any) -> dict[str, Any]:
    raw = instance.user_data
    if raw is None:
        raise ValueError(f"sensor {instance.id} has no user data")
    encoded = raw._encoded_string if hasattr(raw, "_encoded_string") else raw
    if isinstance(encoded, (list, tuple)):
        encoded = encoded[0]
    return json.loads(base64.b64decode(encoded))


def _start(instance: Any, region: str) -> None:
    from tapcase.localcloud.sensor_engines import MirroredEngines
    from tapcase_sensor.agent import Agent, AwsClients
    from tapcase_sensor.config import parse_config

    config = _config_from_user_data(instance)
    clients = AwsClients.create(region)
    if "control_queue_url" not in config:
        config["control_queue_url"] = clients.sqs.get_queue_url(QueueName=config["control_queue_name"])["QueueUrl"]
    workdir = Path(tempfile.mkdtemp(prefix=f"tapcase-sensor-{instance.id}-"))
    config["log_dir"] = str(workdir)
    config.setdefault("poll_wait_seconds", 1)
    agent_config = parse_config(config)
    engines = MirroredEngines(
        backend=instance.ec2_backend, instance_id=instance.id, capture=_capture, rules=_rules,
        workdir=workdir, keep_dir=_keep_dir, pcap_max_mb=agent_config.pcap_max_mb, window_start=_window_start,
    )
    agent = Agent(agent_config, engines, clients)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run_forever, args=(stop,), name=f"sensor-{instance.id}", daemon=True)
    with _lock:
        _running[instance.id] = _Sensor(instance.id, thread, stop, workdir)
    thread.start()
    log.info("local sensor %s started (capture: %s)", instance.id, _capture)


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
    from tapcase.localcloud import fleet

    fleet.stop_members(wait=True)


def _role(backend: Any, instance_id: str) -> str | None:
    tags = backend.tags.get(instance_id, {}) if hasattr(backend, "tags") else {}
    return tags.get(tag_keys.ROLE)


def _is_sensor(backend: Any, instance_id: str) -> bool:
    return _role(backend, instance_id) == tag_keys.ROLE_SENSOR


def _current() -> tuple[Path | None, float | None]:
    return _capture, _window_start


def _start_fleet_member(instance: Any, region: str) -> None:
    """A sensor fleet's member (tapcase:role=fleet-member): the real agent in fleet mode
    (:mod:`tapcase.localcloud.fleet`), reading the capture given to the local cloud when it collects."""
    from tapcase.localcloud import fleet

    workdir = Path(tempfile.mkdtemp(prefix=f"tapcase-fleet-{instance.id}-"))
    fleet.start_member(instance, region, _current, _rules, workdir)


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
            role = _role(self, instance.id)
            starter = {tag_keys.ROLE_SENSOR: _start, tag_keys.ROLE_FLEET_MEMBER: _start_fleet_member}.get(role or "")
            if starter is not None:
                try:
                    starter(instance, self.region_name)
                except Exception:  # noqa: BLE001 - like a sensor that fails to boot: it never answers
                    log.exception("local %s %s did not start", role, instance.id)
        return reservation

    def terminate_instances(self: Any, instance_ids: list[str]) -> Any:
        result = original_terminate(self, instance_ids)
        _stop([instance.id for instance, _ in result])
        from tapcase.localcloud import fleet

        fleet.stop_members([instance.id for instance, _ in result])
        return result

    InstanceBackend.run_instances = run_instances  # type: ignore[method-assign]
    InstanceBackend.terminate_instances = terminate_instances  # type: ignore[method-assign]
    _applied = True
