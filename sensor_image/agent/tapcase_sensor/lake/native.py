"""Blocks of Zeek JSON and Suricata EVE read by Arrow, made into curated tables, vectorised.

A block is read by :func:`parse_block` (pyarrow's JSON reader, one call per block, types inferred
from the block except a few strings named below) and turned into the curated columns by
:func:`zeek_columns` / :func:`eve_columns`, which do what the Python path does record by record:

* Zeek JSON: dotted keys are the column sources (``id.orig_h``), ``ts`` an epoch number (an
  integer becomes a double); in the shape with ISO times, the times of time columns as epoch;
* EVE: ``ts`` (epoch double) from ``timestamp`` or, for ``flow`` records, from ``flow.start``; the
  DNS object in one shape for Suricata 7 (DNS log v2: ``type`` query/answer, top-level ``rrname``)
  and 8 (v3: ``type`` request/response, ``queries[]``); ``alert.metadata`` as a map; the
  ``event_type=`` partition of every row;
* both: unknown top-level keys as one JSON object in ``extra``.

Each returns the columns in the table's schema, in block order, and a row mask (see
:mod:`.arrow_conform`) of the rows Arrow cannot give exactly: the caller sends those (and every row
of a block Arrow cannot read at all) the Python way.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from tapcase_sensor.lake.arrow_conform import (
    Rows,
    any_true,
    conform,
    extra_json,
    first_of,
    list_parts,
    rows_of_values,
    rows_or,
    single_or_empty,
)
from tapcase_sensor.lake.schema import EVENT_TYPE_OTHER, SURICATA_EVENT_TYPES, SURICATA_TABLE, Table
from tapcase_sensor.lake.writer import arrow_schema, arrow_type, known_keys

# Strings Arrow would otherwise read as timestamps when a whole block of them has no fraction
# ("2024-01-01T00:00:00"): the text must stay as written.
_STRING = pa.string()
_TIMES = {
    "flow": pa.field("flow", pa.struct([("start", _STRING), ("end", _STRING)])),
    "tls": pa.field("tls", pa.struct([("notbefore", _STRING), ("notafter", _STRING)])),
}
EVE_READ_SCHEMA = pa.schema([("timestamp", _STRING), ("event_type", _STRING), *_TIMES.values()])
_EVE_READ_SCHEMAS = {key: pa.schema([("timestamp", _STRING), ("event_type", _STRING), field]) for key, field in _TIMES.items()}
_EVE_READ_OTHERS = pa.schema([("timestamp", _STRING), ("event_type", _STRING)])


def eve_read_schema(event_type: str | None) -> pa.Schema:
    """The types given to Arrow for a block of EVE lines, all of ``event_type`` when given
    (an absent column costs time for every row: only the ones the event type may hold)."""
    if event_type is None or event_type in ("alert", "anomaly", "drop"):
        return EVE_READ_SCHEMA
    return _EVE_READ_SCHEMAS.get(event_type, _EVE_READ_OTHERS)


def parse_block(data: bytes, read_schema: pa.Schema | None = None) -> pa.Table:
    """One block of JSON lines -> an Arrow table (raises ``pa.ArrowException`` when Arrow cannot).

    Single-threaded (one core). Strings must be valid UTF-8: Arrow does not check raw bytes, so a
    block that is not all ASCII is validated (escapes are checked by Arrow's parser itself: an
    invalid ``\\ud800`` fails the read).
    """
    table = pj.read_json(
        pa.BufferReader(data),
        read_options=pj.ReadOptions(use_threads=False, block_size=max(len(data) + 1, 1 << 16)),
        parse_options=pj.ParseOptions(explicit_schema=read_schema, unexpected_field_behavior="infer"),
    )
    if not data.isascii():
        table.validate(full=True)
    return table


def _columns(tab: pa.Table) -> dict[str, pa.Array]:
    return {name: tab.column(name).combine_chunks() for name in tab.column_names}


def _all_rows(n: int) -> pa.BooleanArray:
    return pa.array([True] * n, pa.bool_())


def _curated(table: Table, cols: dict[str, pa.Array], n: int, special: dict[str, tuple[pa.Array, Rows]]) -> tuple[pa.Table, Rows]:
    """Every column of ``table``: the ``special`` ones given, ``extra`` from unknown keys, the
    others conformed from the block's column of the same source key (NULL when absent)."""
    schema = arrow_schema(table)
    known = known_keys(table)
    arrays, bad = [], None
    for column in table.columns:
        if column.name in special:
            array, column_bad = special[column.name]
        elif column.source == "*":
            array, column_bad = extra_json({k: v for k, v in cols.items() if k not in known}, n)
        else:
            typ = schema.field(column.name).type
            source = cols.get(column.source)
            array, column_bad = conform(source, typ) if source is not None else (pa.nulls(n, typ), None)
        arrays.append(array)
        bad = rows_or(bad, column_bad)
    return pa.Table.from_arrays(arrays, schema=schema), bad


