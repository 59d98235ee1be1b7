"""Where everything lives in the evidence bucket (keys, no leading slash). ``tapcase analyze`` and
``tapcase-sensor process`` write the same tree under an output folder.

::

    investigations/<id>/raw/<engine>/<file>           logs as the engines wrote them
    investigations/<id>/raw/pcap/packets.<s>.<us>.pcap the packets the sensor received
    investigations/<id>/raw/manifest.json             sha256 of every file, written last
    investigations/<id>/report/report.{json,md,html}  the report
    investigations/<id>/report/indicators.{csv,stix.json}  its indicator list (CSV, STIX 2.1 bundle)
    investigations/curated/<table>/investigation_id=<id>/part-00000.parquet
    investigations/curated/suricata_eve/investigation_id=<id>/event_type=<type>/part-00000.parquet
    athena-results/                                   Athena query results (expire after 30 days)
    coverage/coverage_events/day=<yyyy-MM-dd>/<member>-<start>-<end>.json  coverage mode's rolling
                                                      logs (JSON lines; expire after CoverageRetentionDays)

``template.yaml`` names the same prefixes (lifecycle rules, IAM resources, Glue locations);
a test checks them against this module.
"""

from __future__ import annotations

import re

from tapcase_contract.ids import check_investigation_id

#: Every investigation's evidence, and the curated tables, live under this prefix.
EVIDENCE_ROOT = "investigations"
#: The curated (Parquet) tables: one folder per table, Hive-style partitions below.
CURATED_PREFIX = f"{EVIDENCE_ROOT}/curated"
#: The Athena workgroup's result location (a prefix of the evidence bucket).
ATHENA_RESULTS_PREFIX = "athena-results"
#: Coverage mode's rolling logs: what the sensor fleet's members analysed of the coverage VNI,
#: uploaded as they go, one folder per day (:mod:`tapcase_contract.coverage_logs`: the table).
COVERAGE_PREFIX = "coverage"
#: Their partition key (``day=yyyy-MM-dd``; Athena's date projection).
DAY_PARTITION = "day"
#: Sub-folders of an investigation's prefix.
RAW_DIR = "raw"
PCAP_DIR = "pcap"
REPORT_DIR = "report"
MANIFEST_NAME = "manifest.json"
#: Partition keys of the curated tables (folders ``<key>=<value>``).
INVESTIGATION_PARTITION = "investigation_id"
EVENT_TYPE_PARTITION = "event_type"
#: The report's files under ``<prefix>/report/``.
REPORT_JSON, REPORT_MARKDOWN, REPORT_HTML = "report.json", "report.md", "report.html"
#: The report's indicator list: CSV and a STIX 2.1 bundle, beside the report.
INDICATORS_CSV, INDICATORS_STIX = "indicators.csv", "indicators.stix.json"


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


def evidence_prefix(investigation_id: str) -> str:
    """``investigations/<id>``: the investigation's raw evidence and report."""
    return _join(EVIDENCE_ROOT, check_investigation_id(investigation_id))


def raw_key(prefix: str, engine: str, name: str) -> str:
    """``<prefix>/raw/<engine>/<name>`` (``prefix`` may be empty: an output folder's root)."""
    return _join(prefix, RAW_DIR, engine, name)


def pcap_key(prefix: str, name: str) -> str:
    """``<prefix>/raw/pcap/<name>``: a pcap file of the packets the sensor received."""
    return raw_key(prefix, PCAP_DIR, name)


def manifest_key(prefix: str) -> str:
    """``<prefix>/raw/manifest.json``: written last; ``"complete": true`` means all files are there."""
    return _join(prefix, RAW_DIR, MANIFEST_NAME)


def report_key(prefix: str, name: str) -> str:
    """``<prefix>/report/<name>``."""
    return _join(prefix, REPORT_DIR, name)


def curated_table_prefix(table: str) -> str:
    """``investigations/curated/<table>/``: every partition of one curated table."""
    return f"{_join(CURATED_PREFIX, table)}/"


def curated_partition(table: str, investigation_id: str, event_type: str | None = None) -> str:
    """``investigations/curated/<table>/investigation_id=<id>[/event_type=<type>]``."""
    path = _join(CURATED_PREFIX, table, f"{INVESTIGATION_PARTITION}={check_investigation_id(investigation_id)}")
    return path if event_type is None else _join(path, f"{EVENT_TYPE_PARTITION}={event_type}")


def coverage_table_prefix(table: str) -> str:
    """``coverage/<table>/``: every day of one coverage table."""
    return f"{_join(COVERAGE_PREFIX, table)}/"


def coverage_key(table: str, day: str, member: str, start: int, end: int) -> str:
    """``coverage/<table>/day=<day>/<member>-<start>-<end>.json``: one member's roll of
    ``[start, end)`` (Unix seconds) for one day."""
    if not _DAY.fullmatch(day):
        raise ValueError(f"a coverage day is yyyy-MM-dd, not {day!r}")
    return _join(COVERAGE_PREFIX, table, f"{DAY_PARTITION}={day}", f"{member}-{int(start)}-{int(end)}.json")


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
