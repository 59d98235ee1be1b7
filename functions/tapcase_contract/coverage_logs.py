"""Coverage mode's rolling logs as the lake holds them (one definition for the sensor fleet's
members that write them, the Glue table that reads them and the query over them).

A fleet member analyses what it kept of the coverage VNI (:data:`~tapcase_contract.limits.COVERAGE_VNI`)
every few minutes and uploads one JSON object per line, flattened from Suricata's EVE events
(flows, alerts, DNS, TLS, HTTP), under ``coverage/coverage_events/day=<yyyy-MM-dd>/``
(:func:`tapcase_contract.layout.coverage_key`), the day of the event's own time (UTC). Athena reads
them through a Glue table with the JSON SerDe and a date projection on ``day``.
"""

from __future__ import annotations

import datetime as _dt

TABLE = "coverage_events"
#: ``projection.day.format`` (Java DateTimeFormatter) and the same in strftime.
DAY_FORMAT = "yyyy-MM-dd"
PY_DAY_FORMAT = "%Y-%m-%d"
#: First day the date projection covers.
FIRST_DAY = "2020-01-01"
#: Event types kept (EVE ``event_type``).
EVENT_TYPES = ("flow", "alert", "dns", "tls", "http")
#: (column, Athena type), in order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_time", "double"),  # Unix seconds
    ("ts", "string"),  # EVE timestamp as written
    ("event_type", "string"),
    ("src_ip", "string"),
    ("src_port", "int"),
    ("dest_ip", "string"),
    ("dest_port", "int"),
    ("proto", "string"),
    ("app_proto", "string"),
    ("community_id", "string"),
    ("pkts_toserver", "bigint"),
    ("pkts_toclient", "bigint"),
    ("bytes_toserver", "bigint"),
    ("bytes_toclient", "bigint"),
    ("alert_signature", "string"),
    ("alert_severity", "int"),
    ("dns_rrname", "string"),
    ("tls_sni", "string"),
    ("http_host", "string"),
    ("member", "string"),  # the fleet member's address
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)


def day_of(epoch: float) -> str:
    """The ``day`` partition of a Unix time (UTC)."""
    return _dt.datetime.fromtimestamp(epoch, tz=_dt.UTC).strftime(PY_DAY_FORMAT)


def days_between(start: float, end: float) -> list[str]:
    """Every ``day`` from ``start``'s to ``end``'s (Unix seconds), in order."""
    first = _dt.datetime.fromtimestamp(min(start, end), tz=_dt.UTC).date()
    last = _dt.datetime.fromtimestamp(max(start, end), tz=_dt.UTC).date()
    return [(first + _dt.timedelta(days=n)).strftime(PY_DAY_FORMAT) for n in range((last - first).days + 1)]
