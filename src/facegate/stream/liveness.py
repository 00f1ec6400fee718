"""Multi-frame liveness: reject a photo or phone screen held up to the camera.

Primary cue (frame): a replay is a flat picture inside a frame. Around the face we look for a
rectangle of long straight edges (Canny + HoughLinesP) that encloses it: a vertical edge on each
side, and a horizontal edge above or below whose ends stop at those verticals (a corner), which a
brick course or a kerb running through the whole view does not. Primary cue (track): that
rectangle must stay rigid with the face: its sides, measured in face widths from the face box,
keep their place from frame to frame, while a background edge behind a moving person drifts.
Second cue (reported only): planarity of the 5-landmark motion, the residual of an affine fit
between frames; tiny for a flat photo, but also tiny for any rigid face at this resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from facegate.vision.types import FaceBox

SEARCH_SCALE = 4.0  # search region: the face box grown this much about its centre (a phone
# screen showing a head photo is 2.3-2.9 face widths wide, so 2x would cut its sides off)
REGION_PX = 200  # the search region is resized so its longer side is at most this
CANNY_LOW, CANNY_HIGH = 50, 150  # Canny hysteresis thresholds (grey levels)
HOUGH_THRESHOLD = 20  # HoughLinesP accumulator votes
HOUGH_MAX_GAP = 0.08  # largest gap bridged within a line, in face widths
MIN_SIDE = 0.8  # shortest edge accepted as a rectangle side, in face widths (face heights for
# the verticals)
MAX_TILT_DEG = 12.0  # a side may lean this far from horizontal / vertical
MIN_MARGIN = 0.05  # a side must lie at least this far outside the face box (face widths)
MAX_MARGIN = 1.9  # ... and at most this far (beyond this it is the scene, not a held picture)
CORNER_TOL = 0.25  # a horizontal side's end must stop within this of a vertical (face widths)
OVERHANG = 0.35  # a horizontal edge running on beyond a vertical by more than this is no corner
MIN_FRAMES = 5  # frames a track needs before the verdict may reject it
PRESENT_FRACTION = 0.6  # a replay shows the enclosing rectangle in at least this share of frames
RIGID_STD = 0.15  # rigid: the sides' place (face widths) varies by at most this (robust std:
# 1.4826 x MAD, so a side that flips between the bezel's inner and outer edge now and then counts
# as rigid). With the loop's own HOG boxes (not ground truth) a replay measured 0.085; a static
# frame behind a walker growing from 40 to 200 px moves by whole face widths, far above 0.15.
LANDMARK_MIN_PX = 1.0  # landmark motion below this (pixels) is no evidence for planarity


@dataclass(frozen=True)
class LivenessResult:
    """A track's liveness verdict: live or replay, a score in [0, 1] (1 = live), cue values."""

    live: bool
    score: float
    cues: dict[str, float]
    frames: int


@dataclass(frozen=True)
class Rectangle:
    """Sides of a rectangle around a face, as distances outside the face box in face widths."""

    left: float
    right: float
    top: float | None  # None where no horizontal side was found on that side of the face
    bottom: float | None


def _lines(gray: np.ndarray, face_px: float) -> np.ndarray:
    """Return the straight edge segments (N x 4: x1, y1, x2, y2) of a grey region."""
    edges = cv2.Canny(gray, CANNY_LOW, CANNY_HIGH)
    found = cv2.HoughLinesP(
        edges,
        1,
        math.pi / 180,
        HOUGH_THRESHOLD,
        minLineLength=max(8.0, MIN_SIDE * face_px * 0.8),
        maxLineGap=max(2.0, HOUGH_MAX_GAP * face_px),
    )
    return (
        np.zeros((0, 4), np.float32) if found is None else found.reshape(-1, 4).astype(np.float32)
    )


