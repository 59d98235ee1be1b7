"""VPC Flow Logs delivered to S3: where AWS puts them and what a default-format record holds.

Defined once for the Glue table (``tapcase.lake_glue``), the pack query that reads it, Plan, and
the local cloud that writes such records from a capture.

* Layout ("Flow log files", Amazon VPC User Guide): ``<bucket>/<optional prefix>/AWSLogs/
  <account>/vpcflowlogs/<region>/<yyyy>/<MM>/<dd>/`` holding gzip text files named
  ``<account>_vpcflowlogs_<region>_<flow log id>_<YYYYMMDDTHHmmZ>_<hash>.log.gz``; files are
  published every 5 minutes.
* Records ("Flow log records"): the default format is version 2, fields separated by spaces, a
  header line naming the fields; one record per network interface, 5-tuple and aggregation
  interval (the maximum aggregation interval is 600 s by default, 60 s on request; on Nitro
  instances it is always 60 s or less). ``start``/``end`` are Unix seconds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

#: The default format's fields, in order (version 2).
DEFAULT_FIELDS: tuple[str, ...] = (
    "version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol",
    "packets", "bytes", "start", "end", "action", "log-status",
)
#: The default format as CreateFlowLogs' ``LogFormat`` spells it.
DEFAULT_LOG_FORMAT = " ".join(f"${{{name}}}" for name in DEFAULT_FIELDS)
#: Glue column (Athena's example table) and type per field.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("version", "int"), ("account_id", "string"), ("interface_id", "string"), ("srcaddr", "string"),
    ("dstaddr", "string"), ("srcport", "int"), ("dstport", "int"), ("protocol", "bigint"),
    ("packets", "bigint"), ("bytes", "bigint"), ("start", "bigint"), ("end", "bigint"),
    ("action", "string"), ("log_status", "string"),
)
#: Partition columns of the table (Athena's partition projection example for non-Hive layouts).
PARTITION_KEYS: tuple[str, ...] = ("accid", "region", "day")
#: ``projection.day.format``: the date folders AWS writes.
DAY_FORMAT = "yyyy/MM/dd"
#: The table's name in the forensics database.
TABLE = "vpc_flow_logs"
#: Seconds of flow-log context the pack query reads before the finding (or the capture).
CONTEXT_SECONDS = 3600
#: Default maximum aggregation interval (CreateFlowLogs ``MaxAggregationInterval``) and the other allowed value.
DEFAULT_AGGREGATION_SECONDS = 600
AGGREGATION_CHOICES = (60, 600)
#: How often AWS publishes a file to S3.
PUBLISH_SECONDS = 300

_PREFIX_RE = re.compile(r"^[A-Za-z0-9!_.*'()/-]{0,900}$")


def check_prefix(prefix: str) -> str:
    """A destination prefix as given to CreateFlowLogs (no leading or trailing slash)."""
    if not _PREFIX_RE.match(prefix) or prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
        raise ValueError(f"invalid flow log prefix {prefix!r}: no leading, trailing or double slash")
    return prefix


def logs_root(bucket: str, prefix: str = "") -> str:
    """``s3://bucket[/prefix]/AWSLogs/``: where AWS writes every account's flow logs."""
    return f"s3://{bucket}/{check_prefix(prefix) + '/' if prefix else ''}AWSLogs/"


def day_folder(epoch_seconds: float) -> str:
    """``yyyy/MM/dd`` (UTC) of a time: the folder a file of that time goes to."""
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).strftime("%Y/%m/%d")


def object_key(prefix: str, account: str, region: str, flow_log_id: str, published: float, digest: str) -> str:
    """The key AWS gives a flow log file published at ``published`` (Unix seconds)."""
    stamp = datetime.fromtimestamp(published, tz=UTC).strftime("%Y%m%dT%H%MZ")
    head = f"{check_prefix(prefix)}/" if prefix else ""
    return (f"{head}AWSLogs/{account}/vpcflowlogs/{region}/{day_folder(published)}/"
            f"{account}_vpcflowlogs_{region}_{flow_log_id}_{stamp}_{digest}.log.gz")


def days_between(start: int, end: int) -> list[str]:
    """Every ``yyyy/MM/dd`` folder from ``start`` to ``end`` (Unix seconds, UTC), in order."""
    days: list[str] = []
    t = start - start % 86400
    while t <= end:
        days.append(day_folder(t))
        t += 86400
    return days
