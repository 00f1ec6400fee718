"""dlib's ResNet face encoder run by ONNX Runtime: the same vectors, about 20x faster."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import dlib
import numpy as np
import onnxruntime as ort

from facegate.vision.dlib_onnx import INPUT
from facegate.vision.embed import normalize_rows
from facegate.vision.model_files import dlib_resnet_onnx


@cache
def onnx_session(path: Path, threads: int) -> ort.InferenceSession:
    """Return a CPU session for an ONNX file (shared: run() is thread-safe)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@cache
def _resnet_path(cache_dir: Path | None) -> Path:
    """Return the converted ResNet's path, made once per process and cache directory."""
    return dlib_resnet_onnx(cache_dir)


class OnnxDlibEmbedder:
    """The 128-d dlib ResNet on ONNX Runtime; mirror and jitter TTA as DlibResnetEmbedder."""

    dim = 128
    model_path = None  # the shipped encoder; its impostor table ships with facegate

    def __init__(
        self,
        mirror: bool = True,
        jitters: int = 0,
        threads: int = 1,
        cache_dir: Path | None = None,
    ) -> None:
        self.mirror = mirror
        self.jitters = jitters
        self.session = onnx_session(_resnet_path(cache_dir), threads)
        self.name = "dlib-resnet-v1"  # the same vector space as the native encoder
        self.description = (
            self.name
            + "@onnx"
            + ("+mirror" if mirror else "")
            + (f"+jit{jitters}" if jitters else "")
        )

    def descriptors(self, chips: list[np.ndarray]) -> np.ndarray:
        """Return dlib's raw (N, 128) descriptors of 150x150 RGB chips, in one batch."""
        batch = np.stack([np.asarray(c, np.float32) for c in chips])
        return np.asarray(self.session.run(None, {INPUT: batch})[0], np.float32)

    def _raw(self, chips: list[np.ndarray]) -> np.ndarray:
        """Return one descriptor per chip, jitter-averaged as dlib's compute_face_descriptor."""
        if self.jitters <= 1:
            return self.descriptors(chips)
        out = np.empty((len(chips), self.dim), np.float32)
        for row, chip in enumerate(chips):
            copies = dlib.jitter_image(np.ascontiguousarray(chip), self.jitters)
            out[row] = self.descriptors(copies).mean(axis=0)
        return out

    def embed(self, chips: list[np.ndarray]) -> np.ndarray:
        """Return an (N, 128) float32 array of unit vectors, one per 150x150 chip."""
        if not len(chips):
            return np.zeros((0, self.dim), dtype=np.float32)
        batch = list(chips)
        if self.mirror:
            batch += [c[:, ::-1] for c in chips]
        vectors = normalize_rows(self._raw(batch))
        if self.mirror:
            vectors = normalize_rows(vectors[: len(chips)] + vectors[len(chips) :])
        return vectors
