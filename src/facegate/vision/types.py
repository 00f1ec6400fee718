"""Data types and small interfaces shared by the vision stages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class FaceBox:
    """A detected face: pixel box (right/bottom exclusive), detector score and name."""

    left: int
    top: int
    right: int
    bottom: int
    score: float
    detector: str

    @property
    def width(self) -> int:
        """Return the box width in pixels."""
        return self.right - self.left

    @property
    def height(self) -> int:
        """Return the box height in pixels."""
        return self.bottom - self.top

    @property
    def area(self) -> int:
        """Return the box area in pixels."""
        return self.width * self.height

    def as_list(self) -> list[int]:
        """Return [left, top, right, bottom]."""
        return [self.left, self.top, self.right, self.bottom]


@dataclass(frozen=True)
class FaceQuality:
    """Cheap image-quality measures of one aligned face chip.

    sharpness (Laplacian variance) is an absolute amount of detail, used for minimum bars;
    focus (contrast-normalised gradient energy) ranks frames of one face by blur.
    """

    face_px: int
    sharpness: float
    focus: float
    brightness: float

    def as_dict(self) -> dict[str, float]:
        """Return the measures as a plain dict."""
        return {
            "face_px": self.face_px,
            "sharpness": self.sharpness,
            "focus": self.focus,
            "brightness": self.brightness,
        }


@dataclass(frozen=True)
class FaceEncoding:
    """One face found in an image: where, how good, and its unit-length embedding."""

    box: FaceBox
    landmarks: np.ndarray
    quality: FaceQuality
    embedding: np.ndarray


class Detector(Protocol):
    """Finds faces in an RGB image."""

    name: str

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Return the faces found, best first."""
        ...


class Embedder(Protocol):
    """Turns aligned face chips into unit-length float32 vectors."""

    name: str  # the embedding space: vectors of one name are comparable
    description: str  # the name plus how this instance computes them (e.g. TTA)
    dim: int
    model_path: Path | None  # a trained model's file (its impostor table sits beside it)

    def embed(self, chips: list[np.ndarray]) -> np.ndarray:
        """Return an (N, dim) float32 array of unit vectors, one per chip."""
        ...
