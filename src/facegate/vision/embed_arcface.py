"""Bring-your-own ArcFace-style ONNX embedders: 112x112 input, 5-point similarity alignment.

The de-facto standard of InsightFace-trained models: the face warped by the similarity that
puts its eye centres, nose tip and mouth corners nearest the ARCFACE_TEMPLATE points, as
(N, 3, 112, 112) RGB scaled to [-1, 1]. facegate's chips are dlib's (150 px, padding 0.25),
which hold the whole face upright, so the five points are found on the chip itself by YuNet and
the chip is warped from there; when YuNet finds no face on a chip, the points' mean position
on dlib chips (CHIP_POINTS, measured on 200 LFW chips at padding 0.25) stands in. A padding
of 0.25 leaves the chip tighter than ArcFace's crop (the warp then repeats the chip's border);
vision.chip_padding >= 0.45 holds the whole crop.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

from facegate.errors import SettingsError
from facegate.vision.detect_yunet import YunetDetector
from facegate.vision.embed import normalize_rows
from facegate.vision.embed_onnx import onnx_session

ARCFACE_SIZE = 112
# InsightFace's 112x112 template: left eye, right eye (as seen), nose tip, mouth left, right
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    np.float32,
)
# the same five points on a 150 px dlib chip (padding 0.25): mean over 200 LFW chips
CHIP_POINTS = np.array(
    [[46.4, 47.6], [106.3, 48.1], [76.4, 79.9], [49.9, 105.8], [101.7, 106.1]], np.float32
)
CHIP_POINTS_PADDING = 0.25


def chip_points(chip: np.ndarray, detector: YunetDetector, padding: float = 0.25) -> np.ndarray:
    """Return the five ArcFace points on a chip: YuNet's most confident face, else CHIP_POINTS."""
    rows = detector.raw(chip)
    if not len(rows):  # CHIP_POINTS moved to this chip's padding and size
        shrink = (1 + 2 * CHIP_POINTS_PADDING) / (1 + 2 * padding)
        return ((CHIP_POINTS - 75.0) * shrink + 75.0) * (chip.shape[0] / 150.0)
    best = rows[int(np.argmax(rows[:, 14]))]
    return best[4:14].reshape(5, 2).astype(np.float32)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Return the 2x3 least-squares similarity taking the src points to dst (Umeyama, 1991)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - src_mean, dst - dst_mean
    u, sing, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ d @ vt
    scale = float(np.trace(np.diag(sing) @ d)) / float((a * a).sum() / len(src))
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def arcface_input(
    chips: list[np.ndarray], detector: YunetDetector, padding: float = 0.25
) -> np.ndarray:
    """Return (N, 3, 112, 112) float32 in [-1, 1]: each chip similarity-aligned to the template."""
    out = np.empty((len(chips), 3, ARCFACE_SIZE, ARCFACE_SIZE), np.float32)
    for row, chip in enumerate(chips):
        matrix = similarity(chip_points(chip, detector, padding), ARCFACE_TEMPLATE)
        face = cv2.warpAffine(
            np.ascontiguousarray(chip),
            matrix,
            (ARCFACE_SIZE, ARCFACE_SIZE),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        out[row] = face.transpose(2, 0, 1)
    return (out - 127.5) / 127.5


class OnnxArcfaceEmbedder:
    """A user's ArcFace-style ONNX model run by ONNX Runtime on 5-point aligned 112 px faces."""

    def __init__(
        self,
        path: Path,
        detector: YunetDetector,
        threads: int = 1,
        mirror: bool = False,
        chip_padding: float = 0.25,
    ) -> None:
        if not path.is_file():
            raise SettingsError(f"embedder model not found: {path}")
        self.model_path = path
        self.detector = detector
        self.mirror = mirror
        self.chip_padding = chip_padding
        try:
            self.session = onnx_session(path, threads)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise SettingsError(f"{path}: not an ONNX model ONNX Runtime can run ({exc})") from exc
        shape = self.session.get_inputs()[0].shape
        if len(shape) != 4 or list(shape[1:]) != [3, ARCFACE_SIZE, ARCFACE_SIZE]:
            raise SettingsError(f"{path}: input {shape} is not (N, 3, 112, 112) (ArcFace-style)")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        self.name = f"onnx-arcface:{digest}"  # the file's hash names the vector space
        self.description = f"{self.name} ({path.name})" + ("+mirror" if mirror else "")
        blank = np.zeros((1, 3, ARCFACE_SIZE, ARCFACE_SIZE), np.float32)
        self.dim = int(self.forward(blank).shape[1])

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """Return the model's raw (N, dim) outputs for an (N, 3, 112, 112) input."""
        name = self.session.get_inputs()[0].name
        out = self.session.run(None, {name: np.ascontiguousarray(batch, np.float32)})[0]
        return np.asarray(out, np.float32).reshape(len(batch), -1)

    def embed(self, chips: list[np.ndarray]) -> np.ndarray:
        """Return an (N, dim) float32 array of unit vectors, one per 150x150 chip."""
        if not len(chips):
            return np.zeros((0, self.dim), dtype=np.float32)
        batch = arcface_input(list(chips), self.detector, self.chip_padding)
        vectors = normalize_rows(self.forward(batch))
        if self.mirror:
            vectors = normalize_rows(vectors + normalize_rows(self.forward(batch[..., ::-1])))
        return vectors
