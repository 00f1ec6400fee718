"""5-point landmarks and the aligned face chip the encoder expects."""

from __future__ import annotations

import dlib
import numpy as np

from facegate.vision import models
from facegate.vision.types import FaceBox


def align_face(
    image: np.ndarray, box: FaceBox, size: int = 150, padding: float = 0.25
) -> tuple[np.ndarray, np.ndarray]:
    """Return (aligned RGB chip of size x size, 5x2 landmark array) for one face box."""
    rect = dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)
    shape = models.shape_predictor_5()(image, rect)
    landmarks = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
    chip = dlib.get_face_chip(image, shape, size, padding)
    return np.ascontiguousarray(chip), landmarks