# ---------------------------------------------------------------------------------------------
# Zeek
# ---------------------------------------------------------------------------------------------


def zeek_columns(tab: pa.Table, table: Table) -> tuple[pa.Table, Rows]:
    """A block of Zeek JSON -> the curated table, in block order.

    Stock JSON (epoch ``ts``) as it is; the shape with ISO-8601 times (``_path``, string ``ts``)
    as ZeekLog reads it: every top-level string that looks like an ISO time becomes epoch seconds.
    """
    cols = _columns(tab)
    n = tab.num_rows
    ts = cols.get("ts")
    if ts is not None and (pa.types.is_string(ts.type) or pa.types.is_timestamp(ts.type)):
        bad = _zeek_iso(cols, table, n)
    else:
        bad = None
        path = cols.get("_path")
        if path is not None:  # _path and no ts: the ISO shape's rules for that record (Python path)
            no_ts = ts.is_null() if ts is not None else _all_rows(n)
            bad = pc.and_(path.is_valid(), no_ts)
    curated, column_bad = _curated(table, cols, n, {})
    return curated, rows_or(bad, column_bad)


# logs._looks_iso: what ZeekLog turns into epoch seconds in a record of the ISO shape.
_LOOKS_ISO = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:?[0-9]{2})$"


def _zeek_iso(cols: dict[str, pa.Array], table: Table, n: int) -> Rows:
    """ISO times of a block of the ISO shape -> epoch seconds, in ``cols`` (in place).

    Converted here: ISO strings of ``double`` columns (Zeek ``time`` fields) written to the
    microsecond. To the Python way: a record without ``ts``, ISO strings elsewhere (a string
    column, a list, an unknown key) or with more digits, a non-ISO string in a time column, and
    times Arrow already read as timestamps (their text is gone).
    """
    schema = arrow_schema(table)
    targets = {c.source: schema.field(c.name).type for c in table.columns if c.source != "*"}
    bad: Rows = cols["ts"].is_null() if cols["ts"].null_count else None
    for name, col in list(cols.items()):
        typ = col.type
        if name in ("_path", "_write_ts") or col.null_count == len(col):
            continue
        if pa.types.is_timestamp(typ):
            bad = rows_or(bad, col.is_valid())
        elif pa.types.is_list(typ) and pa.types.is_string(typ.value_type):
            offsets, values = list_parts(col)
            looks = pc.fill_null(pc.match_substring_regex(values, _LOOKS_ISO), False)
            bad = rows_or(bad, rows_of_values(offsets, looks, n))
        elif pa.types.is_string(typ):
            looks = pc.fill_null(pc.match_substring_regex(col, _LOOKS_ISO), False)
            if not any_true(looks):
                continue
            if not pa.types.is_floating(targets.get(name, pa.null())):
                bad = rows_or(bad, looks)
                continue
            exact = pc.fill_null(pc.match_substring_regex(col, _ISO_US), False)
            bad = rows_or(bad, pc.and_(col.is_valid(), pc.invert(exact)))
            try:
                micros = pc.cast(pc.cast(pc.if_else(exact, col, _NULL_STRING), pa.timestamp("us", tz="UTC")), pa.int64())
            except pa.ArrowInvalid:  # e.g. month 13: the Python way decides
                bad = rows_or(bad, col.is_valid())
                continue
            cols[name] = pc.divide(pc.cast(micros, pa.float64()), 1e6)
    return bad


