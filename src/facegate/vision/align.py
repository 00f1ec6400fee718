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
    chips, landmarks = align_views(image, box, size, padding)
    return chips[0], landmarks


def align_views(
    image: np.ndarray,
    box: FaceBox,
    size: int = 150,
    padding: float = 0.25,
    extra_paddings: tuple[float, ...] = (),
) -> tuple[list[np.ndarray], np.ndarray]:
    """Return the chip at padding, then one per extra padding, and the 5x2 landmark array."""
    rect = dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)
    shape = models.shape_predictor_5()(image, rect)
    landmarks = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
    chips = [
        np.ascontiguousarray(dlib.get_face_chip(image, shape, size, p))
        for p in (padding, *extra_paddings)
    ]
    return chips, landmarks
