"""Streaming readers for what the engines write: Zeek logs and Suricata EVE.

Zeek logs come in three shapes, all handled by :class:`ZeekLog`:

* stock JSON (``LogAscii::use_json=T``): one object per line, epoch-float ``ts``;
* JSON with ISO-8601 times and a ``_path`` key (json-streaming-logs, brimdata samples);
* TSV with ``#separator``/``#fields``/``#types`` headers, ``-`` for unset and ``(empty)`` for
  empty containers.

Every shape yields dicts keyed by Zeek's stock field names (``id.orig_h``...), with ``ts`` and
all other ``time`` values as epoch floats, and TSV values converted from ``#types``. The
``_path``/``_write_ts`` keys of the ISO shape are dropped (``_path`` becomes
:attr:`ZeekLog.log_type`). TSV string escapes are decoded the way Zeek's JSON writer renders
them: ``\\xHH`` of a printable character or tab/newline/CR becomes that character, other bytes
stay as the four characters ``\\xHH`` (as in Zeek's JSON), ``\\\\`` becomes ``\\``.

Suricata EVE (:func:`read_eve`) is read line by line into :class:`EveEvent` objects holding the
raw record and a normalised copy: an epoch ``ts`` and a DNS object in one shape for Suricata 7
(DNS log version 2: ``type`` query/answer, top-level ``rrname``) and Suricata 8 (version 3:
``type`` request/response, ``queries[]``), in dns events and in alerts.

Files may be gzip-compressed (detected by content, not name). Nothing loads a whole file.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from tapcase_sensor.errors import LogParseError

PathLike = str | os.PathLike[str]

# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def open_text(path: PathLike) -> IO[str]:
    """Open a log file for text reading; gzip is detected by its magic bytes."""
    p = Path(path)
    with p.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(p, "rb"), encoding="utf-8", errors="surrogateescape", newline="\n")
    return p.open("r", encoding="utf-8", errors="surrogateescape", newline="\n")


_ROTATION_SUFFIX = re.compile(
    r"\.(\d{4}-\d{2}-\d{2}[-_]\d{2}[-:]\d{2}[-:]\d{2}(-\d{2}:\d{2}:\d{2})?|\d{2}:\d{2}:\d{2}-\d{2}:\d{2}:\d{2})$"
)


def log_type_from_name(path: PathLike) -> str:
    """``conn.log``, ``conn.log.gz``, ``dns.json.gz``, ``conn.2024-01-01-00-00-00.log`` -> type."""
    name = Path(path).name
    for suffix in (".gz", ".log", ".json", ".ndjson", ".jsonl", ".tsv"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    for suffix in (".log", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return _ROTATION_SUFFIX.sub("", name)


def sniff_format(path: PathLike, max_lines: int = 50) -> str:
    """Guess what a log file is: ``zeek-tsv``, ``zeek-json``, ``eve``, ``json`` or ``text``.

    ``empty`` for a file without content lines. Reads at most ``max_lines`` lines.
    """
    with open_text(path) as fh:
        for i, line in enumerate(fh):
            if i >= max_lines:
                break
            text = line.strip()
            if not text:
                continue
            if text.startswith("#fields") or text.startswith("#separator"):
                return "zeek-tsv"
            if text.startswith("#"):
                continue
            if text.startswith("{"):
                try:
                    rec = json.loads(text)
                except ValueError:
                    return "text"
                if isinstance(rec, dict) and "event_type" in rec and "timestamp" in rec:
                    return "eve"
                if isinstance(rec, dict) and ("ts" in rec or "_path" in rec):
                    return "zeek-json"
                return "json"
            return "text"
    return "empty"


def count_lines(path: PathLike) -> int:
    """Non-empty, non-comment lines (records) of a text log."""
    n = 0
    with open_text(path) as fh:
        for line in fh:
            if line.strip() and not line.startswith("#"):
                n += 1
    return n


# ---------------------------------------------------------------------------------------------
# Time helpers
# ---------------------------------------------------------------------------------------------

_ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$")


def _looks_iso(value: str) -> bool:
    return 19 < len(value) < 40 and value[4] == "-" and value[10] == "T" and _ISO_Z.match(value) is not None


_ISO_PARTS = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(?:Z|([+-]\d{2}):?(\d{2}))$")


@lru_cache(maxsize=4096)
def _epoch_seconds(base: str, tzh: str, tzm: str) -> int:
    return int(datetime.fromisoformat(f"{base}{tzh}:{tzm}").timestamp())


def iso_to_epoch(value: str) -> float:
    """ISO-8601 (``Z``, ``+00:00`` or ``+0000``; up to nanoseconds) to epoch seconds.

    The fraction is kept exactly as written (``...:20.865716Z`` gives ``...720.865716``, the
    same float as Zeek's epoch output), not through datetime's microseconds.
    """
    m = _ISO_PARTS.match(value.strip())
    if not m:
        raise ValueError(f"not an ISO-8601 time: {value!r}")
    base, frac, tzh, tzm = m.groups()
    seconds = _epoch_seconds(base, tzh or "+00", tzm or "00")
    if not frac:
        return float(seconds)
    return float(f"{seconds}{frac}") if seconds >= 0 else seconds + float(frac)


def epoch_to_iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------
# Zeek
# ---------------------------------------------------------------------------------------------

_TSV_DIRECTIVES = (
    "#separator",
    "#set_separator",
    "#empty_field",
    "#unset_field",
    "#path",
    "#open",
    "#close",
    "#fields",
    "#types",
)
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|\\)")
_INT_TYPES = {"count", "int", "port", "counter"}
_FLOAT_TYPES = {"time", "interval", "double"}


def _unescape_tsv(value: str) -> str:
    if "\\" not in value:
        return value

    def repl(m: re.Match[str]) -> str:
        code = m.group(1)
        if code == "\\":
            return "\\"
        b = int(code[1:], 16)
        if b in (0x09, 0x0A, 0x0D) or 0x20 <= b < 0x7F:
            return chr(b)
        return "\\" + code

    return _ESCAPE.sub(repl, value)


def _decode_separator(text: str) -> str:
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text)


def _to_bool(value: str) -> bool:
    if value == "T":
        return True
    if value == "F":
        return False
    raise ValueError(f"bad bool {value!r}")


def _scalar_converter(zeek_type: str) -> Callable[[str], Any]:
    if zeek_type in _INT_TYPES:
        return int
    if zeek_type in _FLOAT_TYPES:
        return float
    if zeek_type == "bool":
        return _to_bool
    return _unescape_tsv


def _field_converter(zeek_type: str, set_separator: str, empty: str, unset: str) -> Callable[[str], Any]:
    """Value converter for one TSV column, chosen once per header from its #types entry."""
    if zeek_type.startswith(("set[", "vector[", "table[")):
        inner = _scalar_converter(zeek_type[zeek_type.index("[") + 1 : -1])

        def container(value: str) -> Any:
            if value == unset:
                return None
            if value == empty:
                return []
            return [None if item == unset else inner(item) for item in value.split(set_separator)]

        return container
    scalar = _scalar_converter(zeek_type)
    is_string = zeek_type == "string"

    def single(value: str) -> Any:
        if value == unset:
            return None
        if is_string and value == empty:
            return ""
        return scalar(value)

    return single


@dataclass
class _TsvHeader:
    separator: str = "\t"
    set_separator: str = ","
    empty_field: str = "(empty)"
    unset_field: str = "-"
    path: str | None = None
    fields: list[str] | None = None
    types: list[str] | None = None
    converters: list[Callable[[str], Any]] | None = None


class ZeekLog:
    """A Zeek log file in any of its three shapes, read lazily record by record.

    >>> log = ZeekLog("conn.log.gz")
    >>> for rec in log: ...          # dicts with stock field names, epoch-float ts
    >>> log.log_type, log.shape      # known once the first record (or header) was read
    """

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        self.shape: str | None = None  # "tsv" | "json" | "json-iso"
        self._path_value: str | None = None
        self.fields: list[str] | None = None
        self.types: dict[str, str] | None = None

    @property
    def log_type(self) -> str:
        """From ``_path`` (JSON), ``#path`` (TSV), else from the file name."""
        return self._path_value or log_type_from_name(self.path)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        with open_text(self.path) as fh:
            yield from self._records(fh)

    def _error(self, lineno: int, msg: str) -> LogParseError:
        return LogParseError(f"{self.path}:{lineno}: {msg}")

    def _records(self, fh: IO[str]) -> Iterator[dict[str, Any]]:
        header: _TsvHeader | None = None
        for lineno, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            if line.startswith("#"):
                if line.startswith("#separator"):
                    header = _TsvHeader(separator=_decode_separator(line[len("#separator") :].strip() or "\\x09"))
                    self.shape = "tsv"
                    continue
                if header is not None and line.startswith(_TSV_DIRECTIVES):
                    self._directive(header, line, lineno)
                continue  # comments (e.g. btest baseline banners)
            if line.lstrip().startswith("{") and header is None:
                yield self._json_record(line, lineno)
                continue
            if header is None or header.fields is None or header.types is None:
                raise self._error(lineno, "data line before a #fields/#types header (not a Zeek TSV or JSON log)")
            yield self._tsv_record(header, line, lineno)

    def _directive(self, header: _TsvHeader, line: str, lineno: int) -> None:
        parts = line.split(header.separator)
        key, values = parts[0], parts[1:]
        if key == "#set_separator" and values:
            header.set_separator = _decode_separator(values[0])
        elif key == "#empty_field" and values:
            header.empty_field = values[0]
        elif key == "#unset_field" and values:
            header.unset_field = values[0]
        elif key == "#path" and values:
            header.path = values[0]
            self._path_value = values[0]
        elif key == "#fields":
            header.fields = values
            self.fields = values
        elif key == "#types":
            header.types = values
        if header.fields is not None and header.types is not None:
            if len(header.fields) != len(header.types):
                raise self._error(lineno, f"{len(header.fields)} #fields but {len(header.types)} #types")
            self.types = dict(zip(header.fields, header.types, strict=True))
            header.converters = [
                _field_converter(t, header.set_separator, header.empty_field, header.unset_field) for t in header.types
            ]

    def _tsv_record(self, header: _TsvHeader, line: str, lineno: int) -> dict[str, Any]:
        assert header.fields is not None and header.types is not None and header.converters is not None
        values = line.split(header.separator)
        if len(values) != len(header.fields):
            raise self._error(lineno, f"{len(values)} values for {len(header.fields)} fields")
        try:
            return {name: convert(value) for name, convert, value in zip(header.fields, header.converters, values, strict=False)}
        except ValueError:
            for name, zeek_type, convert, value in zip(header.fields, header.types, header.converters, values, strict=False):
                try:
                    convert(value)
                except ValueError as exc:
                    raise self._error(lineno, f"field {name} ({zeek_type}): {exc}") from None
            raise

    def _json_record(self, line: str, lineno: int) -> dict[str, Any]:
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise self._error(lineno, f"invalid JSON: {exc}") from None
        if not isinstance(record, dict):
            raise self._error(lineno, "JSON line is not an object")
        path = record.pop("_path", None)
        record.pop("_write_ts", None)
        if path is not None and self._path_value is None:
            self._path_value = str(path)
        ts = record.get("ts")
        iso = isinstance(ts, str) or (ts is None and path is not None)
        if self.shape is None:
            self.shape = "json-iso" if iso else "json"
        if iso:
            for key, value in record.items():
                if type(value) is str and _looks_iso(value):
                    record[key] = iso_to_epoch(value)
                elif type(value) is list and value and all(type(v) is str and _looks_iso(v) for v in value):
                    record[key] = [iso_to_epoch(v) for v in value]
        elif isinstance(ts, int):
            record["ts"] = float(ts)
        if "ts" in record and not isinstance(record["ts"], float):
            raise self._error(lineno, f"ts is neither an epoch number nor an ISO time: {ts!r}")
        return record


def read_zeek(path: PathLike) -> Iterator[dict[str, Any]]:
    """Records of a Zeek log in any shape (see :class:`ZeekLog`)."""
    return iter(ZeekLog(path))


def detect_zeek_log_type(path: PathLike) -> str:
    """Log type from ``_path`` / ``#path`` when present (reads the head only), else the file name."""
    log = ZeekLog(path)
    with open_text(path) as fh:
        for i, line in enumerate(fh):
            if i > 20:
                break
            if line.startswith("#path"):
                parts = re.split(r"\s+", line.strip(), maxsplit=1)
                if len(parts) == 2:
                    return parts[1]
            elif line.startswith("{"):
                try:
                    rec = json.loads(line)
                except ValueError:
                    break
                if isinstance(rec, dict) and rec.get("_path"):
                    return str(rec["_path"])
                break
    return log.log_type


# ---------------------------------------------------------------------------------------------
# Suricata EVE
# ---------------------------------------------------------------------------------------------


@dataclass
class EveEvent:
    """One EVE record: ``raw`` as written, ``data`` normalised (see :func:`normalize_eve`)."""

    event_type: str
    ts: float | None
    data: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)


