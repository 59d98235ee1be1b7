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

A local sensor shares this machine with every other: the time it handles a control message is
local work (:mod:`tapcase.localcloud.local_work`), which workflow deadlines do not count, as an
AWS sensor computes on an instance of its own.

The sensor keeps its configuration's ``deadline`` as on AWS: it powers itself off then, an
instance-initiated shutdown, which terminates the instance when its shutdown behaviour is
``terminate`` (the sensor launch template's; moto 5.2.5 ignores a launch template's
``InstanceInitiatedShutdownBehavior`` and ``IamInstanceProfile``, here they apply, as RunInstances
applies the template on AWS). The agent calls STS with its instance profile's credentials
(:mod:`tapcase.localcloud.instance_profiles`), to assume the role it answers through. The agent's
own waits (heartbeat interval, error backoff, deadline) follow the time scale like the workflow's
(:mod:`tapcase.localcloud.timescale`).
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapcase.localcloud import timescale
from tapcase_contract import tags as tag_keys
from tapcase_contract.limits import COLLECT_HEARTBEAT_SECONDS, SENSOR_HEARTBEAT_SECONDS

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


def _local_agent(config: Any, engines: Any, clients: Any, **kwargs: Any) -> Any:
    """The real agent, its handling of each message marked as local work."""
    from tapcase.localcloud import local_work
    from tapcase_sensor.agent import Agent

    class LocalAgent(Agent):
        def handle(self, message: Any) -> Any:
            with local_work.computing("sensor"):
                return super().handle(message)

    return LocalAgent(config, engines, clients, **kwargs)


_clients: dict[tuple[str, str | None, str | None, str | None], Any] = {}
#: Added to the local sensors' User-Agent: their API calls are counted as the sensor's.
SENSOR_USER_AGENT = "tapcase-caller/sensor"
#: The session name of the local sensors' instance-profile sessions (shared per role, as the clients).
PROFILE_SESSION_NAME = "tapcase-local-sensor"


def _shared_clients(region: str, account: str | None = None, role_arn: str | None = None) -> Any:
    """The agents' clients, one set per region, endpoint, account and instance-profile role for
    every local sensor (boto3 clients are thread-safe; a set per sensor made botocore's per-client
    caches grow with every investigation).

    ``account``: the sensor instance's account. Its SQS requests carry moto's ``x-moto-account-id``
    (a member account's control queue is in that account). ``role_arn``: the role of the instance's
    profile: STS is called with its credentials (:mod:`tapcase.localcloud.instance_profiles`), so
    the role the sensor answers through judges the sensor's role by its trust, as on AWS. The Step
    Functions client with the cloud's default keys answers for configs that name no answer role
    (sensors launched by tests and tools)."""
    import os

    import boto3
    from botocore.config import Config
    from moto.core import DEFAULT_ACCOUNT_ID

    from tapcase.localcloud.instance_profiles import profile_session
    from tapcase_sensor.agent import AwsClients

    account = None if account in (None, DEFAULT_ACCOUNT_ID) else account
    key = (region, os.environ.get("AWS_ENDPOINT_URL"), account, role_arn)
    with _lock:
        if key not in _clients:
            # As sensor_clients (the sensor's retries), with a pool for every sensor of the cloud,
            # marked as the sensors' calls (tapcase.localcloud.api_calls).
            config = Config(retries={"max_attempts": 8, "mode": "adaptive"}, max_pool_connections=200,
                            user_agent_extra=SENSOR_USER_AGENT)
            session = boto3.session.Session(region_name=region)
            # No S3 client of its own: as on AWS, a sensor writes evidence only with the upload
            # credentials its CollectEvidence message carries (tapcase_contract.upload_access).
            sqs = session.client("sqs", config=config)
            if account is not None:
                def in_account(request: Any, **_: Any) -> None:
                    request.headers["x-moto-account-id"] = account

                sqs.meta.events.register("before-sign", in_account)
            profile = profile_session(role_arn, region, PROFILE_SESSION_NAME) if role_arn else None
            _clients[key] = AwsClients(sqs=sqs, s3=None,
                                       stepfunctions=session.client("stepfunctions", config=config),
                                       sts=profile.client("sts", config=config) if profile else None,
                                       options={"region_name": region, "endpoint_url": key[1], "config": config})
        return _clients[key]


#: Real seconds a local sensor's deadline is at least away (its engines' CPU time is not scaled).
DEADLINE_FLOOR_SECONDS = 10.0
#: Real seconds between a local sensor's heartbeats at least.
HEARTBEAT_FLOOR_SECONDS = 0.05


