"""Screen-sides cue: the long sides of a phone, tablet or print held up run past the chin.

A held artifact (a phone playing a video, a tablet, a print) shows the face between two long,
straight, vertical edges: its sides (the bezel, the screen's border, the print's edge). They are
in front of what they show, so nothing hides them: they run unbroken from above the face to well
below the chin. A real person's face can sit between two vertical edges of the scene (a door
frame, a window, a pillar) too, but those are behind the person, and close beside the face they
are hidden below the chin by the neck and shoulders (about 0.8 face widths beyond each cheek, from
about half a face height below the chin). So: on both sides of the face, within
screen_max_margin face widths of it, a vertical edge reaching from above screen_reach_above of the
face's height to screen_reach_below face heights under its bottom. Edges broken into pieces by the
edge detector (a dark bezel against dark hair, a slightly rolled phone) are joined first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facegate.settings import LivenessSettings
from facegate.vision.liveness.rectangle import RegionLines


@dataclass(frozen=True)
class ScreenSides:
    """The two sides found: their distance outside the face box (face widths) and how far the
    shorter one reaches below the face's bottom (face heights)."""

    left: float
    right: float
    reach_below: float


def _joined(xs: np.ndarray, y0: np.ndarray, y1: np.ndarray, x_tol: float, gap: float) -> list:
    """Return (x, top, bottom) of vertical runs: segments at one x joined across small gaps."""
    runs: list[tuple[float, float, float]] = []
    order = np.argsort(xs)
    used = np.zeros(len(xs), bool)
    for i in order:
        if used[i]:
            continue
        near = (~used) & (np.abs(xs - xs[i]) <= x_tol)
        used |= near
        spans = sorted(zip(y0[near], y1[near], xs[near], strict=True))
        top, bottom, weights = spans[0][0], spans[0][1], [spans[0][2]]
        for a, b, x in spans[1:]:
            if a <= bottom + gap:  # continues the run
                bottom = max(bottom, b)
                weights.append(x)
                continue
            runs.append((float(np.mean(weights)), float(top), float(bottom)))
            top, bottom, weights = a, b, [x]
        runs.append((float(np.mean(weights)), float(top), float(bottom)))
    return runs


def screen_sides(lines: RegionLines, s: LivenessSettings) -> ScreenSides | None:
    """Return the long vertical sides enclosing the face that run past its chin, or None."""
    segs = lines.segments
    vert = lines.angles() >= 90 - s.rect_max_tilt_deg
    if not vert.any():
        return None
    fl, ft, fr, fb = lines.left, lines.top, lines.right, lines.bottom
    fw, fh = lines.width, lines.height_px
    lowest = fb + s.screen_reach_below * fh
    if lowest > lines.height:  # the view ends before a shoulder would hide an edge: can't tell
        return None
    xs = ((segs[:, 0] + segs[:, 2]) / 2)[vert]
    y0 = np.minimum(segs[:, 1], segs[:, 3])[vert]
    y1 = np.maximum(segs[:, 1], segs[:, 3])[vert]
    runs = _joined(xs, y0, y1, s.screen_join_px * fw, s.screen_join_gap * fh)
    lo, hi = s.rect_min_margin * fw, s.screen_max_margin * fw
    highest = ft + s.screen_reach_above * fh
    long_runs = [(x, b) for x, t, b in runs if t <= highest and b >= lowest]
    lefts = [(fl - x, b) for x, b in long_runs if lo <= fl - x <= hi]
    rights = [(x - fr, b) for x, b in long_runs if lo <= x - fr <= hi]
    if not lefts or not rights:
        return None
    left, right = min(lefts), min(rights)  # the innermost side on each side of the face
    return ScreenSides(left[0] / fw, right[0] / fw, (min(left[1], right[1]) - fb) / fh)