def _dns_query_list(dns: dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(dns.get("queries"), list):
        return [{"rrname": q.get("rrname"), "rrtype": q.get("rrtype")} for q in dns["queries"] if isinstance(q, dict)]
    if "rrname" in dns or "rrtype" in dns:
        return [{"rrname": dns.get("rrname"), "rrtype": dns.get("rrtype")}]
    return []


def _dns_answer_list(dns: dict[str, Any]) -> list[dict[str, Any]]:
    answers = dns.get("answers")
    if isinstance(answers, list):
        return [dict(a) for a in answers if isinstance(a, dict)]
    grouped = dns.get("grouped")
    if isinstance(grouped, dict):  # "grouped" format only: no per-answer names/TTLs
        return [
            {"rrname": None, "rrtype": rrtype, "ttl": None, "rdata": value}
            for rrtype, values in grouped.items()
            for value in (values if isinstance(values, list) else [values])
        ]
    if dns.get("type") == "answer" and "rdata" in dns:  # version 1: one event per answer
        return [{key: dns.get(key) for key in ("rrname", "rrtype", "ttl", "rdata")}]
    return []


_DNS_TYPE = {"query": "request", "answer": "response", "request": "request", "response": "response"}


def normalize_dns(dns: dict[str, Any]) -> dict[str, Any]:
    """One DNS shape for EVE versions 1-3 (Suricata <=7 and 8).

    Result keys: ``version`` (as logged; 2 when absent), ``type`` (``request``/``response``),
    ``id``, ``tx_id``, ``opcode``, ``rcode``, ``flags``, ``qr``/``aa``/``tc``/``rd``/``ra``/``z``
    when logged, ``queries`` [{rrname, rrtype}], ``answers`` [{rrname, rrtype, ttl, rdata, ...}],
    ``authorities``, ``additionals``, and ``rrname``/``rrtype`` of the first query.
    Suricata 7 alerts nest the DNS data as ``{"query": [...]}`` or ``{"answer": {...}}``; those
    are unwrapped (several queries are merged into one ``queries`` list).
    """
    if "query" in dns and isinstance(dns["query"], list) and "type" not in dns:
        items = [q for q in dns["query"] if isinstance(q, dict)]
        base: dict[str, Any] = normalize_dns(items[0]) if items else {"type": "request", "queries": []}
        base["queries"] = [q for item in items for q in _dns_query_list(item)]
        base["rrname"] = base["queries"][0]["rrname"] if base["queries"] else None
        base["rrtype"] = base["queries"][0]["rrtype"] if base["queries"] else None
        return base
    if "answer" in dns and isinstance(dns["answer"], dict) and "type" not in dns:
        return normalize_dns(dns["answer"])
    out: dict[str, Any] = {
        "version": dns.get("version", 2),
        "type": _DNS_TYPE.get(str(dns.get("type")), dns.get("type")),
    }
    for key in ("id", "tx_id", "opcode", "rcode", "flags", "qr", "aa", "tc", "rd", "ra", "z"):
        if key in dns:
            out[key] = dns[key]
    queries = _dns_query_list(dns)
    out["queries"] = queries
    out["answers"] = _dns_answer_list(dns)
    out["authorities"] = [dict(a) for a in dns.get("authorities", []) if isinstance(a, dict)]
    out["additionals"] = [dict(a) for a in dns.get("additionals", []) if isinstance(a, dict)]
    out["rrname"] = queries[0]["rrname"] if queries else None
    out["rrtype"] = queries[0]["rrtype"] if queries else None
    return out


def normalize_eve(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of an EVE record with ``ts`` (epoch float) and DNS normalised.

    ``ts`` is the event's ``timestamp``, except for ``flow`` records: there Suricata's
    ``timestamp`` is when the flow was logged (the same for every flow of a pcap run), so ``ts``
    is ``flow.start``, the connection's start, as Zeek's conn.log ``ts``.
    """
    out = dict(record)
    stamp = record.get("timestamp")
    flow = record.get("flow")
    if record.get("event_type") == "flow" and isinstance(flow, dict) and isinstance(flow.get("start"), str):
        stamp = flow["start"]
    out["ts"] = iso_to_epoch(stamp) if isinstance(stamp, str) else None
    if isinstance(record.get("dns"), dict):
        out["dns"] = normalize_dns(record["dns"])
    return out


def read_eve(path: PathLike) -> Iterator[EveEvent]:
    """EVE records of a Suricata eve.json (plain or gzip), streamed."""
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except ValueError as exc:
                raise LogParseError(f"{path}:{lineno}: invalid JSON: {exc}") from None
            if not isinstance(raw, dict) or "event_type" not in raw:
                raise LogParseError(f"{path}:{lineno}: not an EVE record (no event_type)")
            data = normalize_eve(raw)
            yield EveEvent(event_type=str(raw["event_type"]), ts=data["ts"], data=data, raw=raw)
