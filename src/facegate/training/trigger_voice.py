"""Voice changes for training words: pitch/formant warp, EQ and noise excitation (STFT)."""

from __future__ import annotations

import numpy as np
from scipy.signal import istft, stft

from facegate.settings import TriggerTrainSettings

RATE = 16000
WINDOW = 512  # STFT window (samples at 16 kHz)
HOP = 128
EQ_POINTS_HZ = (100.0, 250.0, 500.0, 1000.0, 2000.0, 3500.0, 5500.0, 8000.0)


def warp_bins(values: np.ndarray, alpha: float) -> np.ndarray:
    """Return values (bins x frames) read at bin/alpha: content moves up by alpha in frequency."""
    bins = values.shape[0]
    source = np.arange(bins) / alpha
    low = np.clip(np.floor(source).astype(int), 0, bins - 1)
    high = np.clip(low + 1, 0, bins - 1)
    frac = (source - low)[:, None]
    out = values[low] * (1 - frac) + values[high] * frac
    out[source > bins - 1] = 0.0
    return out


def eq_curve(freqs: np.ndarray, spread_db: float, rng: np.random.Generator) -> np.ndarray:
    """Return a random smooth gain per frequency (linear), drawn in dB at fixed points."""
    gains_db = np.clip(rng.normal(0.0, spread_db, len(EQ_POINTS_HZ)), -2 * spread_db, 2 * spread_db)
    curve = np.interp(np.log(np.maximum(freqs, 50.0)), np.log(EQ_POINTS_HZ), gains_db)
    return 10 ** (curve / 20)


def voice_change(
    audio: np.ndarray, settings: TriggerTrainSettings, rng: np.random.Generator
) -> np.ndarray:
    """Return one word with a drawn pitch/formant warp, EQ curve and, sometimes, noise excitation.

    The warp is a phase-vocoder frequency scaling: every partial moves by the same factor while
    the duration stays (speed is changed elsewhere), so voices get higher or lower and their
    vocal tracts longer or shorter. Noise excitation keeps the magnitudes and draws random
    phases: a whispered, vocoder-like rendering of the same word.
    """
    if len(audio) < WINDOW:
        return audio
    freqs, _, spec = stft(audio, fs=RATE, nperseg=WINDOW, noverlap=WINDOW - HOP)
    magnitude, phase = np.abs(spec), np.angle(spec)
    alpha = float(rng.uniform(*settings.voice_warp))
    expected = 2 * np.pi * HOP * np.arange(len(freqs)) / WINDOW
    advance = np.diff(phase, axis=1, prepend=phase[:, :1]) - expected[:, None]
    advance = expected[:, None] + (advance + np.pi) % (2 * np.pi) - np.pi
    magnitude = warp_bins(magnitude, alpha) * eq_curve(freqs, settings.voice_eq_db, rng)[:, None]
    if rng.random() < settings.whisper_share:
        phase = rng.uniform(-np.pi, np.pi, magnitude.shape)
    else:
        phase = np.cumsum(warp_bins(advance, alpha) * alpha, axis=1)
    _, out = istft(magnitude * np.exp(1j * phase), fs=RATE, nperseg=WINDOW, noverlap=WINDOW - HOP)
    out = out[: len(audio)].astype(np.float32)
    peak = float(np.max(np.abs(out)))
    return out * (float(np.max(np.abs(audio))) / peak) if peak > 0 else out
