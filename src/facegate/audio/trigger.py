"""The trigger model on ONNX Runtime, streamed chunk by chunk with its GRU state carried."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from facegate.audio.sources import AudioError

CARD_KEYS = ("phrase", "n_fft", "hop", "conv_kernel", "conv_stride", "state_shape", "threshold")


@dataclass(frozen=True)
class TriggerCard:
    """What a trigger model needs to run, read from the JSON card beside its ONNX file."""

    path: Path
    phrase: str
    n_fft: int
    hop: int
    conv_kernel: int
    conv_stride: int
    state_shape: tuple[int, int, int]
    threshold: float
    sha256: str | None
    info: dict[str, Any]

    def step_end_s(self, step: int, sample_rate: int) -> float:
        """Return the stream time (s) where output step `step` (from 0) stops seeing audio."""
        last_frame = step * self.conv_stride + self.conv_kernel - 1
        return (last_frame * self.hop + self.n_fft) / sample_rate


def shipped_model(phrase: str) -> Path:
    """Return the path of the model shipped in facegate/models for a phrase name."""
    return Path(str(resources.files("facegate") / "models" / f"trigger-{phrase}.onnx"))


def resolve_model(name: str) -> Path:
    """Return the ONNX path for a shipped phrase name or an explicit .onnx path."""
    path = Path(name) if name.endswith(".onnx") else shipped_model(name)
    if not path.is_file():
        raise AudioError(f"no trigger model {name!r} ({path} does not exist)")
    return path


def load_card(onnx_path: Path) -> TriggerCard:
    """Return the card of a trigger model (the .json beside the .onnx); AudioError if unusable."""
    card_path = onnx_path.with_suffix(".json")
    try:
        info = json.loads(card_path.read_text())
        missing = [k for k in CARD_KEYS if k not in info]
        if missing:
            raise ValueError(f"missing {missing}")
        return TriggerCard(
            path=onnx_path,
            phrase=str(info["phrase"]),
            n_fft=int(info["n_fft"]),
            hop=int(info["hop"]),
            conv_kernel=int(info["conv_kernel"]),
            conv_stride=int(info["conv_stride"]),
            state_shape=tuple(int(v) for v in info["state_shape"]),  # type: ignore[arg-type]
            threshold=float(info["threshold"]),
            sha256=info.get("onnx_sha256"),
            info=info,
        )
    except (OSError, ValueError, TypeError) as exc:
        raise AudioError(f"cannot read the model card {card_path}: {exc}") from None


class StreamingTrigger:
    """Feeds spectrogram frames to the chunk model; returns scores per output step."""

    def __init__(self, card: TriggerCard) -> None:
        import onnxruntime

        data = card.path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if card.sha256 is not None and digest != card.sha256:
            raise AudioError(f"{card.path} has sha256 {digest}, its card says {card.sha256}")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.card = card
        self._session = onnxruntime.InferenceSession(
            data, options, providers=["CPUExecutionProvider"]
        )
        self.reset()

    def reset(self) -> None:
        """Start a new stream: zero GRU state, no buffered frames, step count back at 0."""
        self._state = np.zeros(self.card.state_shape, np.float32)
        self._frames = np.zeros((0, self.card.n_fft // 2 + 1), np.float32)
        self.steps_out = 0

    def push(self, frames: np.ndarray) -> np.ndarray:
        """Return the scores of the output steps these frames complete (may be none)."""
        self._frames = np.concatenate([self._frames, frames]) if len(frames) else self._frames
        kernel, stride = self.card.conv_kernel, self.card.conv_stride
        if len(self._frames) < kernel:
            return np.zeros(0, np.float32)
        steps = (len(self._frames) - kernel) // stride + 1
        used = self._frames[None, : (steps - 1) * stride + kernel]
        scores, self._state = self._session.run(None, {"features": used, "state": self._state})
        self._frames = self._frames[steps * stride :]
        self.steps_out += steps
        return scores[0]


class Detector:
    """A detection when the score stays above the threshold for hold_steps, then a refractory."""

    def __init__(self, threshold: float, hold_steps: int, refractory_s: float) -> None:
        self.threshold = threshold
        self.hold_steps = hold_steps
        self.refractory_s = refractory_s
        self._run = 0
        self._run_start = 0.0
        self._run_peak = 0.0
        self._quiet_until = -float("inf")

    def update(self, score: float, time_s: float) -> tuple[float, float] | None:
        """Feed one step's score at stream time; return (phrase-end time, peak score) on firing."""
        if score <= self.threshold or time_s < self._quiet_until:
            self._run = 0
            return None
        if self._run == 0:
            self._run_start, self._run_peak = time_s, score
        self._run += 1
        self._run_peak = max(self._run_peak, score)
        if self._run < self.hold_steps:
            return None
        self._run = 0
        self._quiet_until = time_s + self.refractory_s
        return self._run_start, self._run_peak
