"""The wake-phrase cascade: audio sources, spectrogram, synthesis, training, ONNX, listen, wake."""

from __future__ import annotations

import io
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA

from facegate.audio.features import StreamingSpectrogram, spectrogram
from facegate.audio.sources import AudioError, pcm_blocks, read_wav
from facegate.audio.trigger import Detector
from facegate.settings import AudioSettings

SPEECH = DATA / "speech"
FACEGATE = [sys.executable, "-m", "facegate"]


def write_wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1) -> Path:
    """Write float samples in [-1, 1] as 16-bit PCM WAV."""
    data = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(data.tobytes())
    return path


def listen(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run `facegate listen` and return the finished process."""
    return subprocess.run(
        [*FACEGATE, "listen", *args],
        input=stdin.decode("latin-1") if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_wav_is_resampled_to_16k_mono(tmp_path: Path) -> None:
    tone = np.sin(np.arange(44100) / 44100 * 2 * np.pi * 440) * 0.5
    stereo = np.stack([tone, tone], axis=1).reshape(-1)
    audio = read_wav(write_wav(tmp_path / "s.wav", stereo, 44100, channels=2), AudioSettings())
    assert audio.dtype == np.float32 and abs(len(audio) - 16000) <= 1
    assert 0.45 < np.max(np.abs(audio)) < 0.55


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "cannot read"),
        (b"RIFF\x00\x00garbage that is not a wave file at all", "cannot read"),
        (None, "holds no audio"),
        ("rate", "4000 Hz"),
    ],
)
def test_bad_wav_is_a_clear_error(tmp_path: Path, content: object, reason: str) -> None:
    path = tmp_path / "bad.wav"
    if content is None:
        write_wav(path, np.zeros(0), 16000)
    elif content == "rate":
        write_wav(path, np.zeros(4000), 4000)
    else:
        path.write_bytes(content)  # type: ignore[arg-type]
    with pytest.raises(AudioError, match=reason):
        read_wav(path, AudioSettings())


def test_listen_bad_audio_exits_2(tmp_path: Path) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"\x00\x01" * 100)
    for args, stdin in (
        (["--source", str(junk)], None),
        (["--source", str(tmp_path / "missing.wav")], None),
        (["--source", "-"], b""),
        (["--source", "-", "--rate", "3000"], b"\x00\x00" * 100),
    ):
        done = listen(*args, stdin=stdin)
        assert done.returncode == 2, (args, done.stderr)
        assert "facegate: error:" in done.stderr and "Traceback" not in done.stderr


def test_stdin_pcm_blocks_keep_every_sample() -> None:
    samples = (np.arange(1600) % 200 - 100).astype("<i2")
    raw = samples.tobytes() + b"\x01"  # a dangling odd byte is ignored
    got = np.concatenate(list(pcm_blocks(io.BytesIO(raw), 16000, AudioSettings())))
    assert len(got) == 1600 + (512 - 1600 % 512)
    np.testing.assert_allclose(got[:1600] * 32767, samples, atol=1)


def test_streaming_spectrogram_equals_offline() -> None:
    audio = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    stream = StreamingSpectrogram(200, 160)
    parts = [stream.push(audio[i : i + 333]) for i in range(0, len(audio), 333)]
    offline = spectrogram(audio, 200, 160)
    assert offline.shape[1] == 101
    np.testing.assert_allclose(np.concatenate(parts), offline, atol=1e-4)


def test_detector_holds_and_refracts() -> None:
    detector = Detector(threshold=0.5, hold_steps=2, refractory_s=1.0)
    scores = [0.1, 0.9, 0.2, 0.9, 0.95, 0.9, 0.9, 0.9, 0.1, 0.9, 0.9]
    times = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.5, 1.6]
    hits = [h for s, t in zip(scores, times, strict=True) if (h := detector.update(s, t))]
    assert [(round(a, 2), round(b, 2)) for a, b in hits] == [(0.3, 0.95), (1.5, 0.9)]
