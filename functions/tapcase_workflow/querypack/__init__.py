"""The investigation query pack: one Athena (Trino) SQL file per query, rendered with checked values.

Each ``*.sql`` file of this folder starts with a header of ``-- key: value`` comment lines::

    -- name: beaconing                     (= the file name)
    -- title: Beaconing (RITA-style score)
    -- description: what the query detects and how to read it
    -- tables: zeek_conn, suricata_eve     (every table the query reads)
    -- requires: suspect_ips               (optional: skipped unless these values are given)

and uses ``{{placeholders}}``:

* ``{{database}}`` - the Glue database (an identifier);
* ``'{{investigation_id}}'`` - the investigation; every table reference carries
  ``<alias>.investigation_id = '<id>'`` because the partition is projected with type ``injected``
  (Athena refuses a query that does not pin it to a literal);
* list values rendered as comma-separated SQL literals, for ``IN (...)``:
  ``{{finding_remote_ips}}``, ``{{finding_domains}}``, ``{{finding_ports}}``, ``{{suspect_ips}}``;
* ``'{{finding_domain_pattern}}'`` - a regular expression matching the finding's domains and
  their subdomains;
* constants: ``'{{private_ip_pattern}}'`` (RFC 1918, CGNAT, loopback, link-local, IPv6 ULA and
  link-local) and ``'{{non_public_ip_pattern}}'`` (those plus multicast, broadcast, 0.0.0.0/8);
* what is never a beacon, DGA, tunnelling or NXDOMAIN-burst candidate (:mod:`.benign`):
  ``'{{benign_domain_pattern}}'`` (AWS service endpoints of the region, popular domains),
  ``'{{resolver_pattern}}'`` (the Amazon-provided DNS resolver's link-local addresses);
* the flow-log context (``-- requires: flow_log_window``): ``{{suspect_enis}}`` (ENI ids),
  ``{{flow_log_start}}``/``{{flow_log_end}}`` (Unix seconds, from ``flow_log_window`` =
  ``[start, end]``) and ``{{flow_log_days}}`` (the ``yyyy/MM/dd`` partitions of the table's
  ``day`` projection that may hold them: an hour's margin either side, as files are published
  after their records end);
* coverage mode's rolling logs (``-- requires: coverage_window``, a covered instance):
  ``{{coverage_start}}``/``{{coverage_end}}`` (Unix seconds) and ``{{coverage_days}}`` (the
  ``yyyy-MM-dd`` partitions of ``coverage_events`` from start to end);
* what the finding names, for queries that run without a finding too (they exempt it from the
  above): ``'{{finding_domain_or_none_pattern}}'`` (a pattern that never matches without
  domains) and ``{{finding_ips_or_none}}`` (``''`` without remote IPs).

Every value is validated against a strict pattern before it is inlined (ids, IP addresses,
domain names, ports), so rendering cannot inject SQL. Pure: no AWS, no environment.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from tapcase_contract import ContractError, coverage_logs, flow_logs, ids
from tapcase_workflow.querypack import benign

PACK_DIR = Path(__file__).resolve().parent

DATABASE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,254}$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
PLACEHOLDER_RE = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")

PRIVATE_IP_PATTERN = (
    r"^(10\.|172\.(1[6-9]|2[0-9]|3[01])\.|192\.168\.|100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.|127\.|"
    r"169\.254\.|f[cd][0-9a-f]{2}:|fe[89ab][0-9a-f]:|::1$)"
)
NON_PUBLIC_IP_PATTERN = (
    r"^(10\.|172\.(1[6-9]|2[0-9]|3[01])\.|192\.168\.|100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.|127\.|"
    r"169\.254\.|0\.|22[4-9]\.|23[0-9]\.|255\.255\.255\.255$|f[cd][0-9a-f]{2}:|fe[89ab][0-9a-f]:|ff[0-9a-f]{2}:|::1?$)"
)

#: Values a caller may give (lists; a single value is accepted too).
FINDING_PARAMETERS = (
    "finding_remote_ips", "finding_domains", "finding_ports", "suspect_ips", "suspect_enis", "flow_log_window",
    "coverage_window",
)
#: Placeholders the loader fills itself.
BUILTIN_PARAMETERS = (
    "database",
    "investigation_id",
    "private_ip_pattern",
    "non_public_ip_pattern",
    "finding_domain_pattern",
    "benign_domain_pattern",
    "resolver_pattern",
    "finding_domain_or_none_pattern",
    "finding_ips_or_none",
    "flow_log_start",
    "flow_log_end",
    "flow_log_days",
    "coverage_start",
    "coverage_end",
    "coverage_days",
)
KNOWN_PLACEHOLDERS = frozenset(FINDING_PARAMETERS + BUILTIN_PARAMETERS)
_DERIVED_REQUIREMENT = {
    "finding_domain_pattern": "finding_domains",
    "flow_log_start": "flow_log_window",
    "flow_log_end": "flow_log_window",
    "flow_log_days": "flow_log_window",
    "coverage_start": "coverage_window",
    "coverage_end": "coverage_window",
    "coverage_days": "coverage_window",
}
ENI_RE = re.compile(r"^eni-[0-9a-f]{8,17}$")


class QueryPackError(ValueError):
    """A pack file is malformed, or a value given to render it is not acceptable."""


@dataclass(frozen=True)
class Query:
    """One query of the pack, as written (a template)."""

    name: str
    title: str
    description: str
    tables: tuple[str, ...]
    requires: tuple[str, ...]
    template: str
    path: Path

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(PLACEHOLDER_RE.findall(self.template))


@dataclass(frozen=True)
class RenderedQuery:
    """A query ready to run: its SQL has every value inlined."""

    name: str
    title: str
    description: str
    tables: tuple[str, ...]
    sql: str


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def _parse_header(path: Path, text: str) -> dict[str, str]:
    header: dict[str, str] = {}
    key: str | None = None
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        body = line[2:].strip()
        m = re.match(r"^([a-z]+):\s*(.*)$", body)
        if m and m.group(1) in {"name", "title", "description", "tables", "requires"}:
            key = m.group(1)
            header[key] = m.group(2).strip()
        elif key is not None and body:
            header[key] = f"{header[key]} {body}".strip()  # continuation line
    for required in ("name", "title", "description", "tables"):
        if not header.get(required):
            raise QueryPackError(f"{path.name}: header has no '-- {required}:' line")
    if header["name"] != path.stem:
        raise QueryPackError(f"{path.name}: header name {header['name']!r} differs from the file name")
    return header


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


FRAGMENT_RE = re.compile(r"\{\{>\s*([a-z_]+)\s*\}\}")


def _fragment(directory: Path, name: str, where: str) -> str:
    """A shared piece of SQL from ``fragments/<name>.sql`` (its ``--`` header lines dropped)."""
    path = directory / "fragments" / f"{name}.sql"
    if not path.is_file():
        raise QueryPackError(f"{where}: no fragment {name!r} ({path})")
    lines = path.read_text(encoding="utf-8").splitlines()
    body = [line for line in lines if not line.startswith("--")]
    return "\n".join(body).strip("\n").strip()


def load_query(path: Path) -> Query:
    raw = path.read_text(encoding="utf-8")
    # Fragments are inlined when loading: the template (and what Athena runs) is complete SQL.
    text = FRAGMENT_RE.sub(lambda m: _fragment(path.parent, m.group(1), path.name), raw)
    header = _parse_header(path, text)
    if not NAME_RE.match(header["name"]):
        raise QueryPackError(f"{path.name}: bad query name {header['name']!r}")
    requires = _split(header.get("requires", ""))
    for name in requires:
        if name not in FINDING_PARAMETERS:
            raise QueryPackError(f"{path.name}: requires unknown parameter {name!r}")
    query = Query(
        name=header["name"],
        title=header["title"],
        description=header["description"],
        tables=_split(header["tables"]),
        requires=requires,
        template=text,
        path=path,
    )
    unknown = query.placeholders - KNOWN_PLACEHOLDERS
    if unknown:
        raise QueryPackError(f"{path.name}: unknown placeholders {sorted(unknown)}")
    for placeholder in query.placeholders & set(FINDING_PARAMETERS):
        if placeholder not in requires:
            raise QueryPackError(f"{path.name}: uses {{{{{placeholder}}}}} but does not list it in '-- requires:'")
    for derived, base in _DERIVED_REQUIREMENT.items():
        if derived in query.placeholders and base not in requires:
            raise QueryPackError(f"{path.name}: uses {{{{{derived}}}}} but does not require {base}")
    return query


@lru_cache(maxsize=1)
def _load_all(directory: str) -> tuple[Query, ...]:
    return tuple(load_query(p) for p in sorted(Path(directory).glob("*.sql")))


def load_pack(directory: str | Path | None = None) -> tuple[Query, ...]:
    """Every query of the pack, ordered by file name."""
    return _load_all(str(directory or PACK_DIR))


def get_query(name: str) -> Query:
    for query in load_pack():
        if query.name == name:
            return query
    raise KeyError(name)


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------


def check_investigation_id(value: str) -> str:
    try:
        return ids.check_investigation_id(value)
    except ContractError as exc:
        raise QueryPackError(str(exc)) from None


def check_database(value: str) -> str:
    if not isinstance(value, str) or not DATABASE_RE.match(value):
        raise QueryPackError(f"invalid database name {value!r} (expected {DATABASE_RE.pattern})")
    return value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, int)):
        return [value]
    return list(value)


def normalise_ip(value: Any) -> str:
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise QueryPackError(f"invalid IP address {value!r}") from None


def normalise_domain(value: Any) -> str:
    text = str(value).strip().lower().rstrip(".")
    if not DOMAIN_RE.match(text):
        raise QueryPackError(f"invalid domain name {value!r}")
    return text


def normalise_port(value: Any) -> int:
    if isinstance(value, bool):
        raise QueryPackError(f"invalid port {value!r}")
    try:
        port = int(str(value).strip())
    except ValueError:
        raise QueryPackError(f"invalid port {value!r}") from None
    if not 0 <= port <= 65535:
        raise QueryPackError(f"invalid port {value!r}")
    return port


def normalise_eni(value: Any) -> str:
    text = str(value).strip()
    if not ENI_RE.match(text):
        raise QueryPackError(f"invalid network interface id {value!r}")
    return text


def normalise_epoch(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise QueryPackError(f"invalid Unix time {value!r}")
    try:
        seconds = int(str(value).strip())
    except ValueError:
        raise QueryPackError(f"invalid Unix time {value!r}") from None
    if not 0 <= seconds < 2**33:
        raise QueryPackError(f"invalid Unix time {value!r}")
    return seconds


_NORMALISERS = {
    "finding_remote_ips": normalise_ip,
    "finding_domains": normalise_domain,
    "finding_ports": normalise_port,
    "suspect_ips": normalise_ip,
    "suspect_enis": normalise_eni,
    "flow_log_window": normalise_epoch,
    "coverage_window": normalise_epoch,
}


def normalise_parameters(parameters: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """Checked, de-duplicated, sorted values per finding parameter (empty lists dropped)."""
    out: dict[str, list[Any]] = {}
    for key, raw in (parameters or {}).items():
        if key not in _NORMALISERS:
            raise QueryPackError(f"unknown query parameter {key!r} (known: {', '.join(FINDING_PARAMETERS)})")
        values = sorted({_NORMALISERS[key](v) for v in _as_list(raw)}, key=lambda v: (str(type(v)), v))
        if key in ("flow_log_window", "coverage_window") and values and (len(values) != 2 or values[0] == values[1]):
            raise QueryPackError(f"{key} must be [start, end] (two Unix times), got {raw!r}")
        if values:
            out[key] = values
    return out


def _sql_list(values: Iterable[Any]) -> str:
    return ", ".join(str(v) if isinstance(v, int) else f"'{v}'" for v in values)


def _domain_pattern(domains: Iterable[str]) -> str:
    return "(^|\\.)(" + "|".join(d.replace(".", "\\.") for d in domains) + ")$"


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def render(
    query: Query,
    *,
    database: str,
    investigation_id: str,
    parameters: Mapping[str, Any] | None = None,
    region: str | None = None,
) -> RenderedQuery | None:
    """The query with every placeholder filled, or ``None`` when a required value is missing.

    ``region``: the AWS region whose service endpoints are benign (any region when None)."""
    values = normalise_parameters(parameters)
    if any(name not in values for name in query.requires):
        return None
    try:
        benign_pattern = benign.benign_domain_pattern(region)
    except ValueError as exc:
        raise QueryPackError(str(exc)) from None
    fills: dict[str, str] = {
        "database": check_database(database),
        "investigation_id": check_investigation_id(investigation_id),
        "private_ip_pattern": PRIVATE_IP_PATTERN,
        "non_public_ip_pattern": NON_PUBLIC_IP_PATTERN,
        "benign_domain_pattern": benign_pattern,
        "resolver_pattern": benign.RESOLVER_PATTERN,
        "finding_domain_or_none_pattern": benign.NEVER,
        "finding_ips_or_none": "''",
    }
    for key, items in values.items():
        fills[key] = _sql_list(items)
    if "finding_domains" in values:
        fills["finding_domain_pattern"] = _domain_pattern(values["finding_domains"])
        fills["finding_domain_or_none_pattern"] = fills["finding_domain_pattern"]
    if "finding_remote_ips" in values:
        fills["finding_ips_or_none"] = fills["finding_remote_ips"]
    if "flow_log_window" in values:
        start, end = values["flow_log_window"]
        fills["flow_log_start"], fills["flow_log_end"] = str(start), str(end)
        fills["flow_log_days"] = _sql_list(flow_logs.days_between(start - 3600, end + 3600))
    if "coverage_window" in values:
        start, end = values["coverage_window"]
        fills["coverage_start"], fills["coverage_end"] = str(start), str(end)
        fills["coverage_days"] = _sql_list(coverage_logs.days_between(start, end))

    def substitute(m: re.Match[str]) -> str:
        return fills[m.group(1)]

    sql = PLACEHOLDER_RE.sub(substitute, query.template)
    return RenderedQuery(query.name, query.title, query.description, query.tables, sql.strip() + "\n")


def render_pack(
    *,
    database: str,
    investigation_id: str,
    parameters: Mapping[str, Any] | None = None,
    names: Iterable[str] | None = None,
    region: str | None = None,
) -> list[RenderedQuery]:
    """Every query that can run with the values given (finding-keyed ones need their values)."""
    wanted = set(names) if names is not None else None
    out = []
    for query in load_pack():
        if wanted is not None and query.name not in wanted:
            continue
        rendered = render(query, database=database, investigation_id=investigation_id, parameters=parameters,
                          region=region)
        if rendered is not None:
            out.append(rendered)
    return out


def skipped_queries(parameters: Mapping[str, Any] | None = None) -> dict[str, list[str]]:
    """Queries that :func:`render_pack` leaves out, with the values they are missing."""
    values = normalise_parameters(parameters)
    return {
        q.name: [r for r in q.requires if r not in values]
        for q in load_pack()
        if any(r not in values for r in q.requires)
    }


def finding_parameters(
    finding: Any | None,
    suspect_ips: Iterable[str] = (),
    *,
    suspect_enis: Iterable[str] = (),
    flow_log_window: tuple[int, int] | None = None,
    coverage_window: tuple[int, int] | None = None,
) -> dict[str, list[Any]]:
    """Query values from a finding (``FindingContext`` or its dict), the suspect's IPs and ENIs,
    and the flow-log window (None: the stack has no flow logs, the flow-log query is skipped)."""

    def get(key: str) -> Any:
        return finding.get(key) if isinstance(finding, Mapping) else getattr(finding, key, None)

    params: dict[str, list[Any]] = {"suspect_ips": list(suspect_ips), "suspect_enis": list(suspect_enis)}
    if flow_log_window is not None:
        params["flow_log_window"] = list(flow_log_window)
    if coverage_window is not None:  # a covered instance: the fleet's rolling logs before the finding
        params["coverage_window"] = list(coverage_window)
    if finding is not None:
        params["finding_remote_ips"] = list(get("remote_ips") or [])
        params["finding_domains"] = list(get("domains") or [])
        params["finding_ports"] = list(get("remote_ports") or []) + list(get("local_ports") or [])
    return normalise_parameters(params)
