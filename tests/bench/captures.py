"""Story captures of a given size for the benchmarks (not a test).

:func:`story_capture` writes the plain capture of a story (``tapcase.scenario.generate``: the
suspect's subnet as captured) of about ``size_mb``: hour-long captures of the story (the longest
the generator writes) for seeds 0, 1, 2, … laid end to end, each starting a second after the
previous one ended, cut when the file reaches the size. The suspect, its instance and its finding
are the story's whatever the seed, so the story's sample finding investigates every size; a bigger
capture is a longer stretch of the same subnet's traffic.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from tapcase.localcloud import wire
from tapcase.scenario import generate
from tapcase.scenario.generator import MAX_DURATION_SECONDS
from tapcase.scenario.model import EPOCH

MB = 1_000_000
REPO = Path(__file__).resolve().parents[2]
#: The story every size is made of, and its sample GuardDuty finding.
STORY = "c2-dns"


@dataclass(frozen=True)
class StoryCapture:
    path: Path
    story: str
    finding: Path
    bytes: int
    packets: int
    seeds: int
    seconds: float  # span of the capture's timeline


def story_capture(size_mb: float, directory: Path, *, story: str = STORY) -> StoryCapture:
    """The story's plain capture cut at ``size_mb`` (see the module docstring)."""
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"{story}-{size_mb:g}mb.pcap"
    limit = int(size_mb * MB)
    seeds = packets = 0
    first = last = None
    with tempfile.TemporaryDirectory(prefix="tapcase-bench-story-") as scratch:
        with wire.PcapWriter(out) as writer:
            shift = 0
            while writer.bytes < limit:
                part = Path(scratch) / f"seed{seeds}.pcap"
                generate(story, part, seed=seeds, duration_seconds=MAX_DURATION_SECONDS)
                seeds += 1
                end = None
                for ts, _linktype, frame in wire.read_capture(part):
                    if writer.bytes >= limit:
                        break
                    writer.write(ts + shift, frame)
                    packets += 1
                    first = ts + shift if first is None else first
                    last = end = ts + shift
                part.unlink()
                if end is not None:
                    shift = end + 1_000_000 - EPOCH * 1_000_000  # every seed's window starts at EPOCH
    return StoryCapture(
        path=out, story=story, finding=REPO / "samples" / "findings" / f"{story}.json", bytes=out.stat().st_size,
        packets=packets, seeds=seeds, seconds=((last or 0) - (first or 0)) / 1e6,
    )
