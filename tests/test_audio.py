"""The wake-phrase cascade: audio sources, spectrogram, synthesis, training, ONNX, listen, wake."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA

from facegate.audio.features import StreamingSpectrogram, spectrogram
from facegate.audio.sources import AudioError, pcm_blocks, read_wav
from facegate.audio.trigger import Detector
from facegate.settings import AudioSettings, TriggerTrainSettings
from facegate.training.trigger_data import trim

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


# The pipeline tests below use synthesised phrases at this threshold: the shipped card's (0.99,
# chosen for false accepts) misses some renderings; bench/wake.py measures the model itself.
PIPELINE_ENV = {**os.environ, "FACEGATE_AUDIO__THRESHOLD": "0.9"}


def listen(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run `facegate listen` and return the finished process."""
    return subprocess.run(
        [*FACEGATE, "listen", *args],
        input=stdin.decode("latin-1") if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
        env=PIPELINE_ENV,
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
    for args, stdin in ((["--source", str(junk)], None), (["--source", "-"], b"")):
        done = listen(*args, stdin=stdin)
        assert done.returncode == 2, (args, done.stderr)
        assert "facegate: error:" in done.stderr and "Traceback" not in done.stderr


def test_stdin_at_a_wrong_rate_is_refused() -> None:
    with pytest.raises(AudioError, match="3000 Hz"):
        next(pcm_blocks(io.BytesIO(b"\x00\x00" * 100), 3000, AudioSettings()))


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


@pytest.fixture(scope="module")
def cs230() -> Path:
    """Return the real CS230-style recordings, or skip when the speech data is absent."""
    path = SPEECH / "cs230"
    if not (path / "activates" / "1.wav").exists():
        pytest.skip(f"speech data not found at {SPEECH} (set FACEGATE_DATA)")
    return path


def unheard_activate(cs230: Path) -> list[np.ndarray]:
    """Return real 'activate' recording 2 (the shipped model never heard it), trimmed, 16 kHz."""
    settings = AudioSettings()
    return [trim(read_wav(cs230 / "activates" / "2.wav", settings), -40.0)]


def test_shipped_model_never_heard_recording_2(cs230: Path) -> None:
    from facegate.audio.trigger import shipped_model
    from facegate.training.trigger_data import sha256_file

    manifest = shipped_model("activate").with_suffix(".manifest.json").read_text()
    assert sha256_file(cs230 / "activates" / "2.wav") not in manifest
    assert "activates/2.wav" not in manifest


def synthetic_activates() -> list[np.ndarray]:
    """Return two flite renderings of 'activate' (a seed the shipped model was not made with)."""
    if shutil.which("flite") is None:
        pytest.skip("flite is not installed (scripts/system-deps.sh)")
    from facegate.training.trigger_data import flite_words

    words = flite_words(["activate"], 2, TriggerTrainSettings(), np.random.default_rng(1234))
    return [w.audio for w in words]


def phrase_wav(
    cs230: Path, tmp_path: Path, words: list[np.ndarray], at: list[float]
) -> tuple[Path, list[float]]:
    """Write background 2 (never trained on) with the words starting at `at` (s), in turn."""
    settings = AudioSettings()
    background = read_wav(cs230 / "backgrounds" / "2.wav", settings)
    audio = np.tile(background, 2)
    ends = []
    for n, start in enumerate(at):
        word = words[n % len(words)]
        first = int(start * 16000)
        audio[first : first + len(word)] += 0.7 * word / np.abs(word).max()
        ends.append((first + len(word)) / 16000)
    return write_wav(tmp_path / "door.wav", audio, 16000), ends


def check_heard(wav: Path, ends: list[float]) -> None:
    """Assert that `facegate listen --json` reports exactly one event per phrase, on time."""
    done = listen("--source", str(wav), "--json")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(events) == len(ends), events
    assert {"offset_s", "time", "phrase", "score", "latency_ms"} <= set(events[0])
    for event, end in zip(events, ends, strict=True):
        assert abs(event["offset_s"] - end) <= 0.5 and event["phrase"] == "activate"


def test_listen_hears_activate_at_known_times(cs230: Path, tmp_path: Path) -> None:
    wav, ends = phrase_wav(cs230, tmp_path, synthetic_activates(), [2.0, 8.0, 14.5])
    check_heard(wav, ends)


@pytest.mark.xfail(
    strict=True,
    reason="the shipped model, trained with real recording 1 and synthesised voices, detects "
    "recording 2 only 0-10 % of the time at its card threshold (bench/wake.py, README)",
)
def test_listen_hears_real_activate_at_known_times(cs230: Path, tmp_path: Path) -> None:
    wav, ends = phrase_wav(cs230, tmp_path, unheard_activate(cs230), [2.0, 8.0, 14.5])
    check_heard(wav, ends)


def test_listen_without_the_phrase_stays_quiet(cs230: Path, tmp_path: Path) -> None:
    from facegate.audio.cascade import Listener
    from facegate.audio.sources import blocks

    settings = AudioSettings()
    held_out = [cs230 / "negatives" / f"{n}.wav" for n in ("4", "4_0", "5", "5_1")]
    held_out += sorted((SPEECH / "fsdd").glob("[0-8]_nicolas_1.wav"))
    audio = np.tile(read_wav(cs230 / "backgrounds" / "2.wav", settings), 2)
    for i, path in enumerate(held_out):
        word = trim(read_wav(path, settings), -40.0)
        start = int((0.5 + i * 1.4) * 16000)
        audio[start : start + len(word)] += 0.7 * word / np.abs(word).max()
    wav = read_wav(write_wav(tmp_path / "words.wav", audio, 16000), settings)
    listener = Listener(settings)
    assert list(listener.run(blocks(wav, settings.block_samples))) == []
    assert listener.stats.triggered > 0  # the words did reach the trigger model


def run_door(wake_wav: Path, tmp_path: Path) -> tuple[list[dict], str]:
    """Run a door on a small 6 s video (10 fps, paced) gated only by the wake phrase."""
    import cv2

    from facegate.gallery import SQLiteGallery

    tmp_path.mkdir()
    SQLiteGallery(tmp_path / "door.db").close()  # `run --source` refuses a missing gallery
    video = tmp_path / "door.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 120))
    rng = np.random.default_rng(0)
    for _ in range(60):
        writer.write(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    writer.release()
    env = {**PIPELINE_ENV, "FACEGATE_GATE__MODE": "off", "FACEGATE_AUDIO__WAKE_SECONDS": "30"}
    done = subprocess.run(
        [
            *FACEGATE,
            "run",
            "--source",
            str(video),
            "--realtime",
            "--max-seconds",
            "6",
            "--json",
            "--wake-on",
            "activate",
            "--wake-source",
            str(wake_wav),
            "--db",
            str(tmp_path / "door.db"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def test_wake_gate_is_closed_until_woken() -> None:
    from facegate.audio.wake import WakeGate
    from facegate.stream.gate import OpenGate

    gate = WakeGate(OpenGate(), open_seconds=0.2)
    frame = np.zeros((4, 4, 3), np.uint8)
    assert not gate.update(frame, 0.0).passed
    gate.wake()
    assert gate.update(frame, 0.1).passed
    time.sleep(0.25)
    assert not gate.update(frame, 0.2).passed


def test_run_wake_on_keeps_the_gate_closed_until_the_phrase(cs230: Path, tmp_path: Path) -> None:
    from facegate.monitor.wake_log import WakeLog

    wav, ends = phrase_wav(cs230, tmp_path, synthetic_activates(), [2.5])
    lines, summary = run_door(wav, tmp_path / "door")
    wakes = [line["wake"] for line in lines if "wake" in line]
    assert len(wakes) == 1 and abs(wakes[0]["offset_s"] - ends[0]) <= 0.5
    frames, passed = (int(n) for n in re.findall(r"(\d+) frames, (\d+) past the gate", summary)[0])
    # every frame before the phrase stopped at the gate, those after it went on (gate mode off)
    assert frames >= 50 and 0 < passed < frames - 15
    with WakeLog(tmp_path / "door" / "door.db") as log:
        assert [w["phrase"] for w in log.wakes()] == ["activate"]
