"""The presence network at run time: P(a person's face is in view) per frame, and its gates."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from facegate.errors import ImageError, SettingsError
from facegate.settings import GateSettings
from facegate.stream.gate import GateResult, PixelChangeGate

INPUT_WIDTH = 160  # the network sees the whole frame letterboxed into INPUT_WIDTH x INPUT_HEIGHT
INPUT_HEIGHT = 90
PAD_LEVEL = 128  # grey level of the letterbox bars (0 after normalisation)
SCALE = 64.0  # input = (grey - PAD_LEVEL) / SCALE
SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "models" / "presence.onnx"


def letterbox(frame: np.ndarray) -> np.ndarray:
    """Return the RGB uint8 frame as a grey uint8 INPUT_HEIGHT x INPUT_WIDTH image, bars grey."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ImageError(
            f"the presence network needs an RGB uint8 HxWx3 frame, got {frame.dtype} {frame.shape}"
        )
    height, width = frame.shape[:2]
    scale = min(INPUT_WIDTH / width, INPUT_HEIGHT / height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    out = np.full((INPUT_HEIGHT, INPUT_WIDTH), PAD_LEVEL, np.uint8)
    top, left = (INPUT_HEIGHT - size[1]) // 2, (INPUT_WIDTH - size[0]) // 2
    out[top : top + size[1], left : left + size[0]] = small
    return out


def to_input(images: np.ndarray) -> np.ndarray:
    """Return letterboxed grey uint8 images (N x H x W or H x W) as the N x 1 x H x W input."""
    batch = images.reshape(-1, 1, INPUT_HEIGHT, INPUT_WIDTH).astype(np.float32)
    return (batch - PAD_LEVEL) / SCALE


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Return the logistic function of the logits."""
    return 1.0 / (1.0 + np.exp(-logits))


class PresenceNet:
    """The exported presence network run by OpenCV's DNN module (ONNX, CPU)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else SHIPPED_MODEL
        if not self.path.is_file():
            raise SettingsError(f"presence model not found: {self.path}")
        try:
            self._net = cv2.dnn.readNetFromONNX(str(self.path))
        except cv2.error as exc:
            raise SettingsError(f"cannot load presence model {self.path}: {exc}") from exc

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Return one logit per letterboxed grey image (N x H x W uint8)."""
        self._net.setInput(to_input(images))
        return self._net.forward().reshape(-1)

    def score(self, frame: np.ndarray) -> float:
        """Return P(a face is in view) for one RGB uint8 frame."""
        return float(sigmoid(self.logits(letterbox(frame)))[0])


class PresenceGate:
    """Opens when the presence network's score reaches `presence_threshold`."""

    def __init__(self, settings: GateSettings, net: PresenceNet | None = None) -> None:
        self._threshold = settings.presence_threshold
        self.net = net or PresenceNet(settings.presence_model)

    def update(self, frame: np.ndarray, timestamp: float) -> GateResult:
        """Return whether a face is likely in view (changed_fraction is not measured: 1.0)."""
        score = self.net.score(frame)
        return GateResult(passed=score >= self._threshold, changed_fraction=1.0, presence=score)


class CascadeGate:
    """Pixel change first; the presence network runs only on frames that changed enough."""

    def __init__(self, settings: GateSettings, net: PresenceNet | None = None) -> None:
        self.pixel = PixelChangeGate(settings)
        self.presence = PresenceGate(settings, net)

    def update(self, frame: np.ndarray, timestamp: float) -> GateResult:
        """Return whether the frame changed enough and then shows a face."""
        changed = self.pixel.update(frame, timestamp)
        if not changed.passed:
            return changed
        seen = self.presence.update(frame, timestamp)
        return GateResult(seen.passed, changed.changed_fraction, seen.presence)
