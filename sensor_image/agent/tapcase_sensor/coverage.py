"""Coverage mode on a sensor fleet's member: the rolling logs of the coverage VNI.

Coverage sessions (the tapcase stack's Coverage function) mirror every tagged instance to the
fleet all the time with one VNI, :data:`~tapcase_contract.limits.COVERAGE_VNI`. Every
``coverage_roll_seconds`` the member cuts what it kept of that VNI since its last roll, runs
Suricata on it with that VNI's capture filter, and uploads the events flattened to the columns of
:mod:`tapcase_contract.coverage_logs`, one JSON object a line, one object per day of the events'
own time (``coverage/coverage_events/day=<yyyy-MM-dd>/<member>-<start>-<end>.json``), created and
never replaced (``If-None-Match``, as every evidence upload). The stack expires them after
``CoverageRetentionDays``; an investigation of a covered instance queries them for what happened
before its finding.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tapcase_contract import coverage_logs
from tapcase_contract.layout import coverage_key
from tapcase_contract.limits import COVERAGE_VNI
from tapcase_sensor.engines import OfflineEngines
from tapcase_sensor.upload import put_bytes

log = logging.getLogger(__name__)


def _epoch(ts: str) -> float | None:
    try:
        return _dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    except ValueError:
        try:
            return _dt.datetime.fromisoformat(ts).timestamp()
        except ValueError:
            return None


def rows(events: Iterable[dict[str, Any]], member: str) -> Iterator[dict[str, Any]]:
    """EVE events -> rows of the coverage table (other event types and events without a time are left out)."""
    for event in events:
        kind = event.get("event_type")
        when = _epoch(str(event.get("timestamp", "")))
        if kind not in coverage_logs.EVENT_TYPES or when is None:
            continue
        flow = event.get("flow") or {}
        alert = event.get("alert") or {}
        dns = event.get("dns") or {}
        row = {
            "event_time": when, "ts": event.get("timestamp"), "event_type": kind,
            "src_ip": event.get("src_ip"), "src_port": event.get("src_port"),
            "dest_ip": event.get("dest_ip"), "dest_port": event.get("dest_port"),
            "proto": event.get("proto"), "app_proto": event.get("app_proto"),
            "community_id": event.get("community_id"),
            "pkts_toserver": flow.get("pkts_toserver"), "pkts_toclient": flow.get("pkts_toclient"),
            "bytes_toserver": flow.get("bytes_toserver"), "bytes_toclient": flow.get("bytes_toclient"),
            "alert_signature": alert.get("signature"), "alert_severity": alert.get("severity"),
            "dns_rrname": dns.get("rrname") or next((q.get("rrname") for q in dns.get("queries") or []), None),
            "tls_sni": (event.get("tls") or {}).get("sni"), "http_host": (event.get("http") or {}).get("hostname"),
            "member": member,
        }
        yield {name: row.get(name) for name in coverage_logs.COLUMN_NAMES}


def _eve(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line cut by a truncated capture
            if isinstance(event, dict):
                yield event


def member_s3_client(options: dict[str, Any]) -> Any:
    """The member's own S3 client, for the coverage logs only (its role may write ``coverage/``;
    an investigation's evidence goes with the credentials its CollectEvidence carries).
    ``options``: region, endpoint, botocore config (``AwsClients.client_options()``)."""
    import boto3

    return boto3.session.Session().client("s3", **options)


@dataclass
class CoverageRoller:
    """Rolls the coverage VNI's logs of one member up to S3 (see the module)."""

    kept: Any  # tapcase_sensor.fleet.KeptTraffic
    s3: Any
    bucket: str
    workdir: Path
    interval: float = 300.0  # seconds between rolls; 0: only when asked (roll())
    rules: Path | None = None
    clock: Callable[[], float] = time.time
    since: float | None = None  # the end of the last roll (None: everything kept)
    uploaded: list[str] = field(default_factory=list)
    _last: float = 0.0

    def due(self) -> bool:
        return self.interval > 0 and self.clock() - self._last >= self.interval

    def roll(self, until: float | None = None) -> dict[str, int]:
        """Analyse and upload what was kept since the last roll: ``{key: rows}``."""
        end = self.clock() if until is None else until
        start = self.since if self.since is not None else 0.0
        self._last = self.clock()
        workdir = Path(self.workdir) / f"roll-{int(start)}-{int(end)}"
        workdir.mkdir(parents=True, exist_ok=True)
        window = self.kept.window(self.since, end, workdir / "window.pcap", vni=COVERAGE_VNI)
        result = OfflineEngines(window, workdir / "engines", rules=self.rules, sensor_ip=self.kept.sensor_ip,
                                vni=COVERAGE_VNI, pcap_max_mb=0, zeek="skip").stop()
        by_day: dict[str, list[dict[str, Any]]] = {}
        for lf in result.log_files:
            if lf.engine == "suricata" and Path(lf.name).name == "eve.json":
                for row in rows(_eve(lf.path), self.kept.sensor_ip):
                    by_day.setdefault(coverage_logs.day_of(row["event_time"]), []).append(row)
        written: dict[str, int] = {}
        for day, found in sorted(by_day.items()):
            body = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in found).encode()
            key = coverage_key(coverage_logs.TABLE, day, self.kept.sensor_ip, int(start), int(end))
            put_bytes(self.s3, self.bucket, key, body, hashlib.sha256(body).hexdigest(), ContentType="application/json")
            written[key] = len(found)
            self.uploaded.append(key)
        self.since = end
        log.info("coverage roll %s-%s: %s", int(start), int(end), written or "nothing of the coverage VNI")
        return written
