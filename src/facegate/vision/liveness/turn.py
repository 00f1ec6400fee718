"""Head turn direction from the 68 landmarks: the nose tip against the jaw's two ends.

The jaw's ends (points 0 and 16) lie on the face's silhouette, far back; the nose tip (30) is
the nearest point to the camera. Turning the head swings the tip toward the side it turns to
while the ends stay near the outline, so the tip's offset from their midpoint, in jaw widths,
follows the yaw: positive when the nose points to the image's right (the person's left in a
camera that is not mirrored). A recording cannot know which side a door asks for.
"""

from __future__ import annotations

import numpy as np

NOSE_TIP = 30
JAW_ENDS = (0, 16)


def yaw_offset(points: np.ndarray) -> float:
    """Return the nose tip's horizontal offset from the jaw ends' midpoint, in jaw widths."""
    left, right = points[JAW_ENDS[0]], points[JAW_ENDS[1]]
    width = float(right[0] - left[0]) or 1.0
    return float((points[NOSE_TIP][0] - (left[0] + right[0]) / 2) / abs(width))


def turn_excursion(
    times: list[float], offsets: list[float], sign: int, reaction: float
) -> tuple[float, float]:
    """Return how far the yaw offsets went toward sign (+1 image right, -1 left) and away from
    it, after reaction seconds from the first time, from the median of the offsets before
    (both >= 0; zeros while either part is empty)."""
    stamps, values = np.asarray(times, np.float64), np.asarray(offsets, np.float64)
    if not len(stamps):
        return 0.0, 0.0
    late = stamps >= stamps[0] + reaction
    if late.all() or not late.any():
        return 0.0, 0.0
    moved = sign * (values[late] - float(np.median(values[~late])))
    return max(0.0, float(moved.max())), max(0.0, float(-moved.min()))
