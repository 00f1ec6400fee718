"""Embedders by name: the shipped dlib encoder, a trained ONNX head on it, or a trained ONNX CNN.

An `onnx:PATH` model is told apart by its input: (batch, 128) is a head on the encoder's
vectors (model family a); (batch, 3, S, S) is a small CNN on the aligned chip (family b).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from facegate.errors import SettingsError
from facegate.settings import VisionSettings
from facegate.vision.embed import DlibResnetEmbedder, normalize_rows
from facegate.vision.types import Embedder

CNN_CROP = 0.75  # the CNN sees the centre 75 % of the 150 px chip (the face, little background)


def view_paddings(settings: VisionSettings) -> tuple[float, ...]:
    """Return the extra chip paddings embedded with each face (the shipped dlib encoder only)."""
    return settings.tta_paddings if settings.embedder == "dlib" else ()


def embed_views(
    embedder: Embedder, chips: Sequence[np.ndarray], views: Sequence[Sequence[np.ndarray]]
) -> np.ndarray:
    """Return one unit vector per chip: its embedding averaged with its views', in one batch."""
    owners = [row for row, face in enumerate(views) for _ in face]
    vectors = embedder.embed([*chips, *(view for face in views for view in face)])
    if not owners:
        return vectors
    fused = vectors[: len(chips)].copy()
    np.add.at(fused, owners, vectors[len(chips) :])
    return normalize_rows(fused)


def cnn_input(chips: list[np.ndarray] | np.ndarray, size: int) -> np.ndarray:
    """Return (N, 3, size, size) float32 in [-1, 1]: the chips' centre crops, resized."""
    out = np.empty((len(chips), 3, size, size), np.float32)
    for row, chip in enumerate(chips):
        side = chip.shape[0]
        margin = round(side * (1 - CNN_CROP) / 2)
        crop = chip[margin : side - margin, margin : side - margin]
        small = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
        out[row] = small.transpose(2, 0, 1)
    return out / 127.5 - 1.0


def onnx_input_shape(path: Path) -> list[int | str]:
    """Return the shape of the model's first input (a name for free axes such as the batch)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    dims = graph.input[0].type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in dims]


def _read(path: Path) -> tuple[bytes, cv2.dnn.Net]:
    """Return the model file's bytes and OpenCV network, or a clear settings error."""
    if not path.is_file():
        raise SettingsError(f"embedder model not found: {path}")
    try:
        return path.read_bytes(), cv2.dnn.readNetFromONNX(str(path))
    except cv2.error as exc:
        raise SettingsError(f"{path}: not an ONNX model OpenCV can run ({exc.msg})") from exc


class OnnxHeadEmbedder:
    """The dlib encoder, then a trained ONNX head run by OpenCV, unit-normalised."""

    def __init__(self, path: Path, encoder: Embedder) -> None:
        model, self.net = _read(path)
        self.model_path = path
        self.encoder = encoder
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


class OnnxCnnEmbedder:
    """A small CNN trained end to end, run by OpenCV on the aligned chip, unit-normalised."""

    def __init__(self, path: Path, size: int, mirror: bool = False) -> None:
        model, self.net = _read(path)
        self.model_path = path
        self.size = size
        self.mirror = mirror
        self.name = f"onnx-cnn:{hashlib.sha256(model).hexdigest()[:12]}"
        self.description = f"{self.name} ({path.name}, {size} px)" + ("+mirror" if mirror else "")
        blank = np.zeros((1, size, size, 3), np.uint8)
        self.dim = int(self.forward(cnn_input(blank, size)).shape[1])

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """Return the network's raw outputs for a (N, 3, S, S) input."""
        self.net.setInput(np.ascontiguousarray(batch))
        return np.asarray(self.net.forward(), np.float32)

    def embed(self, chips: list[np.ndarray]) -> np.ndarray:
        """Return an (N, dim) float32 array of unit vectors, one per 150x150 chip."""
        if not len(chips):
            return np.zeros((0, self.dim), dtype=np.float32)
        batch = cnn_input(chips, self.size)
        vectors = normalize_rows(self.forward(batch))
        if self.mirror:
            vectors = normalize_rows(vectors + normalize_rows(self.forward(batch[..., ::-1])))
        return vectors


def onnx_embedder(path: Path, settings: VisionSettings) -> Embedder:
    """Return the head or CNN embedder of an ONNX file, told apart by its input shape."""
    if not path.is_file():
        raise SettingsError(f"embedder model not found: {path}")
    try:
        shape = onnx_input_shape(path)
    except Exception as exc:  # onnx raises its own DecodeError types
        raise SettingsError(f"{path}: not an ONNX model ({exc})") from exc
    if len(shape) == 2 and shape[1] == DlibResnetEmbedder.dim:
        return OnnxHeadEmbedder(path, dlib_encoder(settings))
    if len(shape) == 4 and shape[1] == 3 and isinstance(shape[2], int) and shape[2] == shape[3]:
        return OnnxCnnEmbedder(path, shape[2], settings.tta_mirror)
    raise SettingsError(
        f"{path}: input {shape} is neither a head on 128-d vectors nor a CNN on 3xSxS chips"
    )


def dlib_encoder(
    settings: VisionSettings, mirror: bool | None = None, jitters: int | None = None
) -> Embedder:
    """Return the shipped dlib ResNet on the configured engine (TTA as given, else as set)."""
    mirror = settings.tta_mirror if mirror is None else mirror
    jitters = settings.jitters if jitters is None else jitters
    if settings.embedder_engine == "dlib":
        return DlibResnetEmbedder(mirror, jitters)
    from facegate.vision.embed_onnx import OnnxDlibEmbedder

    return OnnxDlibEmbedder(mirror, jitters, settings.onnx_threads, settings.model_cache_dir)


ARCFACE_PREFIX = "onnx-arcface:"


def arcface_embedder(path: Path, settings: VisionSettings) -> Embedder:
    """Return a user's ArcFace-style ONNX model (112 px, 5-point aligned) as an embedder."""
    from facegate.vision.detect_yunet import YunetDetector
    from facegate.vision.embed_arcface import OnnxArcfaceEmbedder
    from facegate.vision.model_files import yunet_onnx

    points = YunetDetector(yunet_onnx(settings.model_cache_dir), settings.yunet_min_score)
    return OnnxArcfaceEmbedder(
        path, points, settings.onnx_threads, settings.tta_mirror, settings.chip_padding
    )


def build_embedder(settings: VisionSettings) -> Embedder:
    """Return the embedder settings.embedder names: 'dlib', 'onnx:PATH' or 'onnx-arcface:PATH'."""
    if settings.embedder == "dlib":
        return dlib_encoder(settings)
    if settings.embedder.startswith(ARCFACE_PREFIX):
        path = Path(settings.embedder.removeprefix(ARCFACE_PREFIX)).expanduser()
        return arcface_embedder(path, settings)
    return onnx_embedder(Path(settings.embedder.removeprefix("onnx:")).expanduser(), settings)
