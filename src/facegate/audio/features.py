"""The spectrogram front end: log power in n_fft/2+1 bins per hop, offline and streaming."""

from __future__ import annotations

import numpy as np

POWER_FLOOR = 1e-10  # added before the log, so digital silence is finite (-100 dB)


def spectrogram(samples: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Return the log-power spectrogram (frames x n_fft//2+1, dB) of mono float32 samples."""
    if len(samples) < n_fft:
        return np.zeros((0, n_fft // 2 + 1), np.float32)
    count = 1 + (len(samples) - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]
    frames = samples[index] * np.hanning(n_fft).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    return (10.0 * np.log10(power + POWER_FLOOR)).astype(np.float32)


class StreamingSpectrogram:
    """Turns blocks of samples into spectrogram frames, equal to `spectrogram` over the stream."""

    def __init__(self, n_fft: int, hop: int) -> None:
        self.n_fft = n_fft
        self.hop = hop
        self._pending = np.zeros(0, np.float32)
        self.frames_out = 0

    def reset(self) -> None:
        """Forget buffered samples (the next block starts a new stream)."""
        self._pending = np.zeros(0, np.float32)

    def push(self, block: np.ndarray) -> np.ndarray:
        """Return the frames completed by this block (may be none)."""
        self._pending = np.concatenate([self._pending, block.astype(np.float32, copy=False)])
        frames = spectrogram(self._pending, self.n_fft, self.hop)
        self._pending = self._pending[len(frames) * self.hop :]
        self.frames_out += len(frames)
        return frames
