"""Evidence integrity: what is in S3 against the sensor's manifest (pure: listings and hashes in).

The manifest (``investigations/<id>/raw/manifest.json``, written last by the sensor) names every
file of the evidence with its size and sha256: the raw logs, the pcap files and the curated
Parquet files. Before analysis the workflow reads every object back and compares; any file
changed, missing, or present without being listed (e.g. written by another sensor into this
investigation's prefixes) fails the investigation with an error naming it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tapcase_contract.layout import CURATED_PREFIX, INVESTIGATION_PARTITION, evidence_prefix, manifest_key
from tapcase_workflow.errors import EvidenceIncomplete, EvidenceTampered

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Expected:
    key: str
    sha256: str
    bytes: int


def raw_prefix(investigation_id: str) -> str:
    """``investigations/<id>/raw/``: the sensor's raw evidence (logs, pcap, manifest)."""
    return f"{evidence_prefix(investigation_id)}/raw/"


def is_curated_key_of(key: str, investigation_id: str) -> bool:
    """Whether ``key`` lies in one of the investigation's curated partitions."""
    parts = key.split("/")
    return (key.startswith(f"{CURATED_PREFIX}/") and len(parts) >= 5
            and parts[3] == f"{INVESTIGATION_PARTITION}={investigation_id}")


def expected_objects(manifest: Mapping[str, Any], investigation_id: str) -> dict[str, Expected]:
    """Every file the manifest lists, by key; :class:`EvidenceIncomplete` when the manifest cannot
    be used (not complete, another investigation's, a file outside the investigation's prefixes)."""
    where = manifest_key(evidence_prefix(investigation_id))
    if manifest.get("complete") is not True:
        raise EvidenceIncomplete(f"{where} is not a complete manifest: {manifest.get('error')}")
    if manifest.get("investigation_id") != investigation_id:
        raise EvidenceIncomplete(f"{where} is the manifest of {manifest.get('investigation_id')!r}")
    entries: list[Any] = list(manifest.get("files") or [])
    entries += list((manifest.get("pcap") or {}).get("files") or [])
    entries += list((manifest.get("curated") or {}).get("files") or [])
    out: dict[str, Expected] = {}
    for entry in entries:
        key, sha, size = (entry or {}).get("key"), (entry or {}).get("sha256"), (entry or {}).get("bytes")
        if not isinstance(key, str) or not isinstance(sha, str) or not _SHA256.match(sha) or not isinstance(size, int):
            raise EvidenceIncomplete(f"{where} lists a file without key, sha256 and size: {entry!r}")
        if not (key.startswith(raw_prefix(investigation_id)) or is_curated_key_of(key, investigation_id)):
            raise EvidenceTampered(f"{where} lists {key}, outside the investigation's evidence prefixes")
        out[key] = Expected(key, sha, size)
    return out


def compare(
    expected: Mapping[str, Expected],
    stored: Mapping[str, int],
    hashes: Mapping[str, str],
    bucket: str,
    investigation_id: str,
) -> dict[str, int]:
    """``stored``: every object under the investigation's prefixes with its size; ``hashes``: the
    sha256 of the listed ones read back. Raises :class:`EvidenceTampered` naming every file that
    differs; else the counts verified."""
    manifest = manifest_key(evidence_prefix(investigation_id))
    problems: list[str] = []
    for key, want in sorted(expected.items()):
        if key not in stored:
            problems.append(f"s3://{bucket}/{key} is missing")
        elif stored[key] != want.bytes or hashes.get(key) != want.sha256:
            problems.append(f"s3://{bucket}/{key} has sha256 {hashes.get(key)} ({stored[key]} bytes); "
                            f"the manifest says {want.sha256} ({want.bytes} bytes)")
    for key in sorted(set(stored) - set(expected) - {manifest}):
        problems.append(f"s3://{bucket}/{key} is not in the manifest")
    if problems:
        raise EvidenceTampered(f"evidence of {investigation_id} does not match its manifest: " + "; ".join(problems))
    return {"files": len(expected), "bytes": sum(e.bytes for e in expected.values())}


def partition_prefixes(table_prefixes: Iterable[str], investigation_id: str) -> list[str]:
    """The investigation's partition of each curated table (``<table>/investigation_id=<id>/``)."""
    return [f"{p.rstrip('/')}/{INVESTIGATION_PARTITION}={investigation_id}/" for p in table_prefixes]
