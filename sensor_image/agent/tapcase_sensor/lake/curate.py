"""Raw logs -> curated Parquet (ZSTD), streaming, in bounded memory.

Each log file is converted by :func:`tapcase_sensor.lake.convert.curate_source`: Zeek JSON and
Suricata EVE natively, with pyarrow's JSON reader and vectorised Arrow compute (blocks of lines,
no Python object per record), the rare rows Arrow cannot give exactly the Python way; Zeek TSV
the Python way (:mod:`tapcase_sensor.logs`). Both give the same
rows: the columns of :mod:`tapcase_sensor.lake.schema`, values that do not fit their column coerced
(``"42"`` -> 42) or NULL rather than failing (the raw logs stay the evidence), unknown keys as JSON
in ``extra``. :class:`Curator` (:mod:`.writer`) writes one Parquet dataset per table and partition:
row groups of ``row_group_rows``, files of ``file_rows``, at most ``max_buffered_bytes`` of Arrow
data buffered across partitions, so memory does not grow with the size of the capture.

Entry points: :func:`discover_logs` (what is in a folder), :func:`curate` (convert sources into
``<out_root>/investigations/curated/...``, optionally one process per table with ``workers``)
and :class:`Curator` (feed records yourself). ``CurateResult.keys()`` gives each written file
with its S3 key (relative to the evidence bucket) for the upload.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tapcase_contract.ids import check_investigation_id
from tapcase_sensor.lake.convert import curate_source
from tapcase_sensor.lake.schema import table_for_zeek_log
from tapcase_sensor.lake.writer import (  # the public names of curation, re-exported
    COMPRESSION,
    COMPRESSION_LEVEL,
    Curator,
    arrow_schema,
    arrow_type,
    coerce,
)
from tapcase_sensor.logs import ZeekLog, detect_zeek_log_type, read_eve, sniff_format

__all__ = [
    "COMPRESSION", "COMPRESSION_LEVEL", "CurateResult", "Curator", "LogSource", "arrow_schema", "arrow_type",
    "coerce", "curate", "discover_logs",
]

# Options of the conversion itself (the others go to Curator).
_CONVERT_OPTIONS = ("native", "block_bytes", "max_line_bytes")


@dataclass
class CurateResult:
    """What a curation wrote: rows per table, the files, and what was skipped and why."""

    investigation_id: str
    root: Path
    rows: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    bytes_in: int = 0

    def keys(self) -> list[tuple[Path, str]]:
        """(local file, S3 key relative to the evidence bucket) for every file written."""
        return [(p, p.relative_to(self.root).as_posix()) for p in self.files]

    def to_dict(self) -> dict[str, Any]:
        return {
            "investigation_id": self.investigation_id,
            "rows": dict(sorted(self.rows.items())),
            "files": [k for _, k in self.keys()],
            "sources": self.sources,
            "skipped": self.skipped,
            "bytes_in": self.bytes_in,
        }


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogSource:
    """A log file and what it holds: ``kind`` ``zeek`` (with its ``log_type``) or ``suricata``."""

    path: Path
    kind: str
    log_type: str

    def records(self) -> Iterator[dict[str, Any]]:
        if self.kind == "suricata":
            for event in read_eve(self.path):
                yield event.data
        else:
            yield from ZeekLog(self.path)


_SKIP_NAMES = {"manifest.json"}


def discover_logs(directory: str | os.PathLike[str]) -> tuple[list[LogSource], list[dict[str, str]]]:
    """Zeek logs (any of the three shapes) and Suricata EVE files under ``directory``.

    Returns (sources, skipped): every other file is listed in ``skipped`` with the reason.
    Files are recognised by content (gzip too), not by name; the Zeek log type comes from
    ``_path`` / ``#path`` when present, else from the file name.
    """
    root = Path(directory)
    sources: list[LogSource] = []
    skipped: list[dict[str, str]] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if path.name in _SKIP_NAMES or path.suffix == ".parquet" or any(
            part.startswith(".") for part in path.relative_to(root).parts
        ):
            skipped.append({"path": rel, "reason": "not a log"})
            continue
        try:
            fmt = sniff_format(path)
        except (OSError, UnicodeDecodeError, EOFError) as exc:
            skipped.append({"path": rel, "reason": f"unreadable: {exc}"})
            continue
        if fmt == "eve":
            sources.append(LogSource(path, "suricata", "eve"))
        elif fmt in ("zeek-tsv", "zeek-json"):
            log_type = detect_zeek_log_type(path)
            if table_for_zeek_log(log_type) is None:
                skipped.append({"path": rel, "reason": f"Zeek {log_type}.log has no curated table"})
            else:
                sources.append(LogSource(path, "zeek", log_type))
        else:
            skipped.append({"path": rel, "reason": f"not a Zeek or Suricata log ({fmt})"})
    return sources, skipped


def _curate_group(
    sources: list[LogSource], out_root: str, investigation_id: str, options: dict[str, Any]
) -> CurateResult:
    """Curate sources that all feed one table (runs in a worker process when parallel)."""
    root = Path(out_root)
    result = CurateResult(investigation_id=investigation_id, root=root)
    convert = {k: v for k, v in options.items() if k in _CONVERT_OPTIONS}
    curator_options = {k: v for k, v in options.items() if k not in _CONVERT_OPTIONS}
    with Curator(root, investigation_id, **curator_options) as curator:
        for source in sources:
            if source.kind != "suricata" and table_for_zeek_log(source.log_type) is None:
                result.skipped.append({"path": str(source.path), "reason": "no curated table"})
                continue
            report = curate_source(source, curator, **convert)
            size = source.path.stat().st_size
            result.bytes_in += size
            result.skipped += report.skipped
            result.sources.append({
                "path": str(source.path), "kind": source.kind, "log_type": source.log_type,
                "records": report.records, "python_rows": report.python_rows, "bytes": size,
            })
    result.rows = curator.rows
    result.files = curator.files
    return result


def curate(
    sources: Iterable[LogSource],
    out_root: str | os.PathLike[str],
    investigation_id: str,
    *,
    workers: int = 1,
    **options: Any,
) -> CurateResult:
    """Convert ``sources`` into ``<out_root>/investigations/curated/<table>/investigation_id=<id>/``.

    Sources are grouped by the table they feed; with ``workers`` > 1 the groups are converted in
    that many processes (each group's memory is bounded as in :class:`Curator`). ``options``:
    :class:`Curator`'s (``row_group_rows``, ``max_buffered_bytes``...) and the conversion's
    (``native=False`` forces the Python way; ``block_bytes``, ``max_line_bytes``).
    """
    root = Path(out_root)
    check_investigation_id(investigation_id)
    groups: dict[str, list[LogSource]] = {}
    for source in sources:
        key = "suricata_eve" if source.kind == "suricata" else f"zeek_{source.log_type}"
        groups.setdefault(key, []).append(source)
    ordered = [groups[k] for k in sorted(groups, key=lambda k: -sum(s.path.stat().st_size for s in groups[k]))]
    if workers > 1 and len(ordered) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(workers, len(ordered))) as pool:
            parts = list(pool.map(_curate_group, ordered, [str(root)] * len(ordered),
                                  [investigation_id] * len(ordered), [options] * len(ordered)))
    else:
        parts = [_curate_group(group, str(root), investigation_id, options) for group in ordered]
    result = CurateResult(investigation_id=investigation_id, root=root)
    for part in parts:
        for table, rows in part.rows.items():
            result.rows[table] = result.rows.get(table, 0) + rows
        result.files += part.files
        result.sources += part.sources
        result.skipped += part.skipped
        result.bytes_in += part.bytes_in
    result.rows = dict(sorted(result.rows.items()))
    result.files.sort()
    result.sources.sort(key=lambda s: s["path"])
    return result
