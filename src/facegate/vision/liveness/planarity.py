"""Planarity: a photo's landmarks move as one plane (a homography); a real head shows parallax.

The face's outline (jaw, brows, eye corners) fixes a homography between two frames; on a flat
picture it carries the nose along exactly, on a head turning or nodding the nose, nearer the
camera, moves off it. The nose points' mean offset from that prediction, in face sizes, is the
parallax; averaging the nine nose points keeps the landmark jitter of a print well below it.
"""

from __future__ import annotations

import cv2
import numpy as np

from facegate.vision.liveness.landmarks import BROWS, EYE_CORNERS, JAW, NOSE, RIGID, face_size

OUTLINE = JAW + BROWS + EYE_CORNERS


def pose_change(a: np.ndarray, b: np.ndarray) -> float:
    """Return how far the rigid landmarks moved from a to b beyond a similarity, in face sizes."""
    src, dst = a[list(RIGID)], b[list(RIGID)]
    matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    if matrix is None:
        return 0.0
    moved = src @ matrix[:, :2].T + matrix[:, 2]
    return float(np.sqrt(((moved - dst) ** 2).sum(1).mean()) / face_size(b))


def nose_offset(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the nose's mean offset (x, y) from the outline's homography a -> b, in face sizes."""
    src, dst = a[list(OUTLINE)].astype(np.float64), b[list(OUTLINE)].astype(np.float64)
    matrix, _ = cv2.findHomography(src, dst, 0)
    if matrix is None:
        return np.zeros(2)
    nose = a[list(NOSE)].astype(np.float64).reshape(-1, 1, 2)
    predicted = cv2.perspectiveTransform(nose, matrix).reshape(-1, 2)
    return (b[list(NOSE)] - predicted).mean(0) / face_size(b)


def nose_parallax(a: np.ndarray, b: np.ndarray) -> float:
    """Return the size of the nose's offset from the outline's homography a -> b (face sizes)."""
    return float(np.linalg.norm(nose_offset(a, b)))