def local_deadline(deadline: float | None, now: float) -> float | None:
    """The real time at which a sensor whose configured deadline is ``deadline`` (epoch seconds of
    workflow time, from Plan) shuts down on this cloud's time scale."""
    if deadline is None:
        return None
    remaining = deadline - now
    if remaining <= 0:
        return now
    return now + max(timescale.scaled(remaining), min(remaining, DEADLINE_FLOOR_SECONDS))


def idle_clock() -> float:
    """Epoch seconds that stand still while the machine computes for the cloud: a local sensor's
    deadline is kept on it, as the workflow's deadlines are (:mod:`tapcase.localcloud.local_work`):
    on AWS no sensor waits for another's engines."""
    from tapcase.localcloud import local_work

    return time.time() - local_work.busy_total()


def local_heartbeat_seconds(configured: float | None) -> float:
    """Real seconds between a local agent's heartbeats: as often as on AWS relative to
    CollectEvidence's HeartbeatSeconds, and at least ten times within it (the engines' CPU time is
    not scaled: a busy machine must not look like a dead sensor)."""
    interval = timescale.scaled(float(configured or SENSOR_HEARTBEAT_SECONDS))
    return max(HEARTBEAT_FLOOR_SECONDS, min(interval, timescale.scaled_timeout(COLLECT_HEARTBEAT_SECONDS) / 10))


def shutdown_from_inside(backend: Any, instance_id: str) -> None:
    """An instance-initiated shutdown: terminated or stopped as its shutdown behaviour says."""
    instance = backend.get_instance(instance_id)
    if instance.instance_initiated_shutdown_behavior == "terminate":
        backend.terminate_instances([instance_id])
    else:
        backend.stop_instances([instance_id])


def _start(instance: Any, region: str, role_arn: str | None = None) -> None:
    from tapcase.localcloud.sensor_engines import MirroredEngines
    from tapcase_sensor.config import parse_config

    config = _config_from_user_data(instance)
    clients = _shared_clients(region, instance.ec2_backend.account_id, role_arn)
    # The control queue is created after the sensor (its policy names the instance): the agent
    # resolves its URL when it first polls, as on AWS.
    workdir = Path(tempfile.mkdtemp(prefix=f"tapcase-sensor-{instance.id}-"))
    config["log_dir"] = str(workdir)
    config.setdefault("poll_wait_seconds", 1)
    config["heartbeat_seconds"] = local_heartbeat_seconds(config.get("heartbeat_seconds"))
    config["deadline"] = local_deadline(config.get("deadline"), idle_clock())
    agent_config = parse_config(config)
    engines = MirroredEngines(
        backend=instance.ec2_backend, instance_id=instance.id, capture=_capture, rules=_rules,
        workdir=workdir, keep_dir=_keep_dir, pcap_max_mb=agent_config.pcap_max_mb, window_start=_window_start,
    )
    backend = instance.ec2_backend
    agent = _local_agent(agent_config, engines, clients, shutdown=lambda: shutdown_from_inside(backend, instance.id),
                         deadline_clock=idle_clock)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run_forever, args=(stop,), kwargs={"error_backoff": max(timescale.scaled(5.0), 0.05)},
                              name=f"sensor-{instance.id}", daemon=True)
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
    config = fleet.member_config(instance)
    fleet.start_member(instance, region, _current, _rules, workdir, clients=_shared_clients(region),
                       heartbeat_seconds=local_heartbeat_seconds(config.get("heartbeat_seconds")))


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.ec2.models.instances import InstanceBackend

    original_run = InstanceBackend.run_instances
    original_terminate = InstanceBackend.terminate_instances

    def run_instances(self: Any, *args: Any, **kwargs: Any) -> Any:
        from tapcase.localcloud.instance_profiles import associate_from_template, profile_role

        reservation = original_run(self, *args, **kwargs)
        template = self._get_template_from_args(kwargs["launch_template"]).data if kwargs.get("launch_template") else {}
        behaviour = template.get("InstanceInitiatedShutdownBehavior")
        for instance in reservation.instances:
            if behaviour and not kwargs.get("instance_initiated_shutdown_behavior"):
                instance.instance_initiated_shutdown_behavior = behaviour
            if not (kwargs.get("iam_instance_profile_name") or kwargs.get("iam_instance_profile_arn")):
                associate_from_template(self, instance, template)
        for instance in reservation.instances:
            role = _role(self, instance.id)
            if role == tag_keys.ROLE_SENSOR:
                starter: Any = functools.partial(_start, role_arn=profile_role(self, instance.id, kwargs))
            else:
                starter = {tag_keys.ROLE_FLEET_MEMBER: _start_fleet_member}.get(role or "")
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
