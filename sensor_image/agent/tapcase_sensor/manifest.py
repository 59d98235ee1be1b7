"""The evidence manifest: every log file with its size, sha256 and record counts; the pcap files
of the packets received (``pcap``), and the capture filter the engines used (``capture_filter``).

The same document is written next to the logs offline (``<out>/raw/manifest.json``) and to S3
(``s3://<bucket>/<prefix>/raw/manifest.json``), always last, so a manifest with
``"complete": true`` means every file it lists was written before it.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tapcase_contract.layout import pcap_key, raw_key
from tapcase_sensor import __version__
from tapcase_sensor.logs import (
    count_lines,
    detect_zeek_log_type,
    epoch_to_iso,
    log_type_from_name,
    open_text,
    sniff_format,
)
from tapcase_sensor.model import CaptureResult, LogFile
from tapcase_sensor.packet_log import PacketEvidence

MANIFEST_VERSION = 1


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _eve_counts(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    with open_text(path) as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                counts["_unparsed"] += 1
                continue
            counts[str(record.get("event_type", "_unknown"))] += 1
    return counts


def describe_file(log: LogFile, prefix: str = "") -> dict[str, Any]:
    """Manifest entry of one log file (streams the file twice: hash, then records)."""
    fmt = sniff_format(log.path)
    if fmt == "json" and log.engine == "zeek":
        fmt = "zeek-json"  # e.g. loaded_scripts.log: JSON records without ts
    entry: dict[str, Any] = {
        "key": raw_key(prefix, log.engine, log.name),
        "engine": log.engine,
        "name": log.name,
        "bytes": log.path.stat().st_size,
        "sha256": sha256_file(log.path),
    }
    if fmt == "eve":
        counts = _eve_counts(log.path)
        entry.update(log_type="eve", format="eve", records=sum(counts.values()))
        entry["event_types"] = dict(sorted(counts.items()))
    elif fmt in ("zeek-json", "zeek-tsv"):
        entry.update(log_type=detect_zeek_log_type(log.path), format=fmt, records=count_lines(log.path))
    else:
        records = count_lines(log.path) if fmt != "empty" else 0
        entry.update(log_type=log_type_from_name(log.path), format=fmt, records=records)
    return entry


def describe_pcap(evidence: PacketEvidence | None, prefix: str = "") -> dict[str, Any] | None:
    """The ``pcap`` section: settings, every file (key, bytes, sha256, packets, times), cap reached."""
    if evidence is None:
        return None
    files = [
        {"key": pcap_key(prefix, f.name), **f.to_dict(),
         "first": epoch_to_iso(f.first_ts), "last": epoch_to_iso(f.last_ts)}
        for f in evidence.files
    ]  # fmt: skip
    return {**evidence.to_dict(), "files": files}


def _record_counts(files: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Records per log type per engine; EVE is counted per event_type."""
    out: dict[str, Counter[str]] = {}
    for entry in files:
        engine = out.setdefault(entry["engine"], Counter())
        if entry["format"] == "eve":
            engine.update(entry["event_types"])
        elif entry["format"] in ("zeek-json", "zeek-tsv"):
            engine[entry["log_type"]] += entry["records"]
    return {engine: dict(sorted(c.items())) for engine, c in sorted(out.items())}


def build_manifest(
    *,
    investigation_id: str | None,
    capture: CaptureResult,
    prefix: str = "",
    bucket: str | None = None,
) -> dict[str, Any]:
    """The complete manifest for a finished capture (files hashed and counted here)."""
    files = [describe_file(log, prefix) for log in sorted(capture.log_files, key=lambda f: (f.engine, f.name))]
    pcap = describe_pcap(capture.packet_log, prefix)
    return {
        "manifest_version": MANIFEST_VERSION,
        "investigation_id": investigation_id,
        "bucket": bucket,
        "prefix": prefix.strip("/"),
        "created_at": epoch_to_iso(time.time()),
        "agent": {"version": __version__, "host": socket.gethostname()},
        "mode": capture.mode,
        "source": capture.source,
        "capture_filter": capture.capture_filter,
        "capture": {
            "start": epoch_to_iso(capture.started_at),
            "end": epoch_to_iso(capture.ended_at),
            "start_epoch": capture.started_at,
            "end_epoch": capture.ended_at,
        },
        "packets": {
            "seen": capture.packets_seen,
            "dropped": capture.packets_dropped,
            "vxlan": capture.vxlan_packets,
            "bytes": capture.bytes_seen,
            # VXLAN packets analysed by VNI: a VNI other than the session's is not this investigation's.
            "vnis": {str(k): v for k, v in capture.vnis.items()} if capture.vnis is not None else None,
        },
        "engines": {name: info.to_dict() for name, info in sorted(capture.engines.items())},
        "engine_versions": dict(sorted(capture.engine_versions.items())),
        "zeek_skipped_reason": capture.zeek_skipped_reason,
        "files": files,
        "record_counts": _record_counts(files),
        "totals": {
            "files": len(files),
            "bytes": sum(f["bytes"] for f in files),
            "records": sum(f["records"] for f in files),
        },
        "pcap": pcap,
        "complete": True,
    }


def failure_manifest(
    investigation_id: str | None, error_name: str, message: str, prefix: str = "", bucket: str | None = None
) -> dict[str, Any]:
    """A manifest that records a failed capture; never ``complete``."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "investigation_id": investigation_id,
        "bucket": bucket,
        "prefix": prefix.strip("/"),
        "created_at": epoch_to_iso(time.time()),
        "agent": {"version": __version__, "host": socket.gethostname()},
        "files": [],
        "complete": False,
        "error": {"name": error_name, "message": message},
    }


def write_json_atomic(path: Path, document: dict[str, Any]) -> None:
    """Write JSON through a temporary file and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(document, fh, indent=2, sort_keys=False)
        fh.write("\n")
    os.replace(tmp, path)


def summary(manifest: dict[str, Any], manifest_uri: str, *, limit_bytes: int = 200_000) -> dict[str, Any]:
    """What goes back to Step Functions (payload limit 256 KB): URI plus totals, files if small."""
    out: dict[str, Any] = {
        "investigation_id": manifest["investigation_id"],
        "manifest_uri": manifest_uri,
        "bucket": manifest.get("bucket"),
        "prefix": manifest.get("prefix"),
        "complete": manifest["complete"],
        "totals": manifest["totals"],
        "record_counts": manifest["record_counts"],
        "engine_versions": manifest["engine_versions"],
        "zeek_skipped_reason": manifest["zeek_skipped_reason"],
        "capture": {"start": manifest["capture"]["start"], "end": manifest["capture"]["end"]},
        "packets": manifest["packets"],
    }
    out["files"] = [{k: f[k] for k in ("key", "bytes", "sha256", "records")} for f in manifest["files"]]
    out["capture_filter"] = manifest.get("capture_filter")
    pcap = manifest.get("pcap")
    if pcap is not None:
        keep = ("key", "bytes", "sha256", "packets", "first", "last")
        out["pcap"] = {**{k: v for k, v in pcap.items() if k != "files"},
                       "files": [{k: f.get(k) for k in keep} for f in pcap["files"]]}  # fmt: skip
    if len(json.dumps(out)) > limit_bytes:
        out["files"] = None
        out["files_omitted"] = True
    if len(json.dumps(out)) > limit_bytes and out.get("pcap"):
        out["pcap"]["files"] = None
        out["pcap"]["files_omitted"] = True
    if len(json.dumps(out)) > limit_bytes:
        out["record_counts"] = None
    return out
