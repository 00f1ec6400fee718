"""Rectangle cue: a replay is often a flat picture inside a frame (a bezel, a mat, a print edge).

Around the face we look for a rectangle of long straight edges (Canny + HoughLinesP) that encloses
it: a vertical edge on each side, and a horizontal edge above or below whose ends stop at those
verticals (a corner), which a brick course or a kerb running through the whole view does not. Over
a track, that rectangle must stay rigid with the face: its sides, measured in face widths from the
face box, keep their place from frame to frame, while a background edge behind a walker drifts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from facegate.settings import LivenessSettings
from facegate.vision.types import FaceBox


@dataclass(frozen=True)
class Rectangle:
    """Sides of a rectangle around a face, as distances outside the face box in face widths."""

    left: float
    right: float
    top: float | None  # None where no horizontal side was found on that side of the face
    bottom: float | None


def _lines(gray: np.ndarray, face_px: float, s: LivenessSettings) -> np.ndarray:
    """Return the straight edge segments (N x 4: x1, y1, x2, y2) of a grey region."""
    edges = cv2.Canny(gray, s.rect_canny_low, s.rect_canny_high)
    found = cv2.HoughLinesP(
        edges,
        1,
        math.pi / 180,
        s.rect_hough_threshold,
        minLineLength=max(8.0, s.rect_min_side * face_px * 0.8),
        maxLineGap=max(2.0, s.rect_hough_max_gap * face_px),
    )
    return (
        np.zeros((0, 4), np.float32) if found is None else found.reshape(-1, 4).astype(np.float32)
    )


@dataclass(frozen=True)
class RegionLines:
    """The straight edges around a face: segments (N x 4) and the face box in region pixels."""

    segments: np.ndarray
    left: float
    top: float
    right: float
    bottom: float
    height: int  # the region's height in its pixels (where its lowest row lies)

    @property
    def width(self) -> float:
        """Return the face box width in region pixels."""
        return self.right - self.left

    @property
    def height_px(self) -> float:
        """Return the face box height in region pixels."""
        return self.bottom - self.top

    def angles(self) -> np.ndarray:
        """Return each segment's angle from the horizontal, degrees in [0, 90]."""
        segs = self.segments
        dx, dy = segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1]
        return np.degrees(np.arctan2(np.abs(dy), np.abs(dx)))


def region_lines(
    frame: np.ndarray, box: FaceBox, s: LivenessSettings | None = None
) -> RegionLines | None:
    """Return the straight edges of the search region around a face (the face box grown
    rect_search_scale times, resized to rect_region_px), or None where it is too small."""
    s = s or LivenessSettings()
    height, width = frame.shape[:2]
    cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
    half_w, half_h = s.rect_search_scale * box.width / 2, s.rect_search_scale * box.height / 2
    x0, y0 = max(0, int(cx - half_w)), max(0, int(cy - half_h))
    x1, y1 = min(width, int(cx + half_w)), min(height, int(cy + half_h))
    if x1 - x0 < 8 or y1 - y0 < 8 or box.width < 4:
        return None
    scale = min(1.0, s.rect_region_px / max(x1 - x0, y1 - y0))
    region = frame[y0:y1, x0:x1]
    gray = cv2.cvtColor(region, cv2.COLOR_RGB2GRAY) if region.ndim == 3 else region
    if scale < 1.0:
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return RegionLines(
        _lines(gray, box.width * scale, s),
        (box.left - x0) * scale,
        (box.top - y0) * scale,
        (box.right - x0) * scale,
        (box.bottom - y0) * scale,
        gray.shape[0],
    )


def find_rectangle(
    frame: np.ndarray, box: FaceBox, s: LivenessSettings | None = None
) -> Rectangle | None:
    """Return the rectangle of straight edges enclosing the face, or None where there is none."""
    s = s or LivenessSettings()
    lines = region_lines(frame, box, s)
    return rectangle_in(lines, s) if lines is not None else None


def rectangle_in(lines: RegionLines, s: LivenessSettings) -> Rectangle | None:
    """Return the rectangle enclosing the face among a region's straight edges, or None."""
    segs = lines.segments
    if not len(segs):
        return None
    fl, ft, fr, fb = lines.left, lines.top, lines.right, lines.bottom
    fw, fh = lines.width, lines.height_px
    angle = lines.angles()
    length = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    tan = math.tan(math.radians(s.rect_max_tilt_deg))
    lo, hi = s.rect_min_margin * fw, s.rect_max_margin * fw

    # Verticals: long, beside the face, overlapping the face's rows.
    vert = (angle >= 90 - s.rect_max_tilt_deg) & (length >= s.rect_min_side * fh)
    vx = (segs[:, 0] + segs[:, 2]) / 2
    vy0, vy1 = np.minimum(segs[:, 1], segs[:, 3]), np.maximum(segs[:, 1], segs[:, 3])
    beside = vert & (vy0 <= fb) & (vy1 >= ft)
    lefts = vx[beside & (fl - vx >= lo) & (fl - vx <= hi)]
    rights = vx[beside & (vx - fr >= lo) & (vx - fr <= hi)]
    if not len(lefts) or not len(rights):
        return None
    left, right = float(lefts.max()), float(rights.min())  # the innermost on each side

    # Horizontals: long, spanning the face's columns, ends stopping at the verticals (corners).
    horiz = (angle <= s.rect_max_tilt_deg) & (length >= s.rect_min_side * fw)
    hx0, hx1 = np.minimum(segs[:, 0], segs[:, 2]), np.maximum(segs[:, 0], segs[:, 2])
    hy = (segs[:, 1] + segs[:, 3]) / 2
    tol, over = s.rect_corner_tol * fw + tan * fh, s.rect_overhang * fw
    cornered = (
        horiz
        & (hx0 <= fl)
        & (hx1 >= fr)
        & (hx0 >= left - over)
        & (hx1 <= right + over)
        & ((np.abs(hx0 - left) <= tol) | (np.abs(hx1 - right) <= tol))
    )
    tops = hy[cornered & (ft - hy >= lo) & (ft - hy <= hi * 1.5)]
    bottoms = hy[cornered & (hy - fb >= lo) & (hy - fb <= hi * 1.5)]
    if not len(tops) and not len(bottoms):
        return None
    return Rectangle(
        left=(fl - left) / fw,
        right=(right - fr) / fw,
        top=float((ft - tops.max()) / fw) if len(tops) else None,
        bottom=float((bottoms.min() - fb) / fw) if len(bottoms) else None,
    )


def _robust_std(values: list[float]) -> float:
    """Return 1.4826 x the median absolute deviation: a std that ignores a few outliers."""
    array = np.asarray(values, np.float64)
    return float(1.4826 * np.median(np.abs(array - np.median(array))))


def rigidity(found: list[Rectangle]) -> float:
    """Return the median over the rectangle's sides of their robust spread (face widths)."""
    if len(found) < 2:
        return math.inf
    spreads = [_robust_std([r.left for r in found]), _robust_std([r.right for r in found])]
    for side in ("top", "bottom"):
        values = [getattr(r, side) for r in found if getattr(r, side) is not None]
        if len(values) >= max(2, len(found) // 2):
            spreads.append(_robust_std(values))
    return float(np.median(spreads))
