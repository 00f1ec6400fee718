"""Cheap quality measures of an aligned face chip: size, sharpness, brightness."""

from __future__ import annotations

import cv2
import numpy as np

from facegate.vision.types import FaceBox, FaceQuality


def sharpness(chip: np.ndarray) -> float:
    """Return the variance of the Laplacian of the chip's grey image (higher is sharper)."""
    grey = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def brightness(chip: np.ndarray) -> float:
    """Return the mean grey level of the chip, 0..255."""
    return float(cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY).mean())


def measure_quality(chip: np.ndarray, box: FaceBox) -> FaceQuality:
    """Return the quality measures of one aligned chip and its detection box."""
    return FaceQuality(face_px=box.width, sharpness=sharpness(chip), brightness=brightness(chip))
