"""Face vs surroundings motion: a held picture carries the area around the face along with it.

The camera is fixed, so behind a real head the scene stays still; a photo or a phone moves its
margin, bezel or mat with the face: one motion for face and ring. Sparse optical flow (corners +
pyramidal Lucas-Kanade) inside the face and in two strips beside it; the face's motion (an
affine map fitted to its points: a picture is a plane, and over a few face widths its homography
is nearly affine) predicts where strip points would go if they moved with it. The same face
points, off their own best homography, tell a flat picture (within the tracking noise) from a
head (parallax, blinks, speech)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facegate.vision.types import FaceBox


@dataclass(frozen=True)
class RingParams:
    """The cue's constants (from the liveness settings)."""

    face_px: int  # the region is scaled so the face box is this wide
    inner: float  # strips start this far from the face centre (face widths)
    outer: float  # ... and end this far
    still_px: float  # a point moving less than this (scaled pixels) is still
    follow_px: float  # a strip point within this of the face's prediction follows the face
    follow_rel: float  # ... or within this share of the shift predicted for it
    max_points: int  # corners tracked per region
    fb_max_px: float  # a point whose forward-backward track misses its start by more is dropped


@dataclass(frozen=True)
class RingMotion:
    """One frame pair: strip points that could tell (face moved them), how many followed."""

    face_motion: float  # median face point motion, scaled pixels
    telling: int  # strip points where following the face and staying still differ
    followed: int  # ... of which moved with the face
    face_residual: float | None = None  # face points off the face's own best homography (px)


def _region(box: FaceBox, shape: tuple[int, ...], outer: float) -> tuple[int, int, int, int]:
    """Return the search region (x0, y0, x1, y1) around a face box, clipped to the image."""
    cx, cy = (box.left + box.right) / 2, (box.top + box.bottom) / 2
    half = outer * box.width
    height, width = shape[:2]
    return (
        max(0, int(cx - half)),
        max(0, int(cy - 0.9 * box.height)),
        min(width, int(cx + half)),
        min(height, int(cy + 0.9 * box.height)),
    )


def ring_motion(
    previous: np.ndarray, current: np.ndarray, box: FaceBox, params: RingParams
) -> RingMotion | None:
    """Return the ring-vs-face motion between two grey frames at a face box, or None."""
    x0, y0, x1, y1 = _region(box, current.shape, params.outer)
    if box.width < 8 or x1 - x0 < 16 or y1 - y0 < 16:
        return None
    scale = params.face_px / box.width
    size = (max(8, round((x1 - x0) * scale)), max(8, round((y1 - y0) * scale)))
    a = cv2.resize(previous[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
    b = cv2.resize(current[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
    cx, cy = ((box.left + box.right) / 2 - x0) * scale, ((box.top + box.bottom) / 2 - y0) * scale
    half_w, half_h = params.face_px / 2, box.height * scale / 2
    # Corners inside the face and around it are found apart, so a busy background never leaves
    # the face with too few points for its own homography.
    face_mask = np.zeros(a.shape, np.uint8)
    face_mask[
        max(0, int(cy - 0.7 * half_h)) : int(cy + 0.7 * half_h),
        max(0, int(cx - 0.7 * half_w)) : int(cx + 0.7 * half_w),
    ] = 255
    found = [
        cv2.goodFeaturesToTrack(a, params.max_points // 2, 0.01, 2, mask=face_mask),
        cv2.goodFeaturesToTrack(a, params.max_points, 0.01, 3, mask=255 - face_mask),
    ]
    corners = np.vstack([c for c in found if c is not None] or [np.zeros((0, 1, 2), np.float32)])
    if len(corners) < 8:
        return None
    lk = {"winSize": (15, 15), "maxLevel": 3}
    moved, status, _ = cv2.calcOpticalFlowPyrLK(a, b, corners, None, **lk)
    back, status_back, _ = cv2.calcOpticalFlowPyrLK(b, a, moved, None, **lk)
    # Forward-backward check: a point tracked back to where it started was tracked right.
    round_trip = np.linalg.norm((back - corners).reshape(-1, 2), axis=1)
    ok = (status.ravel() == 1) & (status_back.ravel() == 1) & (round_trip < params.fb_max_px)
    start, end = corners.reshape(-1, 2)[ok], moved.reshape(-1, 2)[ok]
    dx, dy = np.abs(start[:, 0] - cx), np.abs(start[:, 1] - cy)
    in_face = (dx < 0.7 * half_w) & (dy < 0.7 * half_h)
    in_strip = (dx >= params.inner * params.face_px) & (dy < half_h)
    if in_face.sum() < 4:
        return None
    face_motion = float(np.median(np.linalg.norm(end[in_face] - start[in_face], axis=1)))
    if face_motion < params.still_px:  # the face kept still: nothing to tell
        return RingMotion(face_motion, 0, 0)
    residual = _plane_residual(start[in_face], end[in_face], params.follow_px)
    if not in_strip.any():  # the face fills the region (a frame-filling picture, or very near)
        return RingMotion(face_motion, 0, 0, residual)
    matrix, _ = cv2.estimateAffine2D(
        start[in_face], end[in_face], None, cv2.RANSAC, params.follow_px
    )
    if matrix is None:
        return None
    strip, strip_end = start[in_strip], end[in_strip]
    predicted = strip @ matrix[:, :2].T + matrix[:, 2]
    shift = np.linalg.norm(predicted - strip, axis=1)
    telling = shift >= params.still_px + params.follow_px
    # The face's motion, extrapolated to the strips, is less sure the further it reaches:
    # the tolerance grows with the predicted shift (follow_rel of it), never below follow_px.
    tolerance = np.maximum(params.follow_px, params.follow_rel * shift)
    followed = telling & (np.linalg.norm(strip_end - predicted, axis=1) < tolerance)
    return RingMotion(face_motion, int(telling.sum()), int(followed.sum()), residual)


def _plane_residual(start: np.ndarray, end: np.ndarray, threshold: float) -> float | None:
    """Return the 75th-percentile distance (px) of face points from their best homography.

    A print's face points all lie on one plane, so one homography carries them within the
    tracking noise; a real head's nose, eyes and mouth leave it (parallax, blinks, speech).
    """
    if len(start) < 12:
        return None
    matrix, _ = cv2.findHomography(start, end, cv2.RANSAC, threshold)
    if matrix is None:
        return None
    mapped = cv2.perspectiveTransform(start.reshape(-1, 1, 2), matrix).reshape(-1, 2)
    return float(np.percentile(np.linalg.norm(mapped - end, axis=1), 75))
