"""The sensor agent: answers the state machine's control messages.

The state machine sends messages (:class:`tapcase_contract.control.ControlMessage`) to a
per-investigation SQS queue with ``arn:aws:states:::sqs:sendMessage.waitForTaskToken``; each
action is the name of the state that sends it, and of the agent's step that answers it::

    {"action": "WaitForSensor",   "task_token": "...", "investigation_id": "..."}
    {"action": "CollectEvidence", "task_token": "...", "investigation_id": "...", "bucket": "...", "prefix": "...",
     "credentials": {"AccessKeyId": "...", "SecretAccessKey": "...", "SessionToken": "...", "Expiration": "..."}}

``WaitForSensor`` is answered (``SendTaskSuccess``) once the engines run and listen;
``CollectEvidence`` once the engines are stopped, every log file is in
``s3://bucket/<prefix>/raw/<engine>/<file>``, the packets received in
``<prefix>/raw/pcap/<file>.pcap`` (unless the cap is 0) and the manifest
``<prefix>/raw/manifest.json`` was written last. Every S3 call of a collection is signed with the
message's ``credentials`` (they can create that investigation's objects only,
:mod:`tapcase_contract.upload_access`): the sensor's own role cannot write evidence. Failures are answered with ``SendTaskFailure``
whose ``error`` is the class name of a :mod:`tapcase_sensor.errors` error.

Repeated messages are harmless: a second ``WaitForSensor`` answers again; a second
``CollectEvidence`` answers with the manifest already written (from memory, or from S3 after a
restart); an answer on a token Step Functions no longer accepts (``TaskTimedOut``,
``InvalidToken``) is logged and dropped.

Use it as a library (the local cloud runs it in-process with :class:`OfflineEngines`)::

    agent = Agent(config, engines, sensor_clients(config.region))
    agent.run_forever(stop_event)     # or agent.handle(message) for a single message
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapcase_contract import ContractError
from tapcase_contract.control import COLLECT_EVIDENCE, WAIT_FOR_SENSOR, ControlMessage
from tapcase_contract.layout import manifest_key
from tapcase_contract.sensor_config import SensorConfig
from tapcase_contract.upload_access import UploadCredentials
from tapcase_sensor import __version__
from tapcase_sensor.answers import AnswerSession, session_name
from tapcase_sensor.config import resolve_queue_url
from tapcase_sensor.deadline import DeadlineWatch
from tapcase_sensor.engines import Engines
from tapcase_sensor.errors import (
    SensorAnswerRoleRefused,
    SensorBadMessage,
    SensorConfigError,
    SensorCurateFailed,
    SensorError,
    SensorInternalError,
    SensorQueueNotFound,
    SensorUploadFailed,
)
from tapcase_sensor.manifest import build_manifest, failure_manifest, summary
from tapcase_sensor.model import CaptureResult
from tapcase_sensor.upload import put_bytes, put_file, upload_client

log = logging.getLogger(__name__)

#: Step Functions errors meaning "this token is already answered or gone": nothing to do.
STALE_TOKEN_ERRORS = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
_CAUSE_LIMIT = 32_000  # SendTaskFailure cause: at most 32,768 characters
PCAP_CONTENT_TYPE = "application/vnd.tcpdump.pcap"


@dataclass
class AwsClients:
    """The boto3 clients the agent uses (inject your own in tests / the local cloud).

    ``sqs``: the control queue's. ``s3``: a client with the agent's own credentials, for
    collections whose message carries no upload credentials (tools and tests); a sensor on AWS has
    none (its role cannot write evidence). ``stepfunctions``: answers with the agent's own
    credentials, for a config naming no answer role (a fleet member, tools, tests); a dedicated
    sensor has none: it answers through the stack's answer role (:mod:`tapcase_sensor.answers`),
    assumed with ``sts``. ``options``: how clients with credentials handed over or assumed are made
    (region, endpoint, retries); from ``s3`` when not given."""

    sqs: Any
    s3: Any
    stepfunctions: Any
    options: dict[str, Any] | None = None
    sts: Any = None
    _answers: dict[tuple[str, str], AnswerSession] = field(default_factory=dict, repr=False)
    _answers_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def s3_for(self, credentials: UploadCredentials | None) -> Any:
        """The S3 client of one collection: signing with ``credentials`` when given."""
        if credentials is None:
            if self.s3 is None:
                raise SensorUploadFailed("CollectEvidence carried no upload credentials, and the sensor's own "
                                         "role cannot write evidence")
            return self.s3
        if credentials.expired():
            raise SensorUploadFailed(f"the upload credentials expired at {credentials.expiration.isoformat()}: "
                                     "the collection outlived CollectEvidence's timeout")
        return upload_client(credentials, self.client_options())

    def client_options(self) -> dict[str, Any]:
        if self.options is not None:
            return self.options
        if self.s3 is None:
            return {}
        return {"region_name": self.s3.meta.region_name, "endpoint_url": self.s3.meta.endpoint_url,
                "config": self.s3.meta.config}

    def answering(self, role_arn: str | None, name: str) -> Any:
        """The Step Functions client answers go through: a session of ``role_arn`` (named ``name``),
        or the agent's own client when no role is given."""
        if role_arn is None:
            if self.stepfunctions is None:
                raise SensorConfigError("the sensor config names no answer_role_arn, and the sensor has no "
                                        "Step Functions client of its own")
            return self.stepfunctions
        if self.sts is None:
            raise SensorConfigError(f"cannot assume {role_arn}: the agent has no STS client")
        with self._answers_lock:
            session = self._answers.get((role_arn, name))
            if session is None:
                session = self._answers[(role_arn, name)] = AnswerSession(self.sts, role_arn, name,
                                                                           self.client_options())
        return session.client()


