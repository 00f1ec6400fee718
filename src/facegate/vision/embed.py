"""dlib's ResNet face encoder, with optional mirror and jitter test-time augmentation."""

from __future__ import annotations

import numpy as np

from facegate.vision import models


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Return the rows of a 2-D array scaled to unit length, as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class DlibResnetEmbedder:
    """The 128-d dlib ResNet encoder; mirror TTA averages a chip with its mirror image."""

    dim = 128
    model_path = None  # shipped with dlib; its impostor table ships with facegate

    def __init__(self, mirror: bool = True, jitters: int = 0) -> None:
        self.mirror = mirror
        self.jitters = jitters
        self.name = "dlib-resnet-v1"
        self.description = (
            self.name + ("+mirror" if mirror else "") + (f"+jit{jitters}" if jitters else "")
        )

    def embed(self, chips: list[np.ndarray]) -> np.ndarray:
        """Return an (N, 128) float32 array of unit vectors, one per 150x150 chip."""
        if not chips:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch = [np.ascontiguousarray(c) for c in chips]
        if self.mirror:
            batch += [np.ascontiguousarray(c[:, ::-1]) for c in chips]
        raw = np.array(
            models.resnet_encoder().compute_face_descriptor(batch, self.jitters), dtype=np.float32
        )
        vectors = normalize_rows(raw)
        if self.mirror:
            vectors = normalize_rows(vectors[: len(chips)] + vectors[len(chips) :])
        return vectors
