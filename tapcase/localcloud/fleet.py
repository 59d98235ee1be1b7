"""Local sensor fleet: instances behind a Network Load Balancer, the mirror target of many investigations.

AWS facts reproduced (Traffic Mirroring guide, "Traffic mirror target concepts"; ELB API reference,
``TargetGroupAttribute``):

- A traffic mirror target may be a Network Load Balancer with a UDP listener on 4789: sessions to
  it deliver VXLAN to the load balancer, which forwards each flow to one healthy registered target
  of the listener's target group (instance targets; the member sees VXLAN to its own address, the
  source address preserved).
- Which member: with the target group's ``stickiness.enabled`` and ``stickiness.type``
  ``source_ip``, every flow from one source address goes to one target; otherwise each UDP flow
  (protocol, addresses, ports) is placed on its own. Locally that is a hash of the source address
  (sticky) or of the outer 5-tuple, over the healthy targets ordered by id: the same flow always
  lands on the same member, as on AWS; which member AWS picks is not reproduced (a flow hash to
  one healthy target is enough for evidence to be complete or missing the same way).
- Healthy: a registered instance that is running (moto marks stopped ones unhealthy; no health
  check traffic is simulated).

A member is an instance tagged ``tapcase:role=fleet-member`` (:mod:`tapcase_contract.tags`); when
``RunInstances`` creates one, :func:`start_member` runs the real agent in fleet mode
(:class:`tapcase_sensor.fleet.FleetAgent`) in a thread, its configuration from the user data (the
fleet config JSON; ``sensor_ip`` the member's own address). What its interface kept is built by the
mirror data plane when it collects (:class:`LocalKept`), with the real Suricata on it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapcase.localcloud import timescale
from tapcase.localcloud.mirroring import dataplane, ledger
from tapcase.localcloud.mirroring import packet_filter as mr
from tapcase.localcloud.sensor_engines import OWN_TRAFFIC_LEAD_US, empty_pcap, sensor_endpoint
from tapcase.localcloud.sensor_traffic import own_traffic
from tapcase_contract.limits import COVERAGE_VNI, VXLAN_PORT

log = logging.getLogger(__name__)

_lock = threading.Lock()
_running: dict[str, tuple[threading.Thread, threading.Event]] = {}
_rollers: dict[str, Any] = {}  # instance id -> tapcase_sensor.coverage.CoverageRoller


@dataclass(frozen=True)
class Balancer:
    """A Network Load Balancer as a mirror target sees it: its UDP 4789 members and stickiness."""

    arn: str
    members: tuple[str, ...]  # healthy registered instance ids, in id order
    sticky_source_ip: bool

    def member_for(self, source_ip: str, source_port: int) -> str | None:
        """The member the balancer sends this outer flow (UDP from the source ENI to 4789) to."""
        if not self.members:
            return None
        key = source_ip if self.sticky_source_ip else f"17|{source_ip}|{source_port}|{self.arn}|{VXLAN_PORT}"
        return self.members[int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) % len(self.members)]


def _elbv2(backend: Any) -> Any:
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[backend.account_id][backend.region_name]


def balancer(backend: Any, arn: str) -> Balancer:
    """The NLB's members behind its UDP (or TCP_UDP) listeners on port 4789."""
    elbv2 = _elbv2(backend)
    found = elbv2.load_balancers.get(arn)
    groups: list[Any] = []
    for listener in (getattr(found, "listeners", {}) or {}).values():
        if listener.protocol not in ("UDP", "TCP_UDP") or int(listener.port) != VXLAN_PORT:
            continue
        for action in listener.default_actions:
            data = action.data
            arns = [data["TargetGroupArn"]] if data.get("TargetGroupArn") else [
                g["TargetGroupArn"] for g in (data.get("ForwardConfig") or {}).get("TargetGroups", [])]
            groups += [elbv2.target_groups[a] for a in arns if a in elbv2.target_groups]
    members: set[str] = set()
    sticky = False
    for group in groups:
        sticky = sticky or (str(group.attributes.get("stickiness.enabled")).lower() == "true"
                            and group.attributes.get("stickiness.type") == "source_ip")
        for target_id in group.targets:
            instance = backend.get_instance_by_id(target_id) if target_id.startswith("i-") else None
            if instance is not None and instance.state == "running":
                members.add(target_id)
    return Balancer(arn, tuple(sorted(members)), sticky)


