"""Fleet mode: the agent on a member of a sensor fleet that many investigations mirror to.

A fleet is a group of sensors behind a Network Load Balancer with a UDP 4789 listener (or a
Gateway Load Balancer and its endpoint): the traffic mirror target is the load balancer's, not
one sensor's ENI, and every investigation's sessions deliver VXLAN to it with the
investigation's own VXLAN network id (VNI). The load balancer hands each flow to one healthy
member; a member's interface therefore carries several investigations at once, told apart by
the VNI (``sensor_image/fleet/`` has a CloudFormation template for such a fleet).

The member keeps what it receives (:class:`RingCapture`: the rotating pcap files written by
``tapcase-fleet-capture.service``, UDP 4789 to the member's address) and answers the control
messages of the fleet's queue, each of which names a ``vni`` (:mod:`tapcase_contract.control`):

* ``WaitForSensor``: answered by any member once the engines can run, with ``window_start`` (the
  member keeps every VNI anyway; Plan gave the investigation a VNI no live session to the
  fleet's target uses);
* ``CollectEvidence`` (handed over, see :class:`FleetAgent`, to the member that kept the VNI's
  packets): the kept packets of the window since ``window_start``, the engines with the capture
  filter of that VNI only (``udp[12:4] >> 8``, :func:`tapcase_sensor.capture_filter.mirror_bpf`),
  then exactly what a dedicated sensor uploads (same manifest, same layout), by the same
  :class:`~tapcase_sensor.agent.Agent` code, one per investigation.
"""

from __future__ import annotations

import heapq
import json
import logging
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from tapcase_contract import ContractError
from tapcase_contract.control import COLLECT_EVIDENCE, ControlMessage
from tapcase_contract.limits import DEFAULT_PCAP_MAX_MB, SENSOR_HEARTBEAT_SECONDS
from tapcase_contract.sensor_config import SensorConfig
from tapcase_sensor.agent import Agent, AwsClients, Outcome
from tapcase_sensor.capture_filter import CaptureFilter, sensor_address
from tapcase_sensor.engines import Engines, OfflineEngines
from tapcase_sensor.errors import SensorBadCapture, SensorConfigError, SensorError
from tapcase_sensor.model import CaptureResult, EngineStatus
from tapcase_sensor.pcap import inspect_capture

log = logging.getLogger(__name__)

_PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
                b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9)}


def fleet_clients(region: str | None = None) -> AwsClients:
    """A fleet member's clients, with its role's credentials (the fleet template's ``MemberRole``):
    the fleet's queue, and Step Functions to answer (the fleet is the stack's account's: the tokens'
    own account); no S3 (uploads use the credentials each CollectEvidence hands over)."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 8, "mode": "adaptive"})
    session = boto3.session.Session(region_name=region)
    return AwsClients(sqs=session.client("sqs", config=config), s3=None,
                      stepfunctions=session.client("stepfunctions", config=config),
                      options={"region_name": session.region_name, "config": config})


class KeptTraffic(Protocol):
    """What a fleet member's interface kept: VXLAN to ``sensor_ip``, from any investigation."""

    sensor_ip: str

    def window(self, since: float | None, until: float, out: Path, *, vni: int | None = None) -> Path:
        """A pcap of what arrived from ``since`` (None: all kept) to ``until`` (Unix seconds), every
        VNI (``vni``: the investigation asking, a hint an implementation may use for its timeline)."""


@dataclass
class RingCapture:
    """The member's rotating capture files (``tcpdump -i <if> -w <dir>/ring-%s.pcap -G 60 -W N
    'udp dst port 4789'``: classic pcap, one file a minute, the oldest overwritten)."""

    directory: Path
    sensor_ip: str
    pattern: str = "*.pcap"

    def window(self, since: float | None, until: float, out: Path, *, vni: int | None = None) -> Path:
        out.parent.mkdir(parents=True, exist_ok=True)
        files = sorted(Path(self.directory).glob(self.pattern), key=lambda p: (p.stat().st_mtime, p.name))
        header: bytes | None = None
        with out.open("wb") as sink:
            # in time order across files (a file is rotated every minute; NLB flows may interleave)
            for file_header, ts, record in heapq.merge(*(_records(p) for p in files), key=itemgetter(1)):
                if header is None:
                    header = file_header
                    sink.write(header)
                if (since is None or ts >= since) and ts <= until:
                    sink.write(record)
            if header is None:  # nothing kept yet: an empty capture (the engines stay idle)
                sink.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        return out


