"""Embedders by name: the shipped dlib encoder, or it followed by a trained ONNX head."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

from facegate.errors import SettingsError
from facegate.settings import VisionSettings
from facegate.vision.embed import DlibResnetEmbedder, normalize_rows
from facegate.vision.types import Embedder


class OnnxHeadEmbedder:
    """The dlib encoder, then a trained ONNX head run by OpenCV, unit-normalised."""

    def __init__(self, path: Path, encoder: DlibResnetEmbedder) -> None:
        if not path.is_file():
            raise SettingsError(f"embedder model not found: {path}")
        model = path.read_bytes()
        self.encoder = encoder
        self.net = cv2.dnn.readNetFromONNX(str(path))
        # the file's hash names the vector space, so a gallery never mixes two heads' vectors
        self.name = f"onnx-head:{hashlib.sha256(model).hexdigest()[:12]}"
        self.description = f"{self.name} ({path.name}) on {encoder.description}"
        self.dim = int(self.head(np.zeros((1, encoder.dim), np.float32)).shape[1])

    def head(self, vectors: np.ndarray) -> np.ndarray:
        """Return the head's unit vectors for (N, 128) encoder vectors."""
        self.net.setInput(np.ascontiguousarray(vectors, dtype=np.float32))
        return normalize_rows(self.net.forward())

    def embed(self, chips: list[np.ndarray]) -> np.ndarray:
        """Return an (N, dim) float32 array of unit vectors, one per 150x150 chip."""
        if not chips:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.head(self.encoder.embed(chips))


def build_embedder(settings: VisionSettings) -> Embedder:
    """Return the embedder settings.embedder names: 'dlib' or 'onnx:PATH'."""
    encoder = DlibResnetEmbedder(settings.tta_mirror, settings.jitters)
    if settings.embedder == "dlib":
        return encoder
    return OnnxHeadEmbedder(Path(settings.embedder.removeprefix("onnx:")).expanduser(), encoder)