class LocalKept:
    """What a local fleet member's interface carried: the mirror data plane for every NLB target
    it is a member of, only the flows the balancer gives it, with the member's own traffic."""

    def __init__(self, backend: Any, instance_id: str, current: Callable[[], tuple[Path | None, float | None]]) -> None:
        self.backend, self.instance_id = backend, instance_id
        self.current = current  # the capture given to the local cloud now, and where its window starts
        endpoint, self.resolver = sensor_endpoint(backend.get_instance(instance_id))
        self.sensor_ip = endpoint.ip
        self._endpoint = endpoint
        self.stats: dataplane.DeliveryStats | None = None

    def _targets(self) -> dict[str, Balancer]:
        out = {}
        for target in getattr(self.backend, "traffic_mirror_targets", {}).values():
            arn = getattr(target, "network_load_balancer_arn", None)
            if arn:
                found = balancer(self.backend, arn)
                if self.instance_id in found.members:
                    out[target.id] = found
        return out

    def window(self, since: float | None, until: float, out: Path, *, vni: int | None = None) -> Path:
        from tapcase.localcloud.mirroring import store  # imports moto: only when the local cloud runs

        targets = self._targets()
        capture, window_start = self.current()
        if capture is None or not targets:
            return empty_pcap(out)
        endpoint = dataplane.SensorEndpoint(self.instance_id, frozenset(targets), self._endpoint.ip, self._endpoint.mac)
        with store.lock:
            sources = ledger.sources_targeting(self.backend, endpoint.eni_ids)
        if vni == COVERAGE_VNI:
            # A coverage roll: what the live coverage sessions deliver, the capture's timeline from
            # the first of them (sessions deleted earlier delivered their part to earlier rolls).
            sources = [dataclasses.replace(src, sessions=tuple(s for s in src.sessions if s.deleted is None))
                       for src in sources]
        def member(source: mr.SourceSpec, sport: int) -> bool:
            return any(b.member_for(source.primary_ip, sport) == self.instance_id for b in targets.values())

        def own(first_us: int) -> Any:
            return own_traffic(start_us=first_us - OWN_TRAFFIC_LEAD_US, sensor_ip=self.sensor_ip,
                               sensor_mac=self._endpoint.mac, resolver_ip=self.resolver or "169.254.169.253",
                               region=self.backend.region_name, seed=self.instance_id)

        self.stats = dataplane.materialize(capture, out, endpoint, sources, scale=timescale.get_scale(),
                                           own_traffic=own, window_start=window_start, member=member,
                                           anchor_vni=vni)
        log.info("fleet member %s: %s", self.instance_id,
                 {k: v for k, v in self.stats.to_dict().items() if k in ("mirrored", "vnis", "skipped")})
        return out


def member_config(instance: Any) -> dict[str, Any]:
    """A member's fleet config: the JSON of its user data."""
    raw = instance.user_data
    encoded = raw._encoded_string if hasattr(raw, "_encoded_string") else raw
    if isinstance(encoded, (list, tuple)):
        encoded = encoded[0]
    return dict(json.loads(base64.b64decode(encoded)))


def start_member(instance: Any, region: str, current: Callable[[], tuple[Path | None, float | None]],
                 rules: Path | None, workdir: Path, *, clients: Any, heartbeat_seconds: float) -> None:
    """Run the real fleet agent for a member instance (its user data: the fleet config), with the
    local sensors' shared clients and heartbeat interval (:mod:`tapcase.localcloud.sensors`); its
    handling of a message is local work (:mod:`tapcase.localcloud.local_work`), as a local sensor's."""
    from tapcase.localcloud import local_work
    from tapcase_sensor.fleet import FleetAgent, FleetConfig

    class LocalFleetAgent(FleetAgent):
        def handle(self, message: Any, *, receives: int = 1) -> Any:
            with local_work.computing("sensor"):
                return super().handle(message, receives=receives)

    from tapcase_sensor.coverage import CoverageRoller, member_s3_client

    kept = LocalKept(instance.ec2_backend, instance.id, current)
    data = {"poll_wait_seconds": 1, "log_dir": str(workdir), **member_config(instance), "sensor_ip": kept.sensor_ip}
    data["heartbeat_seconds"] = heartbeat_seconds
    config = FleetConfig.from_dict(data)
    # Coverage rolls only when asked (roll_coverage): the local capture is one story, not a stream.
    roller = CoverageRoller(kept, clients.s3 or member_s3_client(clients.client_options()), config.bucket,
                            workdir / "coverage", interval=0, rules=rules)
    agent = LocalFleetAgent(config, kept, clients, rules=rules, handover_receives=8, coverage=roller)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run_forever, args=(stop,),
                              kwargs={"error_backoff": max(timescale.scaled(5.0), 0.05)},
                              name=f"fleet-{instance.id}", daemon=True)
    with _lock:
        _running[instance.id] = (thread, stop)
        _rollers[instance.id] = roller
    thread.start()
    log.info("local fleet member %s started", instance.id)


def stop_members(instance_ids: list[str] | None = None, wait: bool = False) -> None:
    with _lock:
        ids = list(_running) if instance_ids is None else [i for i in instance_ids if i in _running]
        stopped = [_running.pop(i) for i in ids]
        for i in ids:
            _rollers.pop(i, None)
    for thread, stop in stopped:
        stop.set()
        if wait:
            thread.join(timeout=30)


def running_members() -> list[str]:
    with _lock:
        return [i for i, (thread, _) in _running.items() if thread.is_alive()]


def roll_coverage(instance_ids: list[str] | None = None) -> dict[str, dict[str, int]]:
    """Each running member's roll of the coverage VNI's logs now (``tapcase_sensor.coverage``; on
    AWS every ``coverage_roll_seconds``): ``{member: {key: rows}}``. Locally a member's kept
    traffic is the whole capture given to the local cloud as its sessions delivered it, so a roll
    analyses all of it (the window's bounds are not applied)."""
    with _lock:
        rollers = {i: r for i, r in _rollers.items() if instance_ids is None or i in instance_ids}
    from tapcase.localcloud import local_work

    out = {}
    for instance_id, roller in sorted(rollers.items()):
        with local_work.computing("sensor"):
            out[instance_id] = roller.roll()
    return out
