"""Which objects a query on a table reads: Athena's choice of partitions.

With ``projection.enabled`` partitions are found under ``storage.location.template`` (or the Hive
layout ``col=value/``) and filtered by each column's projection (``injected`` columns: only the
values the query pins); without projection only the partitions registered in Glue are read.
Files whose name starts with ``_`` or ``.`` and empty objects are skipped, as Athena does.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tapcase.localcloud.athena.catalog import CatalogTable
from tapcase.localcloud.athena.storage import S3Object, S3Store


@dataclass
class TablePartition:
    """One partition (or the whole of an unpartitioned table) and the objects it holds."""

    values: dict[str, str]
    objects: list[S3Object]


def _is_hidden(key: str) -> bool:
    """Athena skips files whose name starts with ``_`` or ``.``, and folder markers."""
    name = key.rsplit("/", 1)[-1]
    return not name or name.startswith(("_", "."))


def _readable(objects: Iterable[S3Object]) -> list[S3Object]:
    return [o for o in objects if not _is_hidden(o.key) and o.size > 0]


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _template(table: CatalogTable) -> str:
    template = table.parameters.get("storage.location.template")
    if template:
        return _with_slash(template)
    hive = "".join(f"{name}=${{{name}}}/" for name, _ in table.partition_keys)
    return _with_slash(table.location) + hive


_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


def _accepts(table: CatalogTable, column: str, value: str, pinned: Mapping[str, set[str]]) -> bool:
    """Would Athena's projection of ``column`` include ``value``?"""
    kind = (table.projection(column, "type") or "").strip().lower()
    if kind == "injected":
        return value in pinned.get(column, set())
    if kind == "enum":
        return value in (table.projection(column, "values") or "").split(",")
    if kind == "integer":
        bounds = (table.projection(column, "range") or "").split(",")
        try:
            low, high = int(bounds[0]), int(bounds[1])
            return low <= int(value) <= high
        except (ValueError, IndexError):
            return False
    return True  # date ranges and anything else: whatever the layout holds


def table_partitions(table: CatalogTable, store: S3Store, pinned: Mapping[str, set[str]]) -> list[TablePartition]:
    """The partitions a query on ``table`` reads, as Athena would choose them."""
    if not table.partition_keys:
        return [TablePartition({}, _readable(store.list(_with_slash(table.location))))]

    if not table.projection_enabled:
        # Without projection Athena reads the partitions registered in the catalog, nothing else.
        partitions = []
        for values, location in table.registered_partitions:
            named = {name: value for (name, _), value in zip(table.partition_keys, values, strict=False)}
            partitions.append(TablePartition(named, _readable(store.list(_with_slash(location)))))
        return partitions

    template = _template(table)
    first = _PLACEHOLDER.search(template)
    fixed_prefix = template[: first.start()] if first else template
    pattern_parts: list[str] = []
    position = 0
    names: list[str] = []
    for placeholder in _PLACEHOLDER.finditer(template):
        pattern_parts.append(re.escape(template[position : placeholder.start()]))
        name = placeholder.group(1).lower()
        if name in names:
            pattern_parts.append(f"(?P=p{names.index(name)})")
        else:
            pattern_parts.append(f"(?P<p{len(names)}>[^/]+)")
            names.append(name)
        position = placeholder.end()
    pattern_parts.append(re.escape(template[position:]))
    pattern = re.compile("^" + "".join(pattern_parts) + ".+$")

    uses_hive_layout = "storage.location.template" not in table.parameters
    grouped: dict[tuple[str, ...], TablePartition] = {}
    for obj in _readable(store.list(fixed_prefix)):
        match = pattern.match(f"s3://{obj.bucket}/{obj.key}")
        if match is None:
            continue
        raw = [match.group(f"p{i}") for i in range(len(names))]
        found = [urllib.parse.unquote(v) if uses_hive_layout else v for v in raw]
        named = dict(zip(names, found, strict=True))
        if not all(_accepts(table, column, value, pinned) for column, value in named.items()):
            continue
        key = tuple(found)
        grouped.setdefault(key, TablePartition(named, [])).objects.append(obj)
    return list(grouped.values())