def find_rectangle(frame: np.ndarray, box: FaceBox) -> Rectangle | None:
    """Return the rectangle of straight edges enclosing the face, or None where there is none."""
    height, width = frame.shape[:2]
    cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
    half_w, half_h = SEARCH_SCALE * box.width / 2, SEARCH_SCALE * box.height / 2
    x0, y0 = max(0, int(cx - half_w)), max(0, int(cy - half_h))
    x1, y1 = min(width, int(cx + half_w)), min(height, int(cy + half_h))
    if x1 - x0 < 8 or y1 - y0 < 8 or box.width < 4:
        return None
    scale = min(1.0, REGION_PX / max(x1 - x0, y1 - y0))
    region = frame[y0:y1, x0:x1]
    gray = cv2.cvtColor(region, cv2.COLOR_RGB2GRAY) if region.ndim == 3 else region
    if scale < 1.0:
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    fw, fh = box.width * scale, box.height * scale  # face size in region pixels
    fl, fr = (box.left - x0) * scale, (box.right - x0) * scale
    ft, fb = (box.top - y0) * scale, (box.bottom - y0) * scale
    segs = _lines(gray, fw)
    if not len(segs):
        return None
    dx, dy = segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1]
    angle = np.degrees(np.arctan2(np.abs(dy), np.abs(dx)))
    length = np.hypot(dx, dy)
    tan = math.tan(math.radians(MAX_TILT_DEG))
    lo, hi = MIN_MARGIN * fw, MAX_MARGIN * fw

    # Verticals: long, beside the face, overlapping the face's rows.
    vert = (angle >= 90 - MAX_TILT_DEG) & (length >= MIN_SIDE * fh)
    vx = (segs[:, 0] + segs[:, 2]) / 2
    vy0, vy1 = np.minimum(segs[:, 1], segs[:, 3]), np.maximum(segs[:, 1], segs[:, 3])
    beside = vert & (vy0 <= fb) & (vy1 >= ft)
    lefts = vx[beside & (fl - vx >= lo) & (fl - vx <= hi)]
    rights = vx[beside & (vx - fr >= lo) & (vx - fr <= hi)]
    if not len(lefts) or not len(rights):
        return None
    left, right = float(lefts.max()), float(rights.min())  # the innermost on each side

    # Horizontals: long, spanning the face's columns, ends stopping at the verticals (corners).
    horiz = (angle <= MAX_TILT_DEG) & (length >= MIN_SIDE * fw)
    hx0, hx1 = np.minimum(segs[:, 0], segs[:, 2]), np.maximum(segs[:, 0], segs[:, 2])
    hy = (segs[:, 1] + segs[:, 3]) / 2
    tol, over = CORNER_TOL * fw + tan * fh, OVERHANG * fw
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


def _affine_residual(a: np.ndarray, b: np.ndarray) -> float | None:
    """Return the RMS residual (in inter-ocular units) of an affine fit of landmarks a -> b."""
    if np.abs(b - a).max() < LANDMARK_MIN_PX:
        return None
    design = np.hstack([a, np.ones((len(a), 1), np.float32)])
    solution, *_ = np.linalg.lstsq(design, b, rcond=None)
    residual = design @ solution - b
    eyes = float(np.linalg.norm(b[:2].mean(0) - b[2:4].mean(0))) or 1.0
    return float(np.sqrt((residual**2).sum(1).mean()) / eyes)


@dataclass
class LivenessTrack:
    """Collects per-frame liveness cues of one track and turns them into a verdict."""

    rectangles: list[Rectangle | None] = field(default_factory=list)
    residuals: list[float] = field(default_factory=list)
    _last_landmarks: np.ndarray | None = None
    _last_time: float | None = None

    def observe(
        self, frame: np.ndarray, box: FaceBox, landmarks: np.ndarray, timestamp: float
    ) -> None:
        """Measure one frame of the track: the enclosing rectangle and the landmark motion."""
        self.rectangles.append(find_rectangle(frame, box))
        points = np.asarray(landmarks, np.float32).reshape(-1, 2)
        if self._last_landmarks is not None and len(points) == len(self._last_landmarks) >= 4:
            residual = _affine_residual(self._last_landmarks, points)
            if residual is not None:
                self.residuals.append(residual)
        self._last_landmarks, self._last_time = points, timestamp

    def verdict(self) -> LivenessResult:
        """Return live unless a rigid enclosing rectangle was seen in most frames."""
        frames = len(self.rectangles)
        found = [r for r in self.rectangles if r is not None]
        present = len(found) / frames if frames else 0.0
        spread = _rigidity(found)
        residual = float(np.median(self.residuals)) if self.residuals else -1.0
        rigid = spread <= RIGID_STD
        replay = frames >= MIN_FRAMES and present >= PRESENT_FRACTION and rigid
        # Score: 1 = live; falls with the share of frames framed by a rigid rectangle.
        rigid_weight = 1.0 if rigid else max(0.0, 1.0 - (spread - RIGID_STD) / RIGID_STD)
        score = 1.0 - present * rigid_weight if len(found) >= 2 else 1.0
        cues = {
            "rect_present": round(present, 3),
            "rect_spread": round(spread, 4) if math.isfinite(spread) else -1.0,
            "landmark_affine_residual": round(residual, 4),
        }
        return LivenessResult(
            live=not replay, score=round(float(score), 3), cues=cues, frames=frames
        )


def _robust_std(values: list[float]) -> float:
    """Return 1.4826 x the median absolute deviation: a std that ignores a few outliers."""
    array = np.asarray(values, np.float64)
    return float(1.4826 * np.median(np.abs(array - np.median(array))))


def _rigidity(found: list[Rectangle]) -> float:
    """Return the median over the rectangle's sides of their robust spread (face widths)."""
    if len(found) < 2:
        return math.inf
    spreads = [_robust_std([r.left for r in found]), _robust_std([r.right for r in found])]
    for side in ("top", "bottom"):
        values = [getattr(r, side) for r in found if getattr(r, side) is not None]
        if len(values) >= max(2, len(found) // 2):
            spreads.append(_robust_std(values))
    return float(np.median(spreads))
