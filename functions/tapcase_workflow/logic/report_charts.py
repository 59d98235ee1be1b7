"""Inline SVG charts for the report page (pure; no script, no fetch): series over time and
horizontal bars. Each chart is an ``<svg class="chart">`` with its shapes inside, so a browser draws
it as part of the page and a test can measure what was drawn."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from tapcase_workflow.logic.report_data import human_bytes

WIDTH, HEIGHT = 640, 180
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 12, 12, 28
COLOURS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea")


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%H:%M")


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)  # pragma: no cover


def time_series(title: str, times: Sequence[float], series: Sequence[tuple[str, Sequence[float]]]) -> str:
    """Lines (with their points) of one or more series over the same minutes."""
    if not times or not any(any(v for v in values) for _, values in series):
        return ""
    t0, t1 = min(times), max(times)
    span = (t1 - t0) or 60.0
    top = _nice_max(max(max(values, default=0) for _, values in series))
    inner_w, inner_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM

    def x(t: float) -> float:
        return PAD_LEFT + (t - t0) / span * inner_w

    def y(v: float) -> float:
        return PAD_TOP + inner_h - v / top * inner_h

    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
             f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + inner_h}" x2="{WIDTH - PAD_RIGHT}" y2="{PAD_TOP + inner_h}" '
             'stroke="#999"/>',
             f'<line x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{PAD_TOP + inner_h}" stroke="#999"/>',
             f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + 10}" text-anchor="end" font-size="11">{top:g}</text>',
             f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + inner_h}" text-anchor="end" font-size="11">0</text>',
             f'<text x="{PAD_LEFT}" y="{HEIGHT - 8}" font-size="11">{_clock(t0)}</text>',
             f'<text x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 8}" text-anchor="end" font-size="11">{_clock(t1)} UTC</text>']
    for index, (label, values) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in zip(times, values, strict=False))
        parts.append(f'<polyline class="series" fill="none" stroke="{colour}" stroke-width="2" points="{points}">'
                     f"<title>{escape(label)}</title></polyline>")
        parts += [f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}"><title>{escape(label)} '
                  f"{_clock(t)}: {v:g}</title></circle>" for t, v in zip(times, values, strict=False)]
        parts.append(f'<text x="{PAD_LEFT + 8 + 150 * index}" y="{PAD_TOP + 10}" font-size="11" fill="{colour}">'
                     f"\u25a0 {escape(label)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def bars(title: str, items: Sequence[tuple[str, float]], *, as_bytes: bool = False) -> str:
    """Horizontal bars, largest first, each with its label and value."""
    items = [(label, value) for label, value in items if value > 0]
    if not items:
        return ""
    row, label_w = 22, 300
    height = PAD_TOP + row * len(items) + 8
    top = max(v for _, v in items)
    inner_w = WIDTH - label_w - 80
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for index, (label, value) in enumerate(items):
        y = PAD_TOP + index * row
        width = max(2.0, value / top * inner_w)
        shown = human_bytes(value) if as_bytes else f"{value:,.0f}"
        short = label if len(label) <= 46 else label[:45] + "\u2026"
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="11">{escape(short)}'
                     f"<title>{escape(label)}</title></text>")
        parts.append(f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row - 6}" '
                     f'fill="{COLOURS[0]}"><title>{escape(label)}: {escape(shown)}</title></rect>')
        parts.append(f'<text x="{label_w + width + 4:.1f}" y="{y + 14}" font-size="11">{escape(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)
