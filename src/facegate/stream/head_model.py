"""A head photo turned in depth: a simple 3-D head (ellipsoid plus nose) for generated scenes.

A flat photo moved in front of a camera changes by one homography; a real head turning shows
parallax: the nose, nearer the camera, shifts more than the face's outline. This renders that
with a depth map (an ellipsoid over the head, a bump at the nose) and an inverse remap, so the
demo's walkers and the tests' live faces move like heads, not like prints.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def head_depth(
    shape: tuple[int, int], face: tuple[float, float, float, float], nose: float = 0.35
) -> np.ndarray:
    """Return a depth map (pixels toward the camera) of a head whose face box is given."""
    height, width = shape
    left, top, right, bottom = face
    cx, cy = (left + right) / 2, (top + bottom) / 2
    a, b = 0.75 * (right - left), 0.9 * (bottom - top)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = (xs - cx) / a, (ys - cy) / b
    depth = 0.6 * a * np.sqrt(np.clip(1.0 - u**2 - v**2, 0.0, None))
    nose_y = cy + 0.12 * (bottom - top)
    sigma = 0.12 * (right - left)
    bump = np.exp(-((xs - cx) ** 2 + (ys - nose_y) ** 2) / (2 * sigma**2))
    return depth + nose * (right - left) * bump


def turn_head(
    image: np.ndarray, face: tuple[float, float, float, float], yaw_deg: float, pitch_deg: float = 0
) -> np.ndarray:
    """Return the head photo turned by yaw (and pitch) degrees: points shift by depth x sin."""
    height, width = image.shape[:2]
    depth = head_depth((height, width), face)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    dx = depth * math.sin(math.radians(yaw_deg))
    dy = depth * math.sin(math.radians(pitch_deg))
    return cv2.remap(image, xs - dx, ys - dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
