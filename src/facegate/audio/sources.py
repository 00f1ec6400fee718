"""Audio in: a WAV file, raw PCM on stdin or a microphone, as 16 kHz mono float32 blocks."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from math import gcd
from pathlib import Path
from typing import BinaryIO

import numpy as np
from scipy.io import wavfile
from scipy.signal import resample_poly

from facegate.errors import FacegateError
from facegate.settings import AudioSettings

STDIN_READ_SECONDS = 0.25  # raw PCM is read and resampled in pieces of this length


class AudioError(FacegateError):
    """An audio input could not be read as speech-rate audio."""

    code = "bad_audio"


def to_float(samples: np.ndarray) -> np.ndarray:
    """Return integer or float PCM (samples, or samples x channels) as mono float32 in [-1, 1]."""
    if samples.dtype == np.uint8:
        data = (samples.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(samples.dtype, np.integer):
        data = samples.astype(np.float32) / float(np.iinfo(samples.dtype).max)
    elif np.issubdtype(samples.dtype, np.floating):
        data = samples.astype(np.float32)
    else:
        raise AudioError(f"unsupported sample type {samples.dtype}")
    if data.ndim == 2:
        data = data.mean(axis=1)
    if data.ndim != 1:
        raise AudioError(f"audio must be samples x channels, got shape {samples.shape}")
    if not np.all(np.isfinite(data)):
        raise AudioError("audio holds NaN or infinite samples")
    return np.clip(data, -1.0, 1.0)


def check_rate(rate: int, settings: AudioSettings) -> None:
    """Raise AudioError when a recording's rate is outside what the cascade accepts."""
    if not settings.min_input_rate <= rate <= settings.max_input_rate:
        raise AudioError(
            f"audio at {rate} Hz: need {settings.min_input_rate}..{settings.max_input_rate} Hz"
        )


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Return mono float32 samples resampled from rate to target (polyphase filter)."""
    if rate == target:
        return samples.astype(np.float32, copy=False)
    g = gcd(rate, target)
    return resample_poly(samples, target // g, rate // g).astype(np.float32)


def read_wav(path: Path, settings: AudioSettings) -> np.ndarray:
    """Return a WAV file as 16 kHz mono float32; AudioError if unreadable, empty or off-rate."""
    try:
        with path.open("rb") as handle:
            rate, data = wavfile.read(handle)
    except FileNotFoundError:
        raise AudioError(f"no such audio file: {path}") from None
    except (OSError, ValueError, EOFError) as exc:
        raise AudioError(f"cannot read {path} as WAV: {exc}") from None
    check_rate(int(rate), settings)
    if data.size == 0 or data.shape[0] == 0:
        raise AudioError(f"{path} holds no audio samples")
    if data.shape[0] / rate > settings.max_file_seconds:
        raise AudioError(
            f"{path} is {data.shape[0] / rate:.0f} s long, over {settings.max_file_seconds:.0f} s"
        )
    return resample(to_float(data), int(rate), settings.sample_rate)


def blocks(samples: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """Yield consecutive blocks of `size` samples (the last zero-padded)."""
    for start in range(0, len(samples), size):
        block = samples[start : start + size]
        if len(block) < size:
            block = np.pad(block, (0, size - len(block)))
        yield block


def pcm_blocks(stream: BinaryIO, rate: int, settings: AudioSettings) -> Iterator[np.ndarray]:
    """Yield 16 kHz blocks from raw signed 16-bit little-endian mono PCM at `rate`."""
    check_rate(rate, settings)
    piece = max(2, int(rate * STDIN_READ_SECONDS) * 2)
    pending = np.zeros(0, np.float32)
    carry = b""
    total = 0
    while chunk := stream.read(piece):
        chunk = carry + chunk
        usable = len(chunk) - len(chunk) % 2
        chunk, carry = chunk[:usable], chunk[usable:]
        total += usable // 2
        samples = to_float(np.frombuffer(chunk, dtype="<i2"))
        pending = np.concatenate([pending, resample(samples, rate, settings.sample_rate)])
        while len(pending) >= settings.block_samples:
            yield pending[: settings.block_samples]
            pending = pending[settings.block_samples :]
    if total == 0:
        raise AudioError("no audio samples on stdin (expected raw s16le mono PCM)")
    if len(pending):
        yield np.pad(pending, (0, settings.block_samples - len(pending)))


def mic_blocks(settings: AudioSettings) -> Iterator[np.ndarray]:
    """Yield 16 kHz blocks from the microphone (PortAudio through sounddevice) until stopped."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:
        raise AudioError(f"no microphone support (sounddevice/PortAudio): {exc}") from None
    device: int | str | None = settings.mic_device
    if isinstance(device, str) and device.isdigit():
        device = int(device)
    try:
        stream = sounddevice.InputStream(
            samplerate=settings.sample_rate,
            channels=1,
            dtype="float32",
            blocksize=settings.block_samples,
            device=device,
        )
    except Exception as exc:  # PortAudioError or a bad device name
        raise AudioError(f"cannot open the microphone: {exc}") from None
    with stream:
        while True:
            data, _overflowed = stream.read(settings.block_samples)
            yield np.asarray(data[:, 0], dtype=np.float32)


def open_audio(source: str, settings: AudioSettings, rate: int = 16000) -> Iterator[np.ndarray]:
    """Return 16 kHz mono blocks from 'MIC', '-' (raw s16le PCM at `rate` on stdin) or a WAV."""
    if source.upper() == "MIC":
        return mic_blocks(settings)
    if source == "-":
        return pcm_blocks(sys.stdin.buffer, rate, settings)
    return blocks(read_wav(Path(source), settings), settings.block_samples)
