"""dlib's 68-point landmarks and the point groups the liveness cues read."""

from __future__ import annotations

import dlib
import numpy as np

from facegate.vision import models
from facegate.vision.types import FaceBox

JAW = tuple(range(0, 17))
BROWS = tuple(range(17, 27))
NOSE = tuple(range(27, 36))
EYE_CORNERS = (36, 39, 42, 45)
RIGID = JAW + BROWS + NOSE + EYE_CORNERS  # points that move with the skull, not with expression
LEFT_EYE = tuple(range(36, 42))
RIGHT_EYE = tuple(range(42, 48))
INNER_MOUTH = tuple(range(60, 68))


def landmarks_68(image: np.ndarray, box: FaceBox) -> np.ndarray:
    """Return the 68 landmarks (68 x 2 float32, pixels) of one face box."""
    rect = dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)
    shape = models.shape_predictor_68()(image, rect)
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)


def face_size(points: np.ndarray) -> float:
    """Return the face's size in pixels: the distance between the jaw's two ends."""
    return float(np.linalg.norm(points[16] - points[0])) or 1.0