def sensor_clients(region: str | None = None) -> AwsClients:
    """A dedicated sensor's clients, with its instance profile's credentials: the control queue, and
    STS to assume the role it answers through (no S3: it uploads with handed credentials; no Step
    Functions of its own)."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 8, "mode": "adaptive"})
    session = boto3.session.Session(region_name=region)
    return AwsClients(
        sqs=session.client("sqs", config=config),
        s3=None,
        stepfunctions=None,
        sts=session.client("sts", config=config),
        options={"region_name": session.region_name, "config": config},
    )


@dataclass
class Outcome:
    """How :meth:`Agent.handle` dealt with one message."""

    action: str
    answer: str  # "success" | "failure" | "none"
    delivered: bool  # False: the token was stale and the answer was dropped
    output: dict[str, Any] | None = None
    error: str | None = None
    cause: str | None = None


def _content_type(fmt: str) -> str:
    return "application/x-ndjson" if fmt in ("eve", "zeek-json", "json") else "text/plain"


class _Heartbeat:
    """Sends SendTaskHeartbeat when a long action starts and every ``interval`` seconds while it runs."""

    def __init__(self, answering: Callable[[], Any], token: str, interval: float) -> None:
        self._answering, self._token, self._interval = answering, token, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tapcase-sensor-heartbeat", daemon=True)

    def _run(self) -> None:
        # one at once (the message may have waited in the queue), then every interval
        while True:
            try:
                self._answering().send_task_heartbeat(taskToken=self._token)
            except (ClientError, BotoCoreError, SensorError) as exc:
                log.info("heartbeat not accepted: %s", exc)
            if self._stop.wait(self._interval):
                return

    def __enter__(self) -> _Heartbeat:
        if self._interval > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


class Agent:
    """``shutdown``: how the sensor powers itself off at its configuration's ``deadline``
    (:func:`tapcase_sensor.deadline.power_off` on an instance; None: the deadline is not kept),
    measured on ``deadline_clock`` (epoch seconds; the instance's clock)."""

    def __init__(self, config: SensorConfig, engines: Engines, clients: AwsClients,
                 shutdown: Callable[[], None] | None = None,
                 deadline_clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.engines = engines
        self.clients = clients
        self.shutdown = shutdown
        self.deadline_clock = deadline_clock
        self.deadline_watch: DeadlineWatch | None = None
        self._lock = threading.Lock()
        self._collected: dict[tuple[str, str], dict[str, Any]] = {}
        #: The last outcomes (diagnostics; the local cloud and tests read it).
        self.history: deque[Outcome] = deque(maxlen=100)

    # -- one message --------------------------------------------------------------------------
    def handle(self, message: Mapping[str, Any] | str) -> Outcome:
        """Process one control message (its parsed body or the raw JSON text) and answer it."""
        try:
            body = json.loads(message) if isinstance(message, str) else dict(message)
        except ValueError:
            log.error("control message is not JSON: %.200r", message)
            return Outcome(action="?", answer="none", delivered=False, error="SensorBadMessage")
        token = body.get("task_token")
        action = str(body.get("action", "?"))
        if not isinstance(token, str) or not token:
            log.error("control message without task_token, cannot answer: %.500s", json.dumps(body))
            return Outcome(action=action, answer="none", delivered=False, error="SensorBadMessage")
        with self._lock:
            try:
                output = self._dispatch(body, token)
            except SensorError as exc:
                log.error("%s failed: %s: %s", action, exc.error_name, exc)
                outcome = self._fail(action, token, exc.error_name, str(exc))
            except Exception as exc:  # a bug: still answer, so the workflow does not hang
                log.exception("%s crashed", action)
                err = SensorInternalError(f"{type(exc).__name__}: {exc}")
                outcome = self._fail(action, token, err.error_name, str(err))
            else:
                outcome = self._succeed(action, token, output)
            self.history.append(outcome)
            return outcome

    def _dispatch(self, body: dict[str, Any], token: str) -> dict[str, Any]:
        investigation = body.get("investigation_id")
        if investigation != self.config.investigation_id:
            raise SensorBadMessage(
                f"message for investigation {investigation!r} reached the sensor of {self.config.investigation_id!r}"
            )
        try:
            message = ControlMessage.from_dict(body)
        except ContractError as exc:
            raise SensorBadMessage(str(exc)) from None
        if message.action == WAIT_FOR_SENSOR:
            return self.wait_for_sensor()
        bucket = message.bucket or self.config.bucket
        prefix = (message.prefix or self.config.prefix).strip("/")
        with _Heartbeat(self._answering, token, self.config.heartbeat_seconds):
            return self.collect_evidence(bucket, prefix, message.upload_credentials)

    # -- steps, named after the states they answer ---------------------------------------------
    def wait_for_sensor(self) -> dict[str, Any]:
        """``WaitForSensor``: start the engines and answer once they run and listen."""
        self.engines.start()
        status = self.engines.wait_ready(self.config.ready_timeout)
        return {
            "investigation_id": self.config.investigation_id,
            "status": "ready",
            "mode": self.engines.mode,
            "agent_version": __version__,
            "engines": status.engines,
            "versions": {name: info.get("version") for name, info in status.engines.items()},
            "vxlan_seen": status.vxlan_seen,
            "vxlan_packets": status.vxlan_packets,
            "packets_seen": status.packets_seen,
            "detail": status.detail,
            # when the capture window opened (a fleet's CollectEvidence hands over from here)
            "window_start": time.time(),
        }

    def collect_evidence(self, bucket: str, prefix: str, credentials: UploadCredentials | None = None) -> dict[str, Any]:
        """``CollectEvidence``: stop the engines, upload logs, pcap, curated tables and the manifest
        (signed with ``credentials``, the investigation's upload credentials, when given)."""
        key = (bucket, prefix)
        if key in self._collected:
            log.info("%s repeated: answering with the manifest already written", COLLECT_EVIDENCE)
            return self._collected[key]
        s3 = self.clients.s3_for(credentials)
        existing = self._existing_manifest(s3, bucket, prefix)
        if existing is not None:
            log.info("a complete manifest is already in s3://%s/%s", bucket, manifest_key(prefix))
            result = summary(existing, f"s3://{bucket}/{manifest_key(prefix)}")
            self._collected[key] = result
            return result
        try:
            capture = self.engines.stop()
            manifest = build_manifest(
                investigation_id=self.config.investigation_id, capture=capture, prefix=prefix, bucket=bucket
            )
            with tempfile.TemporaryDirectory(prefix="tapcase-curated-") as curated_dir:
                manifest["curated"], curated_files = self._curate(capture, Path(curated_dir))
                self._upload(s3, bucket, capture, manifest, curated_files)
        except SensorError as exc:
            self._record_failure(s3, bucket, prefix, exc.error_name, str(exc))
            raise
        result = summary(manifest, f"s3://{bucket}/{manifest_key(prefix)}")
        self._collected[key] = result
        return result

    # -- S3 -----------------------------------------------------------------------------------
    def _existing_manifest(self, s3: Any, bucket: str, prefix: str) -> dict[str, Any] | None:
        try:
            obj = s3.get_object(Bucket=bucket, Key=manifest_key(prefix))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code not in ("NoSuchKey", "404", "NotFound"):
                # e.g. AccessDenied: the upload credentials may only create objects. Collect normally.
                log.info("cannot look for an earlier manifest (%s); collecting", code)
            return None
        try:
            manifest = json.loads(obj["Body"].read())
        except ValueError:
            return None
        if manifest.get("complete") is True and manifest.get("investigation_id") == self.config.investigation_id:
            return dict(manifest)
        return None

    def _curate(self, capture: CaptureResult, out: Path) -> tuple[dict[str, Any], list[tuple[Path, str]]]:
        """Convert the logs to the curated Parquet tables (the queryable copy of the evidence)."""
        from tapcase_sensor.lake.curate import curate, discover_logs
        from tapcase_sensor.manifest import sha256_file

        sources = []
        for directory in sorted({Path(f.path).parent for f in capture.log_files}):
            found, _ = discover_logs(directory)
            sources += [s for s in found if s.path in {Path(f.path) for f in capture.log_files}]
        try:
            result = curate(sources, out, self.config.investigation_id)
        except Exception as exc:  # noqa: BLE001 - any conversion failure is the capture's failure
            raise SensorCurateFailed(f"converting the logs to Parquet failed: {exc}") from exc
        document = {
            "rows": result.rows,
            "files": [{"key": key, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
                      for path, key in result.keys()],
            "skipped": result.skipped,
        }
        return document, result.keys()

    def _upload(
        self, s3: Any, bucket: str, capture: CaptureResult, manifest: dict[str, Any],
        curated_files: list[tuple[Path, str]],
    ) -> None:
        """Every file, then the manifest last; each created once and checked by S3 against its
        sha256 as it arrives (:mod:`tapcase_sensor.upload`)."""
        inv = self.config.investigation_id
        curated = {entry["key"]: entry for entry in manifest["curated"]["files"]}
        entries = {(entry["engine"], entry["name"]): entry for entry in manifest["files"]}
        pcaps = {entry["name"]: entry for entry in (manifest.get("pcap") or {}).get("files", [])}
        uploads = [(path, key, curated[key]["sha256"], "application/vnd.apache.parquet") for path, key in curated_files]
        for log_file in capture.log_files:
            entry = entries[(log_file.engine, log_file.name)]
            uploads.append((Path(log_file.path), entry["key"], entry["sha256"], _content_type(entry["format"])))
        for pcap in capture.packet_log.files if capture.packet_log is not None else []:
            entry = pcaps[pcap.name]
            uploads.append((Path(pcap.path), entry["key"], entry["sha256"], PCAP_CONTENT_TYPE))
        for path, key, sha, content_type in uploads:
            try:
                created = put_file(s3, bucket, key, path, sha, ContentType=content_type,
                                   Metadata={"sha256": sha, "investigation-id": inv})
            except (ClientError, BotoCoreError, OSError) as exc:
                raise SensorUploadFailed(f"upload to s3://{bucket}/{key} failed: {exc}") from None
            if not created:
                log.warning("s3://%s/%s exists already: left as it is (the workflow verifies it)", bucket, key)
        body = json.dumps(manifest, indent=2).encode("utf-8")
        key = manifest_key(manifest["prefix"])
        try:
            put_bytes(s3, bucket, key, body, hashlib.sha256(body).hexdigest(), ContentType="application/json",
                      Metadata={"investigation-id": inv})
        except (ClientError, BotoCoreError) as exc:
            raise SensorUploadFailed(f"upload to s3://{bucket}/{key} failed: {exc}") from None
        log.info("uploaded %d files and the manifest to s3://%s/%s", len(uploads), bucket, manifest["prefix"])

    def _record_failure(self, s3: Any, bucket: str, prefix: str, error_name: str, message: str) -> None:
        """Best effort: leave an incomplete manifest saying why, so nobody mistakes it for evidence."""
        document = failure_manifest(self.config.investigation_id, error_name, message, prefix, bucket)
        body = json.dumps(document, indent=2).encode()
        try:
            put_bytes(s3, bucket, manifest_key(prefix), body, hashlib.sha256(body).hexdigest(),
                      ContentType="application/json")
        except (ClientError, BotoCoreError) as exc:
            log.warning("could not record the failure in S3: %s", exc)

    # -- answers ------------------------------------------------------------------------------
    def _succeed(self, action: str, token: str, output: dict[str, Any]) -> Outcome:
        delivered = self._answer("send_task_success", taskToken=token, output=json.dumps(output))
        return Outcome(action=action, answer="success", delivered=delivered, output=output)

    def _fail(self, action: str, token: str, error: str, cause: str) -> Outcome:
        delivered = self._answer("send_task_failure", taskToken=token, error=error[:256], cause=cause[:_CAUSE_LIMIT])
        return Outcome(action=action, answer="failure", delivered=delivered, error=error, cause=cause)

    def _answering(self) -> Any:
        """The client answers go through (:mod:`tapcase_sensor.answers`)."""
        return self.clients.answering(self.config.answer_role_arn, session_name(self.config.investigation_id))

    def _answer(self, method: str, **kwargs: Any) -> bool:
        try:
            getattr(self._answering(), method)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in STALE_TOKEN_ERRORS:
                log.warning("%s: token no longer accepted (%s); answer dropped", method, code)
                return False
            raise
        return True

    # -- the queue ----------------------------------------------------------------------------
    def poll_once(self, wait_seconds: int | None = None) -> list[Outcome]:
        """Receive up to 10 control messages, handle each, delete those answered."""
        sqs = self.clients.sqs
        queue_url = self.queue_url()
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=self.config.poll_wait_seconds if wait_seconds is None else wait_seconds,
            VisibilityTimeout=self.config.visibility_timeout,
        )
        outcomes: list[Outcome] = []
        for message in response.get("Messages", []):
            try:
                outcome = self.handle(message.get("Body", ""))
            except (ClientError, BotoCoreError, SensorAnswerRoleRefused) as exc:
                # The answer itself failed (throttling, network, the answer role refused): keep the
                # message, it comes back.
                log.error("answering failed, message kept for a retry: %s", exc)
                continue
            outcomes.append(outcome)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return outcomes

    def queue_url(self) -> str:
        """The control queue's URL (resolved once from its name when needed)."""
        if not self.config.control_queue_url:
            self.config = resolve_queue_url(self.config, self.clients.sqs)
        assert self.config.control_queue_url is not None
        return self.config.control_queue_url

    def run_forever(self, stop_event: threading.Event, *, error_backoff: float = 5.0) -> None:
        """Poll the control queue until ``stop_event`` is set (or the sensor's deadline passes:
        then ``shutdown`` powers the sensor off and sets ``stop_event``)."""
        if self.config.deadline is not None and self.shutdown is not None:
            self.deadline_watch = DeadlineWatch(self.config.deadline, self.shutdown, stop_event,
                                                clock=self.deadline_clock).start()
        elif self.config.deadline is not None:
            log.warning("the sensor's deadline is not kept: no way to shut down was given")
        log.info("agent for %s polling its control queue", self.config.investigation_id)
        while not stop_event.is_set():
            try:
                self.poll_once()
            except SensorQueueNotFound as exc:
                log.info("%s; waiting", exc)
                stop_event.wait(error_backoff)
            except (ClientError, BotoCoreError, SensorError) as exc:
                log.error("polling the control queue failed: %s", exc)
                stop_event.wait(error_backoff)
