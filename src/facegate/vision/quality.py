"""Cheap quality measures of an aligned face chip: size, sharpness, focus, brightness."""

from __future__ import annotations

import cv2
import numpy as np

from facegate.vision.types import FaceBox, FaceQuality


def sharpness(chip: np.ndarray) -> float:
    """Return the variance of the Laplacian of the chip's grey image (higher is sharper)."""
    grey = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def focus(chip: np.ndarray) -> float:
    """Return gradient energy over grey-level variance of the half-size chip (higher = sharper).

    Made for ranking frames of one face: shrinking by two (INTER_AREA) averages sensor noise
    away before the Sobel gradients, and dividing by the variance makes the measure blind to
    brightness and contrast, which change from frame to frame while blur is what matters. On
    motion-blurred LFW chips it ranks a face's frames by blur with Spearman -0.90, against -0.42
    for the Laplacian variance (bench/best_frames.py).
    """
    grey = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
    half = cv2.resize(
        grey, (max(1, grey.shape[1] // 2), max(1, grey.shape[0] // 2)), interpolation=cv2.INTER_AREA
    ).astype(np.float32)
    gx = cv2.Sobel(half, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(half, cv2.CV_32F, 0, 1)
    return float((gx * gx + gy * gy).mean() / (half.var() + 1.0))


def brightness(chip: np.ndarray) -> float:
    """Return the mean grey level of the chip, 0..255."""
    return float(cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY).mean())


def measure_quality(chip: np.ndarray, box: FaceBox) -> FaceQuality:
    """Return the quality measures of one aligned chip and its detection box."""
    return FaceQuality(
        face_px=box.width,
        sharpness=sharpness(chip),
        focus=focus(chip),
        brightness=brightness(chip),
    )