# ---------------------------------------------------------------------------------------------
# Suricata EVE
# ---------------------------------------------------------------------------------------------

_LISTED = pa.array([t for t in SURICATA_EVENT_TYPES if t != EVENT_TYPE_OTHER], _STRING)
# The Python parser's ISO-8601 rule (logs.iso_to_epoch), limited to microseconds: Arrow parses
# those exactly as Python does (the fraction as written, not through a float).
_ISO_US = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:?[0-9]{2})$"
_NULL_STRING = pa.scalar(None, _STRING)


def eve_partitions(event_type: pa.Array) -> pa.Array:
    """The ``event_type=`` partition of each row (``other`` for types without their own)."""
    listed = pc.fill_null(pc.is_in(event_type, value_set=_LISTED), False)
    return pc.if_else(listed, event_type, EVENT_TYPE_OTHER)


def _string_child(struct: pa.Array | None, name: str) -> pa.Array | None:
    if struct is None or not pa.types.is_struct(struct.type):
        return None
    index = struct.type.get_field_index(name)
    if index < 0 or not pa.types.is_string(struct.type.field(index).type):
        return None
    return struct.field(index)


def eve_ts(cols: dict[str, pa.Array], event_type: pa.Array, n: int) -> tuple[pa.Array, Rows]:
    """Epoch seconds of ``timestamp``; for flow records of ``flow.start`` (the flow's start)."""
    stamp = cols.get("timestamp")
    if stamp is None or pa.types.is_null(stamp.type):
        stamp = pa.nulls(n, _STRING)
    elif not pa.types.is_string(stamp.type):
        return pa.nulls(n, pa.float64()), stamp.is_valid()
    flow = cols.get("flow")
    start = _string_child(flow, "start")
    if start is not None:
        assert flow is not None
        use = pc.and_(pc.equal(event_type, "flow"), pc.and_(flow.is_valid(), start.is_valid()))
        stamp = pc.if_else(pc.fill_null(use, False), start, stamp)
    ok = pc.fill_null(pc.match_substring_regex(stamp, _ISO_US), False)
    bad = pc.and_(stamp.is_valid(), pc.invert(ok))
    try:
        micros = pc.cast(pc.cast(pc.if_else(ok, stamp, _NULL_STRING), pa.timestamp("us", tz="UTC")), pa.int64())
    except pa.ArrowInvalid:  # e.g. month 13: the Python way decides
        return pa.nulls(n, pa.float64()), stamp.is_valid()
    bad = pc.or_(bad, pc.fill_null(pc.less(micros, 0), False))
    ts = pc.divide(pc.cast(micros, pa.float64()), 1e6)
    return ts, bad


_DNS_Q = pa.struct([("rrname", _STRING), ("rrtype", _STRING)])
_DNS_RR = pa.struct([("rrname", _STRING), ("rrtype", _STRING), ("ttl", pa.int64()), ("rdata", _STRING)])
_FLAGS = ("qr", "aa", "tc", "rd", "ra", "z")
# What Suricata 7 (v2) and 8 (v3) write in a DNS object, read before normalising.
_DNS_RAW = pa.struct(
    [("version", pa.int64()), ("type", _STRING), ("id", pa.int64()), ("tx_id", pa.int64()),
     ("opcode", pa.int64()), ("rcode", _STRING), ("flags", _STRING)]
    + [(flag, pa.bool_()) for flag in _FLAGS]
    + [("rrname", _STRING), ("rrtype", _STRING), ("ttl", pa.int64()), ("rdata", _STRING),
       ("queries", pa.list_(_DNS_Q)), ("answers", pa.list_(_DNS_RR)), ("authorities", pa.list_(_DNS_RR))]
)
_DNS_TYPE = arrow_type(SURICATA_TABLE.column("dns").type)


def _present(struct: pa.StructArray, name: str) -> pa.Array | None:
    index = struct.type.get_field_index(name)
    return struct.field(index) if index >= 0 else None


def _empty_lists(n: int, value_type: pa.DataType) -> pa.ListArray:
    offsets = pa.nulls(n + 1, pa.int32()).fill_null(0)
    return pa.ListArray.from_arrays(offsets, pa.array([], value_type))


