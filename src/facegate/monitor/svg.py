"""Small inline SVG charts (lines over time, overlaid histograms): no script, no external file."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape

COLORS = ("#2e7d32", "#c62828", "#6a1b9a", "#ef6c00", "#1565c0", "#00838f")
WIDTH, HEIGHT = 560, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28
TICKS = 4


def _nice_max(value: float) -> float:
    """Return a round number at or above value (1, 2 or 5 times a power of ten)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def _label(value: float, percent: bool) -> str:
    """Return a tick label."""
    return f"{100 * value:.0f}%" if percent else f"{value:g}"


def _frame(y_max: float, percent: bool, x_labels: Sequence[tuple[float, str]]) -> list[str]:
    """Return the axes, grid lines and tick labels of a chart (x positions in 0..1)."""
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = []
    for i in range(TICKS + 1):
        y = TOP + inner_h * (1 - i / TICKS)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
        )
        parts.append(
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_label(y_max * i / TICKS, percent)}</text>"
        )
    for frac, text in x_labels:
        x = LEFT + inner_w * frac
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{escape(text)}</text>'
        )
    return parts


def _svg(body: list[str], title: str, legend: Sequence[str]) -> str:
    """Return a complete <svg> element with a title and a legend under it."""
    keys = "".join(
        f'<span class="key"><i style="background:{COLORS[i % len(COLORS)]}"></i>'
        f"{escape(name)}</span>"
        for i, name in enumerate(legend)
    )
    return (
        f'<figure><figcaption>{escape(title)}</figcaption><svg viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}">'
        + "".join(body)
        + f'</svg><div class="legend">{keys}</div></figure>'
    )


def _time_labels(times: Sequence[datetime]) -> list[tuple[float, str]]:
    """Return up to 7 evenly spaced (position, 'MM-DD HH:MM') labels of the bucket starts."""
    if len(times) < 2:
        return [(0.5, times[0].strftime("%m-%d %H:%M"))] if times else []
    step = max(1, math.ceil(len(times) / 7))
    return [
        (i / (len(times) - 1), times[i].strftime("%m-%d %H:%M")) for i in range(0, len(times), step)
    ]


def line_chart(
    title: str,
    times: Sequence[datetime],
    series: Mapping[str, Sequence[float | None]],
    percent: bool = False,
) -> str:
    """Return an SVG line chart of values over time; None leaves a gap."""
    known = [v for values in series.values() for v in values if v is not None]
    y_max = 1.0 if percent else _nice_max(max(known, default=0.0))
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    body = _frame(y_max, percent, _time_labels(times))
    last = max(len(times) - 1, 1)
    for i, values in enumerate(series.values()):
        color = COLORS[i % len(COLORS)]
        runs: list[list[str]] = [[]]
        for j, value in enumerate(values):
            if value is None:
                runs.append([])
                continue
            x = LEFT + inner_w * (j / last if len(times) > 1 else 0.5)
            y = TOP + inner_h * (1 - min(value, y_max) / y_max)
            runs[-1].append(f"{x:.1f},{y:.1f}")
        for run in filter(None, runs):
            if len(run) == 1:
                cx, cy = run[0].split(",")
                body.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{color}"/>')
            else:
                body.append(f'<polyline points="{" ".join(run)}" stroke="{color}" class="line"/>')
    return _svg(body, title, list(series))


def histogram_chart(
    title: str,
    edges: Sequence[float],
    series: Mapping[str, Sequence[float]],
    markers: Sequence[tuple[str, float]] = (),
) -> str:
    """Return an SVG of overlaid histograms over the same bins, with labelled vertical markers.

    Each marker has its own dash style (class marker, marker-2, ...) and label row, so two
    markers at nearby values stay apart.
    """
    y_max = _nice_max(max((v for values in series.values() for v in values), default=0.0))
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    lo, hi = edges[0], edges[-1]
    span = (hi - lo) or 1.0
    ticks = [(k / 4, f"{lo + span * k / 4:.3g}") for k in range(5)]
    body = _frame(y_max, False, ticks)
    for i, values in enumerate(series.values()):
        color = COLORS[i % len(COLORS)]
        for j, value in enumerate(values):
            if value <= 0:
                continue
            x0 = LEFT + inner_w * (edges[j] - lo) / span
            x1 = LEFT + inner_w * (edges[j + 1] - lo) / span
            h = inner_h * min(value, y_max) / y_max
            body.append(
                f'<rect x="{x0:.1f}" y="{TOP + inner_h - h:.1f}" width="{max(x1 - x0 - 1, 1):.1f}" '
                f'height="{h:.1f}" fill="{color}" fill-opacity="0.45" stroke="{color}"/>'
            )
    for k, (label, value) in enumerate(markers):
        if not lo <= value <= hi:
            continue
        x = LEFT + inner_w * (value - lo) / span
        style = "marker" if k == 0 else f"marker marker-{k + 1}"
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + inner_h}" class="{style}"/>'
            f'<text x="{x + 3:.1f}" y="{TOP + 10 + 12 * k}">{escape(label)}</text>'
        )
    return _svg(body, title, list(series))