def _records(path: Path) -> Iterator[tuple[bytes, float, bytes]]:
    """(file header normalised to microseconds, timestamp, record) of a classic pcap file."""
    with path.open("rb") as fh:
        head = fh.read(24)
        if len(head) < 24 or head[:4] not in _PCAP_MAGICS:
            raise SensorBadCapture(f"{path} is not a classic pcap file (tcpdump -w writes one)")
        endian, unit = _PCAP_MAGICS[head[:4]]
        linktype = struct.unpack_from(f"{endian}I", head, 20)[0]
        snaplen = struct.unpack_from(f"{endian}I", head, 16)[0]
        out_header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)
        while True:
            rec = fh.read(16)
            if len(rec) < 16:
                return  # end, or a file tcpdump is still writing: its last record is not complete
            sec, frac, incl, orig = struct.unpack(f"{endian}IIII", rec)
            data = fh.read(incl)
            if len(data) < incl:
                return
            usec = int(frac * unit * 1e6)
            yield out_header, sec + usec / 1e6, struct.pack("<IIII", sec, usec, incl, orig) + data


@dataclass(frozen=True)
class FleetConfig:
    """A fleet member's agent: the fleet's control queue and where evidence goes by default."""

    control_queue_url: str
    bucket: str
    sensor_ip: str
    region: str | None = None
    pcap_max_mb: int = DEFAULT_PCAP_MAX_MB
    log_dir: str = "/var/log/tapcase"
    poll_wait_seconds: int = 20
    visibility_timeout: int = 900
    heartbeat_seconds: float = float(SENSOR_HEARTBEAT_SECONDS)
    #: Coverage mode: seconds between rolls of the coverage VNI's logs (tapcase_sensor.coverage); 0: none.
    coverage_roll_seconds: float = 300.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "sensor_ip", sensor_address(self.sensor_ip))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FleetConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise SensorConfigError(f"fleet config: unknown field(s) {', '.join(unknown)}")
        missing = [k for k in ("control_queue_url", "bucket", "sensor_ip") if not data.get(k)]
        if missing:
            raise SensorConfigError(f"fleet config lacks {', '.join(missing)}")
        return cls(**dict(data))


class VniEngines(Engines):
    """One investigation's engines on a fleet member: the kept packets of its VNI in its window."""

    mode = "fleet"

    def __init__(self, kept: KeptTraffic, vni: int, since: float | None, workdir: Path, *,
                 rules: Path | None = None, pcap_max_mb: int = DEFAULT_PCAP_MAX_MB,
                 clock: Callable[[], float] = time.time, window: Path | None = None) -> None:
        self.kept, self.vni, self.since = kept, vni, since
        self.workdir = Path(workdir)
        self.rules, self.pcap_max_mb, self.clock = rules, pcap_max_mb, clock
        self.window = window  # the window already cut (FleetAgent checks it holds the VNI first)
        self._probe: OfflineEngines | None = None
        self._result: CaptureResult | None = None

    def start(self) -> None:
        if self._probe is None:
            empty = self.workdir / "probe" / "empty.pcap"
            RingCapture(self.workdir / "probe" / "none", self.kept.sensor_ip).window(None, 0, empty)
            probe = OfflineEngines(empty, self.workdir / "probe", rules=self.rules)
            probe.start()  # Suricata runs here: the member can analyse this VNI
            self._probe = probe

    def status(self) -> EngineStatus:
        if self._probe is None:
            return EngineStatus(False, {}, False, 0, 0, detail="not started")
        return EngineStatus(
            ready=True, engines=self._probe.status().engines, vxlan_seen=False, vxlan_packets=0, packets_seen=0,
            detail=f"sensor fleet (member {self.kept.sensor_ip}): keeping VNI {self.vni}",
        )

    def cut(self) -> Path:
        """The kept packets of the window (all VNIs: the engines' capture filter keeps this one)."""
        if self.window is None:
            self.window = self.kept.window(self.since, self.clock(), self.workdir / "window.pcap", vni=self.vni)
        return self.window

    def stop(self) -> CaptureResult:
        if self._result is not None:
            return self._result
        self.start()
        window = self.cut()
        engines = OfflineEngines(window, self.workdir / "engines", rules=self.rules, sensor_ip=self.kept.sensor_ip,
                                 vni=self.vni, pcap_max_mb=self.pcap_max_mb)
        result = engines.stop()
        result.source["fleet"] = {"member_ip": self.kept.sensor_ip, "vni": self.vni, "window_start": self.since}
        if self.since is None:
            result.warnings.append(
                f"the sensor fleet was not told when VNI {self.vni}'s window opened: everything the member kept of "
                "that VNI was analysed")
        self._result = result
        return result


