"""Training clips for a trigger model: words (espeak-ng and real) overlaid on backgrounds."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import butter, fftconvolve, resample_poly, sosfilt

from facegate.audio.features import spectrogram
from facegate.audio.sources import AudioError, read_wav
from facegate.settings import AudioSettings, TriggerTrainSettings
from facegate.training.trigger_voice import voice_change

RATE = 16000
ESPEAK_LANGUAGES = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-029",
    "en-us-nyc",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
)
ESPEAK_SPEEDS = (110, 230)  # words per minute, drawn uniformly
ESPEAK_PITCHES = (15, 85)  # espeak-ng's 0..99 pitch, drawn uniformly
FLITE_VOICES = ("slt", "rms", "awb", "kal16")  # flite's built-in CMU voices
FLITE_STRETCH = (0.8, 1.3)  # duration stretch (1 = the voice's own speed)
FLITE_PITCH_HZ = (85, 230)  # target mean f0


@dataclass(frozen=True)
class Word:
    """One utterance at 16 kHz, trimmed, with where it came from (for the manifest)."""

    audio: np.ndarray
    source: dict[str, Any]


@dataclass
class WordBank:
    """The phrase's utterances, other words, and backgrounds a set of clips is made from."""

    positives: list[Word] = field(default_factory=list)
    negatives: list[Word] = field(default_factory=list)
    backgrounds: list[Word] = field(default_factory=list)

    def positive(self, real_share: float, rng: np.random.Generator) -> Word:
        """Return a drawn phrase utterance: a real one with probability real_share (when any)."""
        real = [w for w in self.positives if is_real(w)]
        synthetic = [w for w in self.positives if not is_real(w)]
        pool = real if real and (not synthetic or rng.random() < real_share) else synthetic
        return pool[int(rng.integers(len(pool)))]

    def negative(self, by_group: bool, rng: np.random.Generator) -> Word:
        """Return a drawn other word: a group first (each equally likely), then one of its words."""
        pool = self.negatives
        if by_group:
            groups = sorted({source_group(w) for w in pool})
            chosen = groups[int(rng.integers(len(groups)))]
            pool = [w for w in pool if source_group(w) == chosen]
        return pool[int(rng.integers(len(pool)))]

    def real_only(self) -> WordBank:
        """Return the bank's real recordings only (negatives and backgrounds, no phrases)."""
        return WordBank(
            negatives=[w for w in self.negatives if is_real(w)],
            backgrounds=[w for w in self.backgrounds if is_real(w)],
        )

    def manifest(self) -> dict[str, Any]:
        """Return every source (paths or espeak-ng parameters, with sha256) by role."""
        return {
            role: [w.source for w in getattr(self, role)]
            for role in ("positives", "negatives", "backgrounds")
        }


def is_real(word: Word) -> bool:
    """Return whether a word is a real recording (not synthesised speech or noise)."""
    return "path" in word.source


def source_group(word: Word) -> str:
    """Return where a word came from: its recording's folder, or the synthesiser's name."""
    if is_real(word):
        return str(Path(word.source["path"]).parent)
    return next((k for k in ("espeak", "flite") if k in word.source), "other")


def sha256_audio(audio: np.ndarray) -> str:
    """Return the sha256 of float32 samples."""
    return hashlib.sha256(np.ascontiguousarray(audio, np.float32).tobytes()).hexdigest()


