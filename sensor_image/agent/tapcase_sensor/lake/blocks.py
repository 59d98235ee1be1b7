"""A JSON-lines log file read in blocks of whole lines, in bounded memory (gzip or not).

:func:`read_blocks` yields :class:`Block` objects of about ``block_bytes`` each, always cut after a
newline, so a block is a valid input for a JSON-lines reader on its own. A line longer than a block
extends its block; a line longer than ``max_line_bytes`` is not held at all: it is skipped while
reading (:class:`OversizedLine`) and reported by the caller. The last line of a file without a
final newline comes as the end of the last block with ``open_tail`` set: the caller decides whether
it is a record or a fragment left by an engine that stopped mid-write.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

DEFAULT_BLOCK_BYTES = 4 << 20
DEFAULT_MAX_LINE_BYTES = 64 << 20
"""The raw views' ``maximum_object_size`` (views.py): DuckDB reads lines up to this size too."""


@dataclass
class Block:
    """Whole lines of a file: ``data`` starts at line ``first_line`` (1-based).

    A block made of chosen lines (:meth:`of_lines`) knows each line's number in ``numbers``.
    """

    data: bytes
    first_line: int
    open_tail: bool = False  # the last line has no newline: it ends the file
    _lines: list[bytes] | None = None
    numbers: list[int] | None = None
    event_type: str | None = None  # every line's, when the block is one event type's group

    @property
    def lines(self) -> list[bytes]:
        """The lines (without their newline), blank ones included."""
        if self._lines is None:
            lines = self.data.split(b"\n")
            if not self.open_tail and lines and lines[-1] == b"":
                lines.pop()
            self._lines = lines
        return self._lines

    def line_number(self, index: int) -> int:
        return self.numbers[index] if self.numbers is not None else self.first_line + index

    @classmethod
    def of_lines(cls, lines: list[bytes], numbers: list[int], open_tail: bool) -> Block:
        data = b"\n".join(lines if open_tail else [*lines, b""])
        return cls(data, numbers[0] if numbers else 0, open_tail, lines, numbers)

    def part(self, start: int, stop: int) -> Block:
        """The lines ``start:stop`` as a block of their own."""
        lines = self.lines
        numbers = [self.line_number(i) for i in range(start, min(stop, len(lines)))]
        block = Block.of_lines(lines[start:stop], numbers, self.open_tail and stop >= len(lines))
        block.event_type = self.event_type
        return block


@dataclass(frozen=True)
class OversizedLine:
    """A line longer than the limit, skipped while reading."""

    line: int
    bytes: int


def open_binary(path: str | os.PathLike[str]) -> BinaryIO:
    """The file's bytes; gzip is detected by its magic bytes, not by the name."""
    p = Path(path)
    with p.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(p, "rb")  # type: ignore[return-value]
    return p.open("rb")


def read_blocks(
    path: str | os.PathLike[str],
    *,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[Block | OversizedLine]:
    """Blocks of whole lines (and the oversized lines skipped), in file order."""
    with open_binary(path) as fh:
        carry = b""
        line = 1
        while True:
            chunk = fh.read(block_bytes)
            if not chunk:
                if carry:
                    yield Block(carry, line, open_tail=True)
                return
            buf = carry + chunk if carry else chunk
            cut = buf.rfind(b"\n")
            if cut < 0:
                if len(buf) <= max_line_bytes:
                    carry = buf
                    continue
                size, carry, ended = _skip_line(fh, len(buf), block_bytes)
                yield OversizedLine(line, size)
                line += 1
                if not ended:
                    return
                continue
            data, carry = buf[: cut + 1], buf[cut + 1 :]
            # A block of several lines may hold one past the limit: split around it.
            start = 0
            for long_start, long_end in _long_lines(data, max_line_bytes):
                if long_start > start:
                    yield Block(data[start:long_start], line)
                    line += data.count(b"\n", start, long_start)
                yield OversizedLine(line, long_end - long_start)
                line += 1
                start = long_end + 1
            if start < len(data):
                yield Block(data[start:] if start else data, line)
                line += data.count(b"\n", start)


def _skip_line(fh: BinaryIO, seen: int, block_bytes: int) -> tuple[int, bytes, bool]:
    """Read past the rest of a line; (its size, what follows its newline, whether one came)."""
    size = seen
    while True:
        chunk = fh.read(block_bytes)
        if not chunk:
            return size, b"", False
        cut = chunk.find(b"\n")
        if cut >= 0:
            return size + cut, chunk[cut + 1 :], True
        size += len(chunk)


def _long_lines(data: bytes, max_line_bytes: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each line of ``data`` longer than the limit (end: its newline)."""
    if len(data) <= max_line_bytes:
        return
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        if end < 0:
            end = len(data)
        if end - start > max_line_bytes:
            yield start, end
        start = end + 1


# The event type as Suricata writes it (a guess for grouping: the parsed event_type decides).
_EVENT_TYPE_TEXT = b'"event_type":"'


class EventTypeGroups:
    """EVE lines gathered by event type across blocks; a group comes out as a block of its own.

    Arrow reads a block of one event type faster than a mix (fewer, consistent columns), and the
    rows of a group go to one partition. A group is handed out once it holds ``group_bytes``, or
    when all groups together hold more than ``max_pending_bytes`` (the largest first), or at the
    end (:meth:`flush`). Lines keep their numbers; the rows of one event type keep their order.
    """

    def __init__(self, group_bytes: int = DEFAULT_BLOCK_BYTES, max_pending_bytes: int = 4 * DEFAULT_BLOCK_BYTES) -> None:
        self.group_bytes = group_bytes
        self.max_pending_bytes = max_pending_bytes
        # key -> [lines, line numbers, bytes]
        self._groups: dict[bytes | None, tuple[list[bytes], list[int], list[int]]] = {}
        self._tail_key: bytes | None = None
        self._tail = False  # the open tail (last line of the file) is pending, in _tail_key's group

    def add(self, block: Block) -> list[Block]:
        lines = block.lines
        if not lines:
            return []
        first = block.first_line
        find = bytes.find
        groups = self._groups
        before = {key: len(group[0]) for key, group in groups.items()}
        key: bytes | None = None
        for index, line in enumerate(lines):
            at = find(line, _EVENT_TYPE_TEXT)
            key = line[at + 14 : find(line, b'"', at + 14)] if at >= 0 else None
            group = groups.get(key)
            if group is None:
                group = groups[key] = ([], [], [0])
            group[0].append(line)
            group[1].append(first + index)
        if block.open_tail:
            self._tail, self._tail_key = True, key
        # bytes per group: the block's mean line size (cheaper than a len() per line)
        mean = len(block.data) / len(lines)
        for key, group in groups.items():
            group[2][0] += round((len(group[0]) - before.get(key, 0)) * mean)
        out = [self._take(k) for k, g in list(groups.items()) if g[2][0] >= self.group_bytes]
        while groups and sum(g[2][0] for g in groups.values()) > self.max_pending_bytes:
            out.append(self._take(max(groups, key=lambda k: groups[k][2][0])))
        return out

    def flush(self) -> list[Block]:
        return [self._take(key) for key in list(self._groups)]

    def _take(self, key: bytes | None) -> Block:
        lines, numbers, _ = self._groups.pop(key)
        open_tail = self._tail and self._tail_key == key
        if open_tail:
            self._tail = False
        block = Block.of_lines(lines, numbers, open_tail)
        block.event_type = key.decode("ascii", "replace") if key is not None else None
        return block
