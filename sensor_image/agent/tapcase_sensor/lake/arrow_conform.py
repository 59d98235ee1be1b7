"""Arrays as pyarrow's JSON reader inferred them -> curated column types, exactly as the Python path.

The native path reads a block of JSON lines with :func:`pyarrow.json.read_json`, which infers each
key's type from the block (int64, double, bool, string, list, struct...). :func:`conform` turns
such an array into a column type of the schema when Arrow's conversion gives the same value as the
Python path (:mod:`.writer`: ``pa.array`` then ``coerce``) would for the same JSON value: int ->
double, int/bool -> string, a struct projected onto the schema's fields, a struct -> map... For
anything else (a string in a number column, a fraction in a string column, an object where a
string is expected...) it does not guess: it returns a row mask, and those rows take the Python
path. :func:`to_json` writes an array back as JSON text (the ``extra`` column) under the same rule.

A mask (:data:`Rows`) is a boolean array without nulls, True for a row that must take the Python
path, or ``None`` when no row must.
"""

from __future__ import annotations

import json
from typing import TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

Rows: TypeAlias = "pa.BooleanArray | None"

_ARANGE: list[pa.Array] = [pa.array([], pa.int64())]


def arange(n: int) -> pa.Array:
    """0 .. n-1 as int64 (cached)."""
    if len(_ARANGE[0]) < n:
        _ARANGE[0] = pa.array(range(max(n, 2 * len(_ARANGE[0]))), pa.int64())
    return _ARANGE[0].slice(0, n)


def any_true(mask: Rows) -> bool:
    return mask is not None and bool(pc.any(mask).as_py())


def rows_or(a: Rows, b: Rows) -> Rows:
    if a is None:
        return b
    if b is None:
        return a
    return pc.or_(a, b)


def _valid(arr: pa.Array) -> pa.BooleanArray:
    return arr.is_valid()


def _masked(mask: Rows, parent: pa.Array) -> Rows:
    """Rows of ``mask`` where ``parent`` is not null (a child under a null parent is no value)."""
    if mask is None or parent.null_count == 0:
        return mask
    return pc.and_(mask, parent.is_valid())


def _true_where(cond: pa.Array) -> pa.BooleanArray:
    """A boolean condition with nulls read as False."""
    return pc.fill_null(cond, False)


