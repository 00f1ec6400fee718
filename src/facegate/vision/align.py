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
    image = np.ascontiguousarray(image)  # dlib refuses a strided view (a crop of a frame)
    shape = face_shape(image, box)
    landmarks = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
    return face_chips(image, shape, size, (padding, *extra_paddings)), landmarks


def face_shape(image: np.ndarray, box: FaceBox) -> dlib.full_object_detection:
    """Return dlib's 5 landmarks of the face in box."""
    rect = dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)
    return models.shape_predictor_5()(image, rect)


def face_chips(
    image: np.ndarray, shape: dlib.full_object_detection, size: int, paddings: tuple[float, ...]
) -> list[np.ndarray]:
    """Return the aligned RGB chip of size x size at each padding."""
    return [np.ascontiguousarray(dlib.get_face_chip(image, shape, size, p)) for p in paddings]
