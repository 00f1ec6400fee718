"""Voice activity: block energy (stage 1), then Silero's VAD network on ONNX Runtime (stage 2)."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import numpy as np

from facegate.audio.sources import AudioError
from facegate.settings import AudioSettings

SILERO_CONTEXT = 64  # samples of the previous block Silero's v5+ model expects in front
SILERO_BLOCK = 512  # samples per call at 16 kHz


def block_dbfs(block: np.ndarray) -> float:
    """Return a block's RMS level in dB full scale (-120 for digital silence)."""
    rms = float(np.sqrt(np.mean(np.square(block, dtype=np.float64))))
    return 20.0 * np.log10(max(rms, 1e-6))


def silero_path() -> Path:
    """Return the Silero VAD ONNX file inside the installed silero-vad wheel."""
    try:
        return Path(str(resources.files("silero_vad") / "data" / "silero_vad.onnx"))
    except ModuleNotFoundError:
        raise AudioError("the silero-vad package is not installed (settings audio.vad)") from None


def verified_onnx(path: Path, sha256: str) -> bytes:
    """Return a model file's bytes after checking their sha256; AudioError when it differs."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AudioError(f"cannot read model {path}: {exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise AudioError(f"{path} has sha256 {digest}, expected {sha256}: refusing to load it")
    return data


class SileroVad:
    """Silero's VAD run with onnxruntime on 512-sample blocks, its state carried between them."""

    def __init__(self, settings: AudioSettings) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        model = verified_onnx(silero_path(), settings.vad_sha256)
        self._session = onnxruntime.InferenceSession(
            model, options, providers=["CPUExecutionProvider"]
        )
        self._rate = np.array(settings.sample_rate, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """Start over: zero state, zero context."""
        self._state = np.zeros((2, 1, 128), np.float32)
        self._context = np.zeros(SILERO_CONTEXT, np.float32)

    def context(self, block: np.ndarray) -> None:
        """Remember the tail of a block the network did not see (it is the next one's context)."""
        self._context = block[-SILERO_CONTEXT:].astype(np.float32)

    def probability(self, block: np.ndarray) -> float:
        """Return P(speech) for one 512-sample block at 16 kHz."""
        if len(block) != SILERO_BLOCK:
            raise AudioError(f"Silero VAD needs {SILERO_BLOCK}-sample blocks, got {len(block)}")
        x = np.concatenate([self._context, block.astype(np.float32)])[None, :]
        out, self._state = self._session.run(
            None, {"input": x, "state": self._state, "sr": self._rate}
        )
        self.context(block)
        return float(out[0, 0])