def list_parts(lst: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(offsets from 0, values) of a list array, whatever its slicing."""
    offsets = lst.offsets
    start, end = offsets[0].as_py(), offsets[len(offsets) - 1].as_py()
    values = lst.values.slice(start, end - start)
    if start:
        offsets = pc.subtract(offsets, pa.scalar(start, offsets.type))
    return offsets, values


def rows_of_values(offsets: pa.Array, value_mask: Rows, n: int) -> Rows:
    """Rows of a list array (given by its offsets) holding at least one value of ``value_mask``."""
    if not any_true(value_mask):
        return None
    parents = pc.list_parent_indices(pa.ListArray.from_arrays(offsets, value_mask))
    return pc.is_in(arange(n), value_set=parents.filter(value_mask))


def single_or_empty(cond: pa.Array, values: pa.Array) -> pa.ListArray:
    """``[values[i]]`` where ``cond`` (nulls read as False), else ``[]``."""
    cond = _true_where(cond)
    counts = pc.cast(cond, pa.int32())
    offsets = pa.concat_arrays([pa.array([0], pa.int32()), pc.cumulative_sum(counts)])
    return pa.ListArray.from_arrays(offsets, values.filter(cond))


def first_of(lst: pa.Array) -> pa.Array:
    """The first element of each list (null for an empty or null list)."""
    offsets, values = list_parts(lst)
    n = len(lst)
    starts = offsets.slice(0, n)
    lengths = pc.subtract(offsets.slice(1, n), starts)
    index = pc.if_else(_true_where(pc.greater(lengths, 0)), starts, pa.scalar(None, starts.type))
    return values.take(index)


# ---------------------------------------------------------------------------------------------
# Inferred type -> schema type
# ---------------------------------------------------------------------------------------------


def _refuse(arr: pa.Array, target: pa.DataType) -> tuple[pa.Array, Rows]:
    """No exact conversion: NULLs, and every non-null row to the Python path."""
    mask = arr.is_valid() if arr.null_count < len(arr) else None
    return pa.nulls(len(arr), target), mask


def conform(arr: pa.Array, target: pa.DataType) -> tuple[pa.Array, Rows]:
    """``arr`` (as inferred from JSON) as ``target``; rows that need the Python path."""
    t = arr.type
    if t.equals(target):
        return arr, None
    if pa.types.is_null(t):
        return pa.nulls(len(arr), target), None
    if pa.types.is_string(target):
        if pa.types.is_integer(t) or pa.types.is_boolean(t):
            return pc.cast(arr, target), None  # Python: repr(int), "true"/"false"
        return _refuse(arr, target)
    if pa.types.is_floating(target):
        if pa.types.is_integer(t):
            return pc.cast(arr, target, safe=False), None
        return _refuse(arr, target)
    if pa.types.is_list(target):
        if not pa.types.is_list(t):
            return _refuse(arr, target)
        offsets, values = list_parts(arr)
        conformed, value_bad = conform(values, target.value_type)
        mask = arr.is_null() if arr.null_count else None
        out = pa.ListArray.from_arrays(offsets, conformed, type=target, mask=mask)
        return out, rows_of_values(offsets, value_bad, len(arr))
    if pa.types.is_struct(target):
        if not pa.types.is_struct(t):
            return _refuse(arr, target)
        children, bad = [], None
        for field in target:
            index = t.get_field_index(field.name)
            child = arr.field(index) if index >= 0 else pa.nulls(len(arr), field.type)
            conformed, child_bad = conform(child, field.type)
            children.append(conformed)
            bad = rows_or(bad, child_bad)
        mask = arr.is_null() if arr.null_count else None
        return pa.StructArray.from_arrays(children, fields=list(target), mask=mask), _masked(bad, arr)
    if pa.types.is_map(target) and pa.types.is_string(target.key_type):
        if not pa.types.is_struct(t):
            return _refuse(arr, target)
        return _struct_to_map(arr, target)
    return _refuse(arr, target)


def _struct_to_map(arr: pa.StructArray, target: pa.MapType) -> tuple[pa.Array, Rows]:
    """A JSON object read as a struct (one field per key seen in the block) -> a map.

    Entries follow the block's key order (the struct's fields), one per key present in the row.
    """
    n = len(arr)
    rows, keys, items, order, bad = [], [], [], [], None
    counts = pa.nulls(n, pa.int32()).fill_null(0)
    for index, field in enumerate(arr.type):
        child = arr.field(index)
        present = _true_where(pc.and_(child.is_valid(), arr.is_valid()))
        conformed, child_bad = conform(child, target.item_type)
        bad = rows_or(bad, child_bad)
        taken = conformed.filter(present)
        rows.append(arange(n).filter(present))
        keys.append(pa.array([field.name] * len(taken), pa.string()))
        items.append(taken)
        order.append(pa.array([index] * len(taken), pa.int32()))
        counts = pc.add(counts, pc.cast(present, pa.int32()))
    offsets = pa.concat_arrays([pa.array([0], pa.int32()), pc.cumulative_sum(counts)])
    if rows:
        long = pa.table({
            "row": pa.concat_arrays(rows), "order": pa.concat_arrays(order),
            "key": pa.concat_arrays(keys), "item": pa.concat_arrays(items),
        })
        long = long.take(pc.sort_indices(long, [("row", "ascending"), ("order", "ascending")]))
        key_values, item_values = long.column("key").combine_chunks(), long.column("item").combine_chunks()
    else:
        key_values, item_values = pa.array([], pa.string()), pa.array([], target.item_type)
    mask = arr.is_null() if arr.null_count else None
    out = pa.MapArray.from_arrays(offsets, key_values, item_values, type=target, mask=mask)
    return out, _masked(bad, arr)


# ---------------------------------------------------------------------------------------------
# Array -> JSON text (as json.dumps writes it)
# ---------------------------------------------------------------------------------------------

# json.dumps (ensure_ascii) escapes everything outside printable ASCII: such strings go the
# Python way rather than being escaped here.
_NOT_PRINTABLE_ASCII = r"[^\x20-\x7e]"
_TO_ESCAPE = r'[^\x20-\x7e]|["\\]'
_INTEGRAL = r"^-?[0-9]+$"
_NULL = pa.scalar(None, pa.string())
_PLAIN_BYTES = bytes(b for b in range(0x20, 0x7F) if b not in b'"\\')


def _may_need_escapes(arr: pa.Array) -> bool:
    """Whether any string of ``arr`` holds a byte json.dumps escapes (a check of the data buffer
    at once: cheaper than a regex row by row; a sliced array's buffer may say yes for nothing)."""
    buffers = arr.buffers()
    data = buffers[2] if len(buffers) > 2 else None
    return data is not None and data.size > 0 and bool(data.to_pybytes().translate(None, _PLAIN_BYTES))


def _concat(*parts: object) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _wrap(text: pa.Array, prefix: str, suffix: str) -> pa.Array:
    return _concat(prefix, text, suffix) if prefix or suffix else text


def join_present(parts: list[pa.Array], separator: str = ",") -> pa.Array:
    """Element-wise join of the non-null parts (``""`` when all are null).

    Not ``binary_join_element_wise(..., null_handling="skip")``: pyarrow 26 drops the rows where
    every input is null from its output (the result is shorter than the inputs).
    """
    return _join_pieces([pc.fill_null(_concat(part, separator), "") for part in parts], separator)


def _join_pieces(pieces: list[pa.Array], separator: str = ",") -> pa.Array:
    """Pieces that each end with ``separator`` (or are ``""``), joined, the last separator cut."""
    joined = pieces[0] if len(pieces) == 1 else pc.binary_join_element_wise(*pieces, "")
    return pc.utf8_slice_codeunits(joined, 0, -len(separator))


def to_json(arr: pa.Array) -> tuple[pa.Array, Rows]:
    """Each value as ``json.dumps(value, separators=(",", ":"))`` writes it (null stays null).

    Objects keep the keys of the row in the block's key order (JSON-equal to the Python output;
    byte-equal when the key order is the same in every row); a key with a null value is left out.
    """
    return _json(arr, "", "")


def _json(arr: pa.Array, prefix: str, suffix: str) -> tuple[pa.Array, Rows]:
    """``prefix`` + the JSON text of each value + ``suffix`` (null for a null value)."""
    t = arr.type
    n = len(arr)
    if pa.types.is_null(t):
        return pa.nulls(n, pa.string()), None
    if pa.types.is_boolean(t):
        return pc.if_else(arr, f"{prefix}true{suffix}", f"{prefix}false{suffix}"), None
    if pa.types.is_integer(t):
        return _wrap(pc.cast(arr, pa.string()), prefix, suffix), None
    if pa.types.is_floating(t):
        text = pc.cast(arr, pa.string())
        magnitude = pc.abs(arr)
        # repr() writes plain digits in this range (Arrow too, unless it picks an exponent: then
        # the row goes the Python way); both write the shortest digits that read back the same.
        plain = pc.or_(pc.and_(pc.greater_equal(magnitude, 1e-4), pc.less(magnitude, 1e16)), pc.equal(arr, 0))
        plain = pc.and_(plain, pc.invert(pc.match_substring(text, "e")))
        bad = _true_where(pc.and_(arr.is_valid(), pc.invert(plain)))
        integral = _true_where(pc.match_substring_regex(text, _INTEGRAL))
        text = pc.if_else(integral, _concat(prefix, text, ".0" + suffix), _wrap(text, prefix, suffix))
        return text, bad if any_true(bad) else None
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        bad = None
        if _may_need_escapes(arr) and any_true(_true_where(pc.match_substring_regex(arr, _TO_ESCAPE))):
            bad = _true_where(pc.match_substring_regex(arr, _NOT_PRINTABLE_ASCII))
            bad = bad if any_true(bad) else None
            arr = pc.replace_substring(pc.replace_substring(arr, "\\", "\\\\"), '"', '\\"')
        return _wrap(arr, prefix + '"', '"' + suffix), bad
    if pa.types.is_list(t):
        offsets, values = list_parts(arr)
        text, value_bad = _json(values, "", "")
        text = pc.fill_null(text, "null")
        mask = arr.is_null() if arr.null_count else None
        joined = pc.binary_join(pa.ListArray.from_arrays(offsets, text, mask=mask), ",")
        return _wrap(joined, prefix + "[", "]" + suffix), rows_of_values(offsets, value_bad, n)
    if pa.types.is_struct(t):
        pieces, bad = [], None
        for index, field in enumerate(t):
            text, child_bad = _json(arr.field(index), json.dumps(field.name) + ":", ",")
            pieces.append(pc.fill_null(text, ""))
            bad = rows_or(bad, child_bad)
        if pieces:
            out = _wrap(_join_pieces(pieces), prefix + "{", "}" + suffix)
        else:
            out = pa.array([prefix + "{}" + suffix] * n, pa.string())
        if arr.null_count:
            out = pc.if_else(arr.is_valid(), out, _NULL)
        return out, _masked(bad, arr)
    mask = arr.is_valid() if arr.null_count < n else None
    return pa.nulls(n, pa.string()), mask


# Past this many leaf values, an object costs more to write vectorised (a few kernel calls per
# leaf, per block) than its rows cost the Python way: Suricata's stats events (~500 counters).
MAX_VECTORISED_LEAVES = 48


def leaves(t: pa.DataType) -> int:
    if pa.types.is_struct(t):
        return sum(leaves(f.type) for f in t)
    if pa.types.is_list(t):
        return leaves(t.value_type)
    return 1


def extra_json(columns: dict[str, pa.Array], n: int) -> tuple[pa.Array, Rows]:
    """The ``extra`` column: each row's unknown keys as one JSON object, keys sorted (null if none)."""
    if not columns:
        return pa.nulls(n, pa.string()), None
    pieces, bad = [], None
    for name in sorted(columns):
        column = columns[name]
        if leaves(column.type) > MAX_VECTORISED_LEAVES:
            bad = rows_or(bad, column.is_valid())
            continue
        text, part_bad = _json(column, json.dumps(name) + ":", ",")
        pieces.append(pc.fill_null(text, ""))
        bad = rows_or(bad, part_bad)
    if not pieces:
        return pa.nulls(n, pa.string()), bad
    body = _join_pieces(pieces)
    out = pc.if_else(_true_where(pc.equal(body, "")), _NULL, _concat("{", body, "}"))
    return out, bad
