"""One log file -> rows of its curated table: natively (Arrow) where exact, the Python way elsewhere.

Zeek JSON and Suricata EVE files are read in blocks of whole lines (:mod:`.blocks`). Each block is
read by Arrow and made into curated columns vectorised (:mod:`.native`); the rows Arrow cannot give
exactly as the Python parsers would (see :mod:`.arrow_conform`) are parsed from their own line by
the Python parsers (:mod:`tapcase_sensor.logs`) and put back in place, so the rows are those of the
Python path in the same order. A block Arrow cannot read at all (an invalid line, a key whose type
changes from line to line) is halved until the lines it cannot read are found; those go the
Python way, which raises :class:`LogParseError` for a line that is not JSON, as before.

Two exceptions to "an invalid line fails the conversion": a last line without a newline that is
not valid JSON (an engine stopped mid-write) and a line longer than ``max_line_bytes`` are not
curated, and are reported in :attr:`SourceReport.skipped` (the raw log stays the evidence).

Zeek TSV is converted by :class:`tapcase_sensor.logs.ZeekLog`, as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from tapcase_sensor.errors import LogParseError
from tapcase_sensor.lake.arrow_conform import any_true, arange
from tapcase_sensor.lake.blocks import (
    DEFAULT_BLOCK_BYTES,
    DEFAULT_MAX_LINE_BYTES,
    Block,
    EventTypeGroups,
    OversizedLine,
    read_blocks,
)
from tapcase_sensor.lake.native import (
    eve_columns,
    eve_read_schema,
    parse_block,
    zeek_columns,
)
from tapcase_sensor.lake.schema import SURICATA_TABLE, Table, suricata_partition, table_for_zeek_log
from tapcase_sensor.lake.writer import Curator, records_to_batch
from tapcase_sensor.logs import ZeekLog, normalize_dns, normalize_eve, sniff_format

if TYPE_CHECKING:
    from tapcase_sensor.lake.curate import LogSource

# Halving a block Arrow cannot read stops at this many lines: they go the Python way.
_LEAF_LINES = 16


@dataclass
class SourceReport:
    """What one file gave: rows curated, how many the Python way, lines not curated and why."""

    records: int = 0
    python_rows: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)


class _Converter:
    """Feeds one JSON-lines file's rows to a :class:`Curator` (see the module docstring)."""

    def __init__(self, source: LogSource, curator: Curator, *, native: bool, block_bytes: int) -> None:
        self.source = source
        self.curator = curator
        self.native = native
        self.report = SourceReport()
        self.eve = source.kind == "suricata"
        self.table: Table = SURICATA_TABLE if self.eve else _zeek_table(source)
        self._zeek = None if self.eve else ZeekLog(source.path)
        self._groups = EventTypeGroups(block_bytes, 4 * block_bytes) if self.eve else None

    # -- Python way, one line ----------------------------------------------------------------
    def python_record(self, raw: bytes, line: int, open_tail: bool) -> dict[str, Any] | None:
        """The record of one line as the Python parsers give it (None: nothing to curate)."""
        text = raw.decode("utf-8", "replace").rstrip("\r")
        if not text.strip():
            return None
        try:
            return self._eve_record(text, line) if self.eve else self._zeek_record(text, line)
        except LogParseError as exc:
            if open_tail and "invalid JSON" in str(exc):
                self.report.skipped.append({
                    "path": str(self.source.path),
                    "reason": f"line {line}: truncated last line ({len(raw)} bytes, no newline) not curated",
                })
                return None
            raise

    def _eve_record(self, text: str, line: int) -> dict[str, Any]:
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise LogParseError(f"{self.source.path}:{line}: invalid JSON: {exc}") from None
        if not isinstance(raw, dict) or "event_type" not in raw:
            raise LogParseError(f"{self.source.path}:{line}: not an EVE record (no event_type)")
        try:
            return normalize_eve(raw)
        except ValueError:  # a timestamp that is not ISO-8601: no epoch ts (NULL), the rest kept
            out = dict(raw)
            out["ts"] = None
            if isinstance(raw.get("dns"), dict):
                out["dns"] = normalize_dns(raw["dns"])
            return out

    def _zeek_record(self, text: str, line: int) -> dict[str, Any] | None:
        assert self._zeek is not None
        if text.startswith("#"):
            return None  # comments (e.g. btest baseline banners), as ZeekLog skips them
        if not text.lstrip().startswith("{"):
            raise LogParseError(
                f"{self.source.path}:{line}: data line before a #fields/#types header (not a Zeek TSV or JSON log)"
            )
        return self._zeek._json_record(text, line)

    def _python_lines(self, block: Block) -> None:
        records = []
        last = len(block.lines) - 1
        for index, raw in enumerate(block.lines):
            record = self.python_record(raw, block.line_number(index), block.open_tail and index == last)
            if record is not None:
                records.append(record)
        if records:
            batch = records_to_batch(self.table, records)
            self._emit(pa.Table.from_batches([batch]), self._partitions_of(records))
            self.report.python_rows += len(records)

    def _partitions_of(self, records: list[dict[str, Any]]) -> pa.Array | None:
        if not self.eve:
            return None
        return pa.array([suricata_partition(r.get("event_type")) for r in records], pa.string())

    # -- blocks ------------------------------------------------------------------------------
    def block(self, block: Block) -> None:
        if not self.native:
            self._python_lines(block)
            return
        if self._groups is not None:
            for group in self._groups.add(block):
                self._read(group)
        else:
            self._read(block)

    def finish(self) -> None:
        if self._groups is not None:
            for group in self._groups.flush():
                self._read(group)

    def _read(self, block: Block) -> None:
        if not block.data or block.data.isspace():
            return
        try:
            tab = parse_block(block.data, eve_read_schema(block.event_type) if self.eve else None)
        except pa.ArrowException:
            self._halve(block)
            return
        self._native(block, tab)

    def _halve(self, block: Block) -> None:
        lines = block.lines
        if len(lines) <= _LEAF_LINES:
            self._python_lines(block)
            return
        middle = len(lines) // 2
        self._read(block.part(0, middle))
        self._read(block.part(middle, len(lines)))

    def _native(self, block: Block, tab: pa.Table) -> None:
        if self.eve:
            curated, partitions, bad = eve_columns(tab)
        else:
            (curated, bad), partitions = zeek_columns(tab, self.table), None
        if any_true(bad):
            assert bad is not None
            curated, partitions = self._patch(block, tab.num_rows, curated, partitions, bad)
            if curated is None:
                return
        self._emit(curated, partitions)

    def _patch(
        self, block: Block, n: int, curated: pa.Table, partitions: pa.Array | None, bad: pa.BooleanArray
    ) -> tuple[pa.Table | None, pa.Array | None]:
        """Put the Python way's rows in place of the ``bad`` rows of a block Arrow read."""
        numbered = [(block.line_number(i), raw) for i, raw in enumerate(block.lines) if raw.strip()]
        if len(numbered) != n:  # lines and rows do not pair up: the whole block the Python way
            self._python_lines(block)
            return None, None
        last = block.line_number(len(block.lines) - 1)
        wanted = arange(n).filter(bad)
        kept, records = [], []
        for index in wanted.to_pylist():
            line, raw = numbered[index]
            record = self.python_record(raw, line, block.open_tail and line == last)
            if record is not None:
                kept.append(index)
                records.append(record)
        good = pc.invert(bad)
        order = pa.concat_arrays([arange(n).filter(good), pa.array(kept, pa.int64())])
        pieces = [curated.filter(good)]
        if records:
            pieces.append(pa.Table.from_batches([records_to_batch(self.table, records)]))
        permutation = pc.sort_indices(order)
        merged = pa.concat_tables(pieces).take(permutation)
        if partitions is not None:
            python_partitions = self._partitions_of(records)
            assert python_partitions is not None
            partitions = pa.concat_arrays([partitions.filter(good), python_partitions]).take(permutation)
        self.report.python_rows += len(records)
        return merged, partitions

    def _emit(self, curated: pa.Table, partitions: pa.Array | None) -> None:
        self.report.records += curated.num_rows
        if partitions is None:
            self.curator.add_batch(self.table, curated)
            return
        encoded = pc.dictionary_encode(partitions)
        names = encoded.dictionary.to_pylist()
        if len(names) == 1:
            self.curator.add_batch(self.table, curated, names[0])
            return
        for code, name in enumerate(names):
            self.curator.add_batch(self.table, curated.filter(pc.equal(encoded.indices, code)), name)

    def oversized(self, item: OversizedLine, limit: int) -> None:
        self.report.skipped.append({
            "path": str(self.source.path),
            "reason": f"line {item.line}: {item.bytes} bytes, over the {limit}-byte line limit: not curated",
        })


def _zeek_table(source: LogSource) -> Table:
    table = table_for_zeek_log(source.log_type)
    if table is None:
        raise ValueError(f"Zeek {source.log_type}.log has no curated table")
    return table


def curate_source(
    source: LogSource,
    curator: Curator,
    *,
    native: bool = True,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> SourceReport:
    """Add every row of one log file to ``curator``; ``native=False`` forces the Python way."""
    if source.kind == "zeek" and sniff_format(source.path) == "zeek-tsv":
        return _curate_tsv(source, curator)
    converter = _Converter(source, curator, native=native, block_bytes=block_bytes)
    for item in read_blocks(source.path, block_bytes=block_bytes, max_line_bytes=max_line_bytes):
        if isinstance(item, OversizedLine):
            converter.oversized(item, max_line_bytes)
        else:
            converter.block(item)
    converter.finish()
    return converter.report


def _curate_tsv(source: LogSource, curator: Curator) -> SourceReport:
    table = _zeek_table(source)
    report = SourceReport()
    add: Callable[[Table, dict[str, Any]], None] = curator.add
    for record in ZeekLog(source.path):
        add(table, record)
        report.records += 1
    report.python_rows = report.records
    return report