@dataclass
class FleetAgent:
    """Answers the fleet queue's messages, one :class:`Agent` per investigation (its VNI).

    Every member keeps everything it receives, so any member answers ``WaitForSensor`` (the answer
    carries ``window_start``). ``CollectEvidence`` must be answered by the member the load balancer
    sent the VNI's flows to (with source-IP stickiness, one member per mirrored ENI): a member that
    kept no packet of the VNI in the window puts the message back (visibility 0) for another
    member, until the message was received ``handover_receives`` times; then it answers with what
    it has (nothing: the report says no traffic)."""

    config: FleetConfig
    kept: KeptTraffic
    clients: AwsClients
    rules: Path | None = None
    clock: Callable[[], float] = time.time
    handover_receives: int = 6
    released: bool = False
    #: Coverage mode's rolling logs (None: this member uploads none).
    coverage: Any = None  # tapcase_sensor.coverage.CoverageRoller

    def _agent(self, investigation_id: str, engines: Engines, workdir: Path) -> Agent:
        config = SensorConfig(investigation_id=investigation_id, bucket=self.config.bucket, region=self.config.region,
                              control_queue_url=self.config.control_queue_url, pcap_max_mb=self.config.pcap_max_mb,
                              sensor_ip=self.config.sensor_ip, log_dir=str(workdir), ready_timeout=60.0,
                              heartbeat_seconds=self.config.heartbeat_seconds)
        return Agent(config, engines, self.clients)

    def _workdir(self, vni: int) -> Path:
        root = Path(self.config.log_dir)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError:
            root = Path(tempfile.gettempdir())
        return Path(tempfile.mkdtemp(prefix=f"tapcase-fleet-{vni}-", dir=root))

    def handle(self, message: Mapping[str, Any] | str, *, receives: int = 1) -> Outcome | None:
        """Answer one message; None: put back for the member holding the VNI (not answered)."""
        try:
            body = json.loads(message) if isinstance(message, str) else dict(message)
            parsed = ControlMessage.from_dict(body)
            if parsed.vni is None:
                raise ContractError("a message to a sensor fleet names the investigation's vni")
        except (ValueError, ContractError) as exc:
            return self._refuse(message, str(exc))
        workdir = self._workdir(parsed.vni)
        engines = VniEngines(self.kept, parsed.vni, parsed.window_start, workdir, rules=self.rules,
                             pcap_max_mb=self.config.pcap_max_mb, clock=self.clock)
        if parsed.action == COLLECT_EVIDENCE and receives < self.handover_receives:
            window = engines.cut()
            held = inspect_capture(window, allow_empty=True, allow_truncated=True, capture_filter=CaptureFilter.of(
                sensor_ip=self.kept.sensor_ip, vni=parsed.vni)).matched_packets
            if not held:
                log.info("fleet: no packet of VNI %s here: %s left for the member holding it", parsed.vni,
                         parsed.investigation_id)
                return None
        return self._agent(parsed.investigation_id, engines, workdir).handle(body)

    def _refuse(self, message: Mapping[str, Any] | str, reason: str) -> Outcome:
        body = message if isinstance(message, Mapping) else _loads(message)
        token = body.get("task_token") if isinstance(body, Mapping) else None
        action = str(body.get("action", "?")) if isinstance(body, Mapping) else "?"
        log.error("fleet: %s refused: %s", action, reason)
        if not isinstance(token, str) or not token:
            return Outcome(action=action, answer="none", delivered=False, error="SensorBadMessage", cause=reason)
        delivered = True
        try:
            self.clients.stepfunctions.send_task_failure(taskToken=token, error="SensorBadMessage", cause=reason)
        except ClientError as exc:
            log.warning("refusal not delivered: %s", exc)
            delivered = False
        return Outcome(action=action, answer="failure", delivered=delivered, error="SensorBadMessage", cause=reason)

    def poll_once(self, wait_seconds: int | None = None) -> list[Outcome]:
        """Receive up to 10 messages from the fleet queue, handle each, delete those answered."""
        sqs, url = self.clients.sqs, self.config.control_queue_url
        response = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=self.config.visibility_timeout,
            WaitTimeSeconds=self.config.poll_wait_seconds if wait_seconds is None else wait_seconds,
            AttributeNames=["ApproximateReceiveCount"],
        )
        outcomes = []
        for message in response.get("Messages", []):
            receives = int((message.get("Attributes") or {}).get("ApproximateReceiveCount", 1))
            try:
                outcome = self.handle(message.get("Body", ""), receives=receives)
            except (ClientError, BotoCoreError) as exc:
                log.error("answering failed, message kept for a retry: %s", exc)
                continue
            if outcome is None:  # another member holds the VNI: make the message visible to it now
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"],
                                              VisibilityTimeout=0)
                self.released = True
                continue
            outcomes.append(outcome)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return outcomes

    def run_forever(self, stop_event: threading.Event, *, error_backoff: float = 5.0) -> None:
        log.info("fleet member %s polling %s", self.config.sensor_ip, self.config.control_queue_url)
        while not stop_event.is_set():
            try:
                self.poll_once()
            except (ClientError, BotoCoreError, SensorError) as exc:
                log.error("polling the fleet queue failed: %s", exc)
                stop_event.wait(error_backoff)
            if self.coverage is not None and self.coverage.due():
                try:
                    self.coverage.roll()
                except (ClientError, BotoCoreError, SensorError) as exc:  # the next roll takes the window again
                    log.error("rolling the coverage logs failed: %s", exc)
            if self.released:  # let the other members' long polls take what was put back
                self.released = False
                stop_event.wait(max(1.0, float(self.config.poll_wait_seconds)))


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return {}
