"""Transpiled queries kept as templates: a query seen again with other partition values is not
transpiled again.

Every investigation runs the same query pack with its own ``investigation_id`` inlined (the
``injected`` partition column every query must pin). Transpiling a pack query (sqlglot: parse,
qualify, annotate types, generate) costs ~40 ms of CPU; many investigations at once repeat it with
only that literal changed. :func:`duckdb_sql` keeps, per query text with its pinned partition
values taken out, the DuckDB SQL with the same values taken out, and fills them back in.

It is exact, or not used: a value is templated only when it is a plain token (letters, digits,
``_ . : -``), the query holds no doubled quote (an escaped quote could hide the value's text inside
another literal), and transpiling kept each value's literal as it was (the same number of
``'value'`` in the DuckDB SQL as in the query); otherwise the query is transpiled every time.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable

#: Templates kept (the pack's ~20 queries per finding shape, many times over).
MAX_TEMPLATES = 512
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_TOKEN = f"tapcase_pinned_{secrets.token_hex(6)}_"

_lock = threading.Lock()
_templates: OrderedDict[str, str | None] = OrderedDict()
stats = {"hits": 0, "misses": 0, "uncacheable": 0}


def _placeholders(values: Iterable[str]) -> list[tuple[str, str]]:
    """``('value', 'placeholder')`` quoted pairs, longest value first."""
    ordered = sorted(set(values), key=lambda v: (-len(v), v))
    return [(f"'{value}'", f"'{_TOKEN}{index}'") for index, value in enumerate(ordered)]


def duckdb_sql(sql: str, context: str, pinned_values: Iterable[str], transpile: Callable[[], str]) -> str:
    """The DuckDB SQL of ``sql`` (``transpile()`` computes it), from a template when one fits.

    ``context``: what else the result depends on (database, tables' schema); ``pinned_values``: the
    literal values of the query's pinned partition columns."""
    values = [v for v in pinned_values if _SAFE_VALUE.match(v)]
    if not values or "''" in sql or _TOKEN in sql:
        return transpile()
    pairs = _placeholders(values)
    key = sql
    for quoted, placeholder in pairs:
        key = key.replace(quoted, placeholder)
    key = f"{context}\n{key}"
    with _lock:
        template = _templates.get(key, "")
        if template:
            _templates.move_to_end(key)
            stats["hits"] += 1
    if template:
        out = template
        for quoted, placeholder in pairs:
            out = out.replace(placeholder, quoted)
        return out
    result = transpile()
    cacheable = template is not None and all(result.count(q) == sql.count(q) for q, _ in pairs)
    if cacheable:
        new_template = result
        for quoted, placeholder in pairs:
            new_template = new_template.replace(quoted, placeholder)
    with _lock:
        stats["misses" if cacheable else "uncacheable"] += 1
        _templates[key] = new_template if cacheable else None
        while len(_templates) > MAX_TEMPLATES:
            _templates.popitem(last=False)
    return result
