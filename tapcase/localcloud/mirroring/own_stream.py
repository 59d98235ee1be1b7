"""The sensor interface's writers beside the mirrored stream: its own traffic, merged in time
order, and a writer that writes nothing (no separate mirrored-stream file)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tapcase.localcloud.mirroring.wire import PcapWriter

OwnFrame = tuple[int, bytes]  # (timestamp µs, Ethernet frame) of the sensor's own traffic


class NoWriter:
    def write(self, ts_us: int, frame: bytes) -> None:
        pass

    def __enter__(self) -> NoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class OwnStream:
    """The sensor's own frames, written into the interface capture as their time comes."""

    def __init__(self, frames: Callable[[int], Iterable[OwnFrame]] | None, stats: Any) -> None:
        self.factory = frames
        self.stats = stats
        self.frames: Iterator[OwnFrame] = iter(())
        self.pending: OwnFrame | None = None

    def begin(self, first_ts: int) -> None:
        if self.factory is not None:
            self.frames = iter(self.factory(first_ts))
            self.pending = next(self.frames, None)

    def until(self, ts: int, writer: PcapWriter) -> None:
        while self.pending is not None and self.pending[0] <= ts:
            writer.write(*self.pending)
            self.stats.own_packets += 1
            self.stats.own_bytes += len(self.pending[1])
            self.pending = next(self.frames, None)