def sha256_file(path: Path) -> str:
    """Return the sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def trim(audio: np.ndarray, dbfs: float) -> np.ndarray:
    """Return audio cut to the first and last 10 ms frame louder than dbfs (as is when none)."""
    frame = RATE // 100
    count = len(audio) // frame
    if count == 0:
        return audio
    rms = np.sqrt(np.mean(audio[: count * frame].reshape(count, frame) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(rms) > dbfs)
    if len(loud) == 0:
        return audio
    return audio[loud[0] * frame : (loud[-1] + 1) * frame]


def espeak_variants() -> list[str]:
    """Return espeak-ng's voice variant names (e.g. 'Alex', 'f3'); AudioError without espeak-ng."""
    try:
        out = subprocess.run(
            ["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise AudioError(f"espeak-ng is needed to synthesise words: {exc}") from None
    return sorted(line.split()[-1].split("/")[-1] for line in out.splitlines()[1:] if "!v/" in line)


def espeak_words(
    texts: list[str], count: int, settings: TriggerTrainSettings, rng: np.random.Generator
) -> list[Word]:
    """Return `count` espeak-ng renderings of each text, each with a drawn voice, speed, pitch."""
    variants = espeak_variants()
    audio_settings = AudioSettings()
    voices = [(lang, var) for lang in ESPEAK_LANGUAGES for var in variants]
    picked = [voices[i] for i in rng.permutation(len(voices))[: settings.espeak_voices]]
    words = []
    with tempfile.TemporaryDirectory(prefix="facegate-espeak-") as tmp:
        for text in texts:
            for i in range(count):
                lang, variant = picked[int(rng.integers(len(picked)))]
                speed = int(rng.integers(*ESPEAK_SPEEDS))
                pitch = int(rng.integers(*ESPEAK_PITCHES))
                path = Path(tmp) / f"w{i}.wav"
                voice = f"{lang}+{variant}"
                cmd = [
                    "espeak-ng",
                    "-v",
                    voice,
                    "-s",
                    str(speed),
                    "-p",
                    str(pitch),
                    "-w",
                    str(path),
                    text,
                ]
                try:
                    subprocess.run(cmd, capture_output=True, check=True)
                except (OSError, subprocess.CalledProcessError) as exc:
                    raise AudioError(f"espeak-ng failed on {text!r} ({voice}): {exc}") from None
                audio = trim(read_wav(path, audio_settings), settings.trim_dbfs)
                source = {
                    "espeak": text,
                    "voice": voice,
                    "speed": speed,
                    "pitch": pitch,
                    "sha256": sha256_audio(audio),
                }
                words.append(Word(audio, source))
    return words


def flite_words(
    texts: list[str], count: int, settings: TriggerTrainSettings, rng: np.random.Generator
) -> list[Word]:
    """Return `count` flite renderings of each text (drawn voice, duration stretch, pitch)."""
    if count == 0:
        return []
    audio_settings = AudioSettings()
    words = []
    with tempfile.TemporaryDirectory(prefix="facegate-flite-") as tmp:
        for text in texts:
            for i in range(count):
                voice = FLITE_VOICES[int(rng.integers(len(FLITE_VOICES)))]
                stretch = round(float(rng.uniform(*FLITE_STRETCH)), 2)
                pitch = int(rng.integers(*FLITE_PITCH_HZ))
                path = Path(tmp) / f"w{i}.wav"
                cmd = [
                    "flite",
                    "-voice",
                    voice,
                    "--setf",
                    f"duration_stretch={stretch}",
                    "--setf",
                    f"int_f0_target_mean={pitch}",
                    "-t",
                    text,
                    "-o",
                    str(path),
                ]
                try:
                    subprocess.run(cmd, capture_output=True, check=True)
                except (OSError, subprocess.CalledProcessError) as exc:
                    raise AudioError(f"flite failed on {text!r} ({voice}): {exc}") from None
                audio = trim(read_wav(path, audio_settings), settings.trim_dbfs)
                source = {
                    "flite": text,
                    "voice": voice,
                    "stretch": stretch,
                    "pitch": pitch,
                    "sha256": sha256_audio(audio),
                }
                words.append(Word(audio, source))
    return words


def real_words(paths: list[Path], settings: TriggerTrainSettings, root: Path | None) -> list[Word]:
    """Return real recordings as trimmed 16 kHz words, named relative to root in the manifest."""
    audio_settings = AudioSettings()
    words = []
    for path in sorted(paths):
        audio = trim(read_wav(path, audio_settings), settings.trim_dbfs)
        name = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
        words.append(Word(audio, {"path": name, "sha256": sha256_file(path)}))
    return words


def noise(length: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """Return unit-RMS white, pink or brown noise."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    freqs = np.maximum(np.fft.rfftfreq(length), 1.0 / length)
    spectrum /= {"white": 1.0, "pink": np.sqrt(freqs), "brown": freqs}[colour]
    out = np.fft.irfft(spectrum, length)
    return (out / (np.sqrt(np.mean(out**2)) + 1e-12)).astype(np.float32)


def synthetic_backgrounds(count: int, seconds: float, rng: np.random.Generator) -> list[Word]:
    """Return quiet coloured-noise backgrounds (for rooms unlike the recorded ones)."""
    words = []
    for i in range(count):
        colour = ("white", "pink", "brown")[i % 3]
        level_db = float(rng.uniform(-65, -35))
        audio = noise(int(seconds * RATE), colour, rng) * 10 ** (level_db / 20)
        words.append(Word(audio, {"noise": colour, "dbfs": round(level_db, 1)}))
    return words


def change_speed(audio: np.ndarray, factor: float) -> np.ndarray:
    """Return audio played `factor` times faster (pitch moves with it)."""
    up = 100
    down = max(1, round(up * factor))
    return resample_poly(audio, up, down).astype(np.float32)


def room(rng: np.random.Generator) -> np.ndarray:
    """Return a synthetic room impulse response: a direct path and a decaying noise tail."""
    rt60 = float(rng.uniform(0.15, 0.6))
    length = int(rt60 * RATE)
    t = np.arange(length) / RATE
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60) * float(rng.uniform(0.1, 0.5))
    tail[0] = 1.0
    return (tail / np.sqrt(np.sum(tail**2))).astype(np.float32)


@dataclass(frozen=True)
class Clip:
    """One synthesised clip: the audio, the per-step labels and where each phrase ended (s)."""

    audio: np.ndarray
    labels: np.ndarray
    phrase_ends: tuple[float, ...]


def step_count(samples: int, settings: TriggerTrainSettings) -> int:
    """Return the model's output steps for a clip of `samples` samples."""
    frames = 1 + (samples - settings.n_fft) // settings.hop
    return max(0, (frames - settings.conv_kernel) // settings.conv_stride + 1)


def step_ends(steps: int, settings: TriggerTrainSettings) -> np.ndarray:
    """Return the time (s) at which each output step's receptive field ends."""
    last = np.arange(steps) * settings.conv_stride + settings.conv_kernel - 1
    return (last * settings.hop + settings.n_fft) / RATE


def labels_for(ends: list[float], samples: int, settings: TriggerTrainSettings) -> np.ndarray:
    """Return per-step labels: 1 for steps ending within label_seconds after a phrase ended."""
    times = step_ends(step_count(samples, settings), settings)
    labels = np.zeros(len(times), np.float32)
    for end in ends:
        labels[(times > end) & (times <= end + settings.label_seconds)] = 1.0
    return labels


def _place(lengths: list[int], total: int, rng: np.random.Generator) -> list[int] | None:
    """Return random non-overlapping start samples for segments (None when they do not fit)."""
    gap = RATE // 10
    starts: list[tuple[int, int]] = []
    for length in lengths:
        for _ in range(50):
            start = int(rng.integers(0, max(1, total - length)))
            if all(start + length + gap <= s or start >= e + gap for s, e in starts):
                starts.append((start, start + length))
                break
        else:
            return None
    return [s for s, _ in starts]


def make_clip(bank: WordBank, settings: TriggerTrainSettings, rng: np.random.Generator) -> Clip:
    """Return one clip: a background, phrases and other words at random places and gains."""
    total = int(settings.clip_seconds * RATE)
    background = bank.backgrounds[int(rng.integers(len(bank.backgrounds)))].audio
    if len(background) < total:
        background = np.tile(background, total // len(background) + 1)
    offset = int(rng.integers(0, len(background) - total + 1))
    clip = background[offset : offset + total] * 10 ** (float(rng.uniform(-10, 3)) / 20)
    n_pos = 0
    if bank.positives and rng.random() < settings.positive_share:
        n_pos = int(rng.integers(1, settings.positives_max + 1))
    n_neg = int(rng.integers(0, settings.negatives_max + 1)) if bank.negatives else 0
    chosen = [(True, bank.positive(settings.real_positive_share, rng)) for _ in range(n_pos)]
    chosen += [(False, bank.negative(settings.negatives_by_group, rng)) for _ in range(n_neg)]
    pieces = []
    for positive, word in chosen:
        speed = float(rng.uniform(1 - settings.speed_range, 1 + settings.speed_range))
        gain = 10 ** (float(rng.uniform(*settings.gain_db_range)) / 20)
        audio = change_speed(word.audio, speed)
        if rng.random() < settings.voice_share:
            audio = voice_change(audio, settings, rng)
        if rng.random() < settings.lowpass_share:
            cutoff = float(rng.uniform(*settings.lowpass_hz))
            audio = sosfilt(butter(6, cutoff, fs=RATE, output="sos"), audio).astype(np.float32)
        peak = float(np.max(np.abs(audio))) or 1.0
        pieces.append((positive, audio / peak * gain))
    while pieces and (starts := _place([len(p) for _, p in pieces], total, rng)) is None:
        pieces.pop()
    ends = []
    clip = clip.astype(np.float32).copy()
    for (positive, audio), start in zip(pieces, starts if pieces else [], strict=False):
        clip[start : start + len(audio)] += audio
        if positive:
            ends.append((start + len(audio)) / RATE)
    if rng.random() < settings.reverb_share:
        clip = fftconvolve(clip, room(rng))[:total].astype(np.float32)
    if rng.random() < settings.noise_share:
        level = 10 ** (float(rng.uniform(-60, -30)) / 20)
        clip = clip + noise(total, ("white", "pink")[int(rng.integers(2))], rng) * level
    clip = np.clip(clip, -1.0, 1.0).astype(np.float32)
    return Clip(clip, labels_for(ends, total, settings), tuple(sorted(ends)))


def clip_set(
    bank: WordBank, count: int, settings: TriggerTrainSettings, seed: int
) -> tuple[np.ndarray, np.ndarray, list[tuple[float, ...]]]:
    """Return features (clips x frames x bins, float16), labels (clips x steps) and phrase ends."""
    rng = np.random.default_rng(seed)
    feats, labels, ends = [], [], []
    for _ in range(count):
        clip = make_clip(bank, settings, rng)
        feats.append(spectrogram(clip.audio, settings.n_fft, settings.hop).astype(np.float16))
        labels.append(clip.labels)
        ends.append(clip.phrase_ends)
    return np.stack(feats), np.stack(labels), ends


def manifest_digest(manifest: dict[str, Any]) -> str:
    """Return the sha256 of a manifest's canonical JSON."""
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()


def split(words: list[Word], share: float, rng: np.random.Generator) -> tuple[list[Word], ...]:
    """Return (train, held-out) with about `share` of the words held out (at least one each)."""
    order = rng.permutation(len(words))
    cut = min(len(words) - 1, max(1, round(len(words) * share))) if len(words) > 1 else 0
    return [words[i] for i in order[cut:]], [words[i] for i in order[:cut]] or list(words)