def eve_dns(dns: pa.Array | None, n: int) -> tuple[pa.Array, Rows]:
    """The DNS object in one shape (logs.normalize_dns), for Suricata 7 and 8 alike.

    Taken the Python way: the objects Suricata 7 nests in alerts (``{"query": [...]}``,
    ``{"answer": {...}}``, no ``type``) and answers logged only in the ``grouped`` format.
    """
    if dns is None or pa.types.is_null(dns.type):
        return pa.nulls(n, _DNS_TYPE), None
    if not pa.types.is_struct(dns.type):
        return pa.nulls(n, _DNS_TYPE), dns.is_valid()
    typ = _present(dns, "type")
    untyped = typ.is_null() if typ is not None else _all_rows(n)
    bad: Rows = None
    for wrapper in ("query", "answer"):
        nested = _present(dns, wrapper)
        if nested is not None:
            bad = rows_or(bad, pc.and_(nested.is_valid(), untyped))
    grouped = _present(dns, "grouped")
    if grouped is not None:
        answers_given = _present(dns, "answers")
        no_answers = answers_given.is_null() if answers_given is not None else _all_rows(n)
        bad = rows_or(bad, pc.and_(grouped.is_valid(), no_answers))
    raw, raw_bad = conform(dns, _DNS_RAW)
    bad = rows_or(bad, raw_bad)

    def field(name: str) -> pa.Array:
        return raw.field(name)

    rrname, rrtype, rtype = field("rrname"), field("rrtype"), field("type")
    is_query = pc.fill_null(pc.equal(rtype, "query"), False)
    is_answer = pc.fill_null(pc.equal(rtype, "answer"), False)
    queries = pc.if_else(
        field("queries").is_valid(),
        field("queries"),
        single_or_empty(pc.or_(rrname.is_valid(), rrtype.is_valid()),
                        pa.StructArray.from_arrays([rrname, rrtype], fields=list(_DNS_Q))),
    )
    answers = pc.if_else(
        field("answers").is_valid(),
        field("answers"),
        single_or_empty(pc.and_(is_answer, field("rdata").is_valid()),
                        pa.StructArray.from_arrays([rrname, rrtype, field("ttl"), field("rdata")], fields=list(_DNS_RR))),
    )
    authorities = pc.if_else(field("authorities").is_valid(), field("authorities"), _empty_lists(n, _DNS_RR))
    first = first_of(queries)
    values = {
        "version": pc.coalesce(field("version"), pa.scalar(2, pa.int64())),
        "type": pc.if_else(is_query, "request", pc.if_else(is_answer, "response", rtype)),
        **{name: field(name) for name in ("id", "tx_id", "opcode", "rcode", "flags", *_FLAGS)},
        "rrname": first.field("rrname"),
        "rrtype": first.field("rrtype"),
        "queries": queries,
        "answers": answers,
        "authorities": authorities,
    }
    children = [values[f.name] for f in _DNS_TYPE]
    mask = dns.is_null() if dns.null_count else None
    out = pa.StructArray.from_arrays(children, fields=list(_DNS_TYPE), mask=mask)
    if bad is not None and dns.null_count:
        bad = pc.and_(bad, dns.is_valid())
    return out, bad


def eve_columns(tab: pa.Table) -> tuple[pa.Table, pa.Array, Rows]:
    """A block of EVE -> (the curated table, each row's partition, rows for the Python path)."""
    cols = _columns(tab)
    n = tab.num_rows
    event_type = cols.get("event_type")
    if event_type is None or not pa.types.is_string(event_type.type):
        empty = pa.Table.from_arrays([pa.nulls(n, f.type) for f in arrow_schema(SURICATA_TABLE)],
                                     schema=arrow_schema(SURICATA_TABLE))
        return empty, pa.nulls(n, _STRING), _all_rows(n)
    bad: Rows = event_type.is_null() if event_type.null_count else None  # "not an EVE record"
    special = {"ts": eve_ts(cols, event_type, n), "dns": eve_dns(cols.get("dns"), n)}
    curated, column_bad = _curated(SURICATA_TABLE, cols, n, special)
    return curated, eve_partitions(event_type), rows_or(bad, column_bad)

