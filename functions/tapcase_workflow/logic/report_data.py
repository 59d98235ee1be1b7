"""Reading the query pack's results and formatting values for the report (pure).

Results come from two places with one shape (``{"columns": [...], "rows": [[...]]}``): Athena
(``dal.athena``: arrays as lists of strings, numbers converted by type) and DuckDB
(``tapcase analyze``: native values). Everything here accepts both.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

Record = dict[str, Any]


def records(result: Mapping[str, Any] | None) -> list[Record]:
    """The rows of one query result as dicts (no result: no rows)."""
    if not result:
        return []
    columns = list(result.get("columns") or [])
    return [dict(zip(columns, row, strict=False)) for row in result.get("rows") or []]


def as_list(value: Any) -> list[Any]:
    """An array value: a list (DuckDB), Athena's text form ``[a, b]``, a comma-separated string, or
    nothing."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [part.strip() for part in text.split(",") if part.strip()]


def number(value: Any, default: float = 0.0) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    try:
        parsed = float(str(value))
    except (TypeError, ValueError):
        return default
    return parsed if math.isfinite(parsed) else default


def integer(value: Any, default: int = 0) -> int:
    return int(number(value, default))


def iso_time(epoch: Any) -> str | None:
    """Epoch seconds -> ``2018-03-24T17:15:20.865716Z`` (None for anything else)."""
    if isinstance(epoch, bool) or not isinstance(epoch, (int, float)) or not math.isfinite(epoch):
        return None
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def short_time(epoch: Any) -> str:
    """Epoch seconds -> ``2018-03-24 17:15:20Z`` (empty for anything else)."""
    if isinstance(epoch, bool) or not isinstance(epoch, (int, float)) or not math.isfinite(epoch):
        return ""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def epoch_of(value: Any) -> float | None:
    """Epoch seconds of a number or an ISO-8601 time (the sensor's capture start/end)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def human_bytes(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    size = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"  # pragma: no cover


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    return f"{count:,} {singular if count == 1 else (plural_form or singular + 's')}"


def cell(column: str, value: Any) -> str:
    """A value as the report's tables show it."""
    if value is None:
        return ""
    if column.endswith("_ts") or column in {"ts", "minute_start", "compile_ts"}:
        return iso_time(value) or str(value)
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(cell("", v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={cell('', v)}" for k, v in value.items())
    return str(value)


def is_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


#: Addresses that are never "outside": the query pack's non-public pattern (RFC 1918, CGNAT,
#: loopback, link-local, multicast, broadcast, 0/8, IPv6 ULA/link-local/multicast). Documentation
#: ranges count as outside, as in the queries (the scenario stories use them for the Internet).
_NON_PUBLIC = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4", "fc00::/7", "fe80::/10", "ff00::/8", "::1/128", "::/128",
))


def is_public_ip(value: Any) -> bool:
    """An address outside private, shared, loopback, link-local and multicast space."""
    try:
        address = ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return not any(address.version == n.version and address in n for n in _NON_PUBLIC)


def under(name: str, domains: Iterable[str]) -> str | None:
    """The domain of ``domains`` that ``name`` is or is under (None: none)."""
    text = name.lower().rstrip(".")
    for domain in domains:
        d = domain.lower().rstrip(".")
        if text == d or text.endswith("." + d):
            return d
    return None


def registered_domain(name: str) -> str:
    """The last two labels (the query pack's notion of a registered domain)."""
    labels = name.lower().rstrip(".").split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 else name.lower()


def account_text(account: Mapping[str, Any]) -> str:
    """The capture facts' account line: the id, and whether it is a member account."""
    kind = "member account" if account.get("member") else "the stack's own account"
    return f"{account.get('id')} ({kind})"
