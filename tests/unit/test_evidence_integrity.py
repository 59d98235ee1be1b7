"""Evidence integrity (tapcase_workflow.logic.evidence): every file the manifest lists, read back,
against its sha256 and size; the error names each file that differs."""

from __future__ import annotations

import pytest

from tapcase_workflow.errors import EvidenceIncomplete, EvidenceTampered
from tapcase_workflow.logic.evidence import compare, expected_objects

INV = "inv-integrity-1"
LOG = f"investigations/{INV}/raw/suricata/eve.json"
PARQUET = f"investigations/curated/suricata_alert/investigation_id={INV}/part-0.parquet"
A, B = "a" * 64, "b" * 64


def manifest(**extra):
    return {"complete": True, "investigation_id": INV,
            "files": [{"key": LOG, "sha256": A, "bytes": 10}],
            "curated": {"files": [{"key": PARQUET, "sha256": B, "bytes": 20}]}, **extra}


def test_matching_evidence_is_counted():
    expected = expected_objects(manifest(), INV)
    assert compare(expected, {LOG: 10, PARQUET: 20}, {LOG: A, PARQUET: B}, "bkt", INV) == {"files": 2, "bytes": 30}


@pytest.mark.parametrize("stored, hashes, says", [
    ({LOG: 10, PARQUET: 20}, {LOG: "c" * 64, PARQUET: B}, f"s3://bkt/{LOG} has sha256 {'c' * 64}"),
    ({LOG: 11, PARQUET: 20}, {PARQUET: B}, f"s3://bkt/{LOG} has sha256 None (11 bytes)"),
    ({PARQUET: 20}, {PARQUET: B}, f"s3://bkt/{LOG} is missing"),
    ({LOG: 10, PARQUET: 20, f"investigations/{INV}/raw/zeek/extra.log": 5}, {LOG: A, PARQUET: B},
     f"s3://bkt/investigations/{INV}/raw/zeek/extra.log is not in the manifest"),
])
def test_a_changed_missing_or_unlisted_file_is_named(stored, hashes, says):
    with pytest.raises(EvidenceTampered, match="does not match its manifest") as caught:
        compare(expected_objects(manifest(), INV), stored, hashes, "bkt", INV)
    assert says in str(caught.value)


def test_a_manifest_naming_another_investigations_file_is_refused():
    other = manifest(files=[{"key": "investigations/someone-else/raw/suricata/eve.json", "sha256": A, "bytes": 1}])
    with pytest.raises(EvidenceTampered, match="outside the investigation's evidence prefixes"):
        expected_objects(other, INV)


@pytest.mark.parametrize("bad", [{"complete": False}, {"investigation_id": "inv-other-1"},
                                 {"files": [{"key": LOG, "sha256": "not-hex", "bytes": 10}]}])
def test_an_unusable_manifest_is_refused(bad):
    with pytest.raises(EvidenceIncomplete):
        expected_objects(manifest(**bad), INV)
