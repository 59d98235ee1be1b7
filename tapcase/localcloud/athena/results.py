"""Athena's result formats: column types as ColumnInfo, values as Athena writes them, the CSV file."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final


@dataclass(frozen=True)
class ColumnMeta:
    name: str
    type: str
    precision: int
    scale: int
    case_sensitive: bool

    def column_info(self) -> dict[str, Any]:
        return {
            "CatalogName": "hive",
            "SchemaName": "",
            "TableName": "",
            "Name": self.name,
            "Label": self.name,
            "Type": self.type,
            "Precision": self.precision,
            "Scale": self.scale,
            "Nullable": "UNKNOWN",
            "CaseSensitive": self.case_sensitive,
        }


@dataclass
class QueryResult:
    columns: list[ColumnMeta]
    rows: list[list[str | None]]
    data_scanned: int
    planning_ms: int
    engine_ms: int
    #: the rows left memory (the history's bound): GetQueryResults reads the result file back
    rows_released: bool = False


# DuckDB type id → (Athena type name, precision). Athena reports varchar with precision
# 2147483647 (seen in real GetQueryResults output); the other precisions are Trino's.
_ATHENA_TYPES: Final[dict[str, tuple[str, int]]] = {
    "varchar": ("varchar", 2147483647),
    "bigint": ("bigint", 19),
    "hugeint": ("bigint", 19),
    "ubigint": ("bigint", 19),
    "uinteger": ("bigint", 19),
    "integer": ("integer", 10),
    "usmallint": ("integer", 10),
    "smallint": ("smallint", 5),
    "utinyint": ("smallint", 5),
    "tinyint": ("tinyint", 3),
    "double": ("double", 17),
    "float": ("float", 17),
    "boolean": ("boolean", 0),
    "date": ("date", 0),
    "time": ("time", 3),
    "timestamp": ("timestamp", 3),
    "timestamp_ms": ("timestamp", 3),
    "timestamp_s": ("timestamp", 3),
    "timestamp_ns": ("timestamp", 3),
    "timestamp with time zone": ("timestamp with time zone", 3),
    "interval": ("interval day to second", 0),
    "blob": ("varbinary", 2147483647),
    "list": ("array", 0),
    "array": ("array", 0),
    "struct": ("row", 0),
    "map": ("map", 0),
    "uuid": ("uuid", 0),
    "json": ("json", 0),
    "null": ("unknown", 0),
}


def athena_column(name: str, duckdb_type_: Any) -> ColumnMeta:
    """Athena's ColumnInfo for a result column of the given DuckDB type."""
    type_id = str(getattr(duckdb_type_, "id", duckdb_type_)).lower()
    if type_id == "decimal":
        match = re.search(r"\((\d+)\s*,\s*(\d+)\)", str(duckdb_type_))
        precision, scale = (int(match.group(1)), int(match.group(2))) if match else (38, 0)
        return ColumnMeta(name, "decimal", precision, scale, False)
    athena_type, precision = _ATHENA_TYPES.get(type_id, (type_id, 0))
    return ColumnMeta(name, athena_type, precision, 0, athena_type in ("varchar", "char", "json"))


def java_double(value: float) -> str:
    """A double as Java's ``Double.toString`` (and so Athena) writes it: 3.5, 1.0E7, 1.0E-4."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    shortest = Decimal(repr(abs(value))).normalize()  # the shortest digits that round-trip
    if 1e-3 <= abs(value) < 1e7:
        text = format(shortest, "f")
        return sign + (text if "." in text else text + ".0")
    _, digits, exponent = shortest.as_tuple()
    scientific = len(digits) + int(exponent) - 1
    head = str(digits[0])
    tail = "".join(str(d) for d in digits[1:]) or "0"
    return f"{sign}{head}.{tail}E{scientific}"


def _format_timestamp(value: dt.datetime) -> str:
    text = value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if value.tzinfo is not None:
        zone = value.tzname() or "UTC"
        text += " " + ("UTC" if zone in ("UTC", "Etc/UTC", "GMT") else zone)
    return text


def format_value(value: Any, nested: bool = False) -> str | None:
    """A value as Athena writes it in GetQueryResults and in the result CSV (None for NULL)."""
    if value is None:
        return "null" if nested else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return _format_timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
        days, rest = divmod(abs(seconds), 86400)
        hours, rest = divmod(rest, 3600)
        minutes, rest = divmod(rest, 60)
        sign = "-" if seconds < 0 else ""
        return f"{sign}{int(days)} {int(hours):02d}:{int(minutes):02d}:{rest:06.3f}"
    if isinstance(value, bytes | bytearray | memoryview):
        return " ".join(f"{b:02x}" for b in bytes(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v, nested=True) or "" for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={format_value(v, nested=True)}" for k, v in value.items()) + "}"
    return str(value)


def to_csv(columns: Sequence[ColumnMeta], rows: Iterable[Sequence[str | None]]) -> bytes:
    """Athena's result file: every field double-quoted, NULL as an empty unquoted field."""

    def quoted(text: str | None) -> str:
        return "" if text is None else '"' + text.replace('"', '""') + '"'

    lines = [",".join(quoted(c.name) for c in columns)]
    lines.extend(",".join(quoted(v) for v in row) for row in rows)
    return ("\n".join(lines) + "\n").encode("utf-8")


def from_csv(data: bytes) -> list[list[str | None]]:
    """The rows of a result file written by :func:`to_csv` (header row left out): a quoted field
    is a value (``""`` inside it one quote), an empty unquoted field NULL."""
    text, i = data.decode("utf-8"), 0
    rows: list[list[str | None]] = []
    row: list[str | None] = []
    n = len(text)
    while i < n:
        if text[i] == '"':
            parts, j = [], i + 1
            while True:
                k = text.index('"', j)
                parts.append(text[j:k])
                if text.startswith('"', k + 1):
                    parts.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            row.append("".join(parts))
        else:
            row.append(None)
        if i < n and text[i] == ",":
            i += 1
            continue
        rows.append(row)
        row = []
        i += 1  # the line's end
    return rows[1:]
