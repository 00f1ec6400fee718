"""`facegate train-trigger`: synthesise clips, train the trigger net, pick a threshold, export."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from facegate.audio.trigger import Detector
from facegate.settings import AudioSettings, TriggerTrainSettings
from facegate.training.trigger_data import (
    WordBank,
    clip_set,
    espeak_words,
    flite_words,
    manifest_digest,
    real_words,
    sha256_file,
    split,
    step_ends,
    synthetic_backgrounds,
)
from facegate.training.trigger_model import TriggerNet, export_onnx, zero_state

HELD_OUT_SHARE = 0.15  # of every word source, kept for the held-out clips


@dataclass(frozen=True)
class TriggerSources:
    """What a trigger model is trained from, besides espeak-ng's voices."""

    phrase: str
    real_positives: tuple[Path, ...] = ()
    real_negatives: tuple[Path, ...] = ()
    backgrounds: tuple[Path, ...] = ()
    data_root: Path | None = None  # manifest paths are written relative to this


def build_banks(
    sources: TriggerSources, settings: TriggerTrainSettings, rng: np.random.Generator
) -> tuple[WordBank, WordBank]:
    """Return the training and held-out word banks (every source split the same way)."""
    phrase_words = set(sources.phrase.lower().split())
    others = [w for w in settings.negative_words if w.lower() not in phrase_words]
    negatives = list(sources.real_negatives)
    if len(negatives) > settings.max_real_negatives:
        keep = rng.permutation(len(negatives))[: settings.max_real_negatives]
        negatives = [negatives[i] for i in sorted(keep)]
    groups = {
        "positives": [
            espeak_words([sources.phrase], settings.phrase_renderings, settings, rng),
            flite_words([sources.phrase], settings.flite_renderings, settings, rng),
            real_words(list(sources.real_positives), settings, sources.data_root),
        ],
        "negatives": [
            espeak_words(others, settings.words_per_negative, settings, rng),
            flite_words(others, settings.flite_per_negative, settings, rng),
            real_words(negatives, settings, sources.data_root),
        ],
        "backgrounds": [
            real_words(list(sources.backgrounds), settings, sources.data_root),
            synthetic_backgrounds(6, settings.clip_seconds, rng),
        ],
    }
    train, held = WordBank(), WordBank()
    for role, lists in groups.items():
        for words in lists:
            if not words:
                continue
            a, b = split(words, HELD_OUT_SHARE, rng) if role != "backgrounds" else (words, words)
            getattr(train, role).extend(a)
            getattr(held, role).extend(b)
    return train, held


def detections(
    scores: np.ndarray, times: np.ndarray, threshold: float, audio: AudioSettings
) -> list[float]:
    """Return the phrase-end times the runtime detector reports for a clip's step scores."""
    detector = Detector(threshold, audio.hold_steps, audio.refractory_s)
    found = []
    for score, at in zip(scores, times, strict=True):
        hit = detector.update(float(score), float(at))
        if hit is not None:
            found.append(hit[0])
    return found


def score_events(
    found: list[list[float]], ends: list[tuple[float, ...]], tolerance: float
) -> tuple[int, int, int]:
    """Return (phrases, phrases detected, false detections) over a set of clips."""
    phrases = hits = false = 0
    for got, truth in zip(found, ends, strict=True):
        phrases += len(truth)
        matched = set()
        for at in got:
            near = [i for i, e in enumerate(truth) if abs(at - e) <= tolerance and i not in matched]
            if near:
                matched.add(near[0])
            else:
                false += 1
        hits += len(matched)
    return phrases, hits, false


def threshold_row(
    scores: np.ndarray,
    ends: list[tuple[float, ...]],
    threshold: float,
    settings: TriggerTrainSettings,
    audio: AudioSettings,
) -> dict[str, Any]:
    """Return detection and false detections (count, per hour) of clips at one threshold."""
    times = step_ends(scores.shape[1], settings)
    hours = len(scores) * settings.clip_seconds / 3600
    found = [detections(s, times, threshold, audio) for s in scores]
    phrases, hits, false = score_events(found, ends, settings.match_tolerance_s)
    return {
        "threshold": threshold,
        "phrases": phrases,
        "detected": hits,
        "detection_rate": hits / max(phrases, 1),
        "false": false,
        "false_per_hour": false / hours,
    }


def choose_threshold(
    scores: np.ndarray,
    ends: list[tuple[float, ...]],
    settings: TriggerTrainSettings,
    audio: AudioSettings,
) -> dict[str, Any]:
    """Return the lowest threshold within the false-detection budget, with its figures."""
    best: dict[str, Any] | None = None
    for threshold in (*np.round(np.arange(0.30, 0.96, 0.05), 2), 0.97, 0.98, 0.99, 0.995, 0.998):
        row = threshold_row(scores, ends, float(threshold), settings, audio)
        false = row["false"]
        if (
            best is None
            or (
                row["false_per_hour"] <= settings.target_false_per_hour
                and (
                    best["false_per_hour"] > settings.target_false_per_hour
                    or row["detection_rate"] > best["detection_rate"]
                )
            )
            or (best["false_per_hour"] > settings.target_false_per_hour and false < best["false"])
        ):
            best = row
    assert best is not None
    return best


def predict(model: TriggerNet, feats: np.ndarray, batch: int = 32) -> np.ndarray:
    """Return per-step scores for clips of features (eval mode, zero start state)."""
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(feats), batch):
            x = torch.from_numpy(feats[i : i + batch].astype(np.float32))
            out.append(model(x, zero_state(model, len(x)))[0].numpy())
    return np.concatenate(out)


def augment_batch(
    feats: np.ndarray, settings: TriggerTrainSettings, rng: np.random.Generator
) -> np.ndarray:
    """Return a batch's spectrograms warped along frequency and partly masked (SpecAugment)."""
    out = feats.astype(np.float32)
    bins = out.shape[2]
    grid = np.arange(bins, dtype=np.float32)
    for clip in out:
        alpha = float(rng.uniform(1 - settings.freq_warp, 1 + settings.freq_warp))
        source = np.clip(grid / alpha, 0, bins - 1)
        low = np.floor(source).astype(int)
        high = np.minimum(low + 1, bins - 1)
        frac = source - low
        clip[:] = clip[:, low] * (1 - frac) + clip[:, high] * frac
        fill = float(clip.mean())
        for _ in range(2):
            width = int(rng.integers(0, settings.freq_mask_bins + 1))
            start = int(rng.integers(0, bins - width + 1))
            clip[:, start : start + width] = fill
            span = int(rng.integers(0, settings.time_mask_frames + 1))
            first = int(rng.integers(0, len(clip) - span + 1))
            clip[first : first + span] = fill
    return out


def train_net(
    feats: np.ndarray,
    labels: np.ndarray,
    settings: TriggerTrainSettings,
    progress: Callable[[str], None] | None = None,
) -> TriggerNet:
    """Return a trigger net trained on clips (features float16, per-step labels)."""
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    model = TriggerNet(feats.shape[2], settings)
    sample = feats[:: max(1, len(feats) // 200)].astype(np.float32).reshape(-1, feats.shape[2])
    model.set_normalisation(sample.mean(axis=0), sample.std(axis=0))
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    steps_per_epoch = max(1, len(feats) // settings.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, settings.learning_rate, total_steps=settings.epochs * steps_per_epoch
    )
    weight = torch.tensor(settings.positive_weight)
    rng = np.random.default_rng(settings.seed)
    for epoch in range(settings.epochs):
        model.train()
        order = rng.permutation(len(feats))
        total = 0.0
        for b in range(steps_per_epoch):
            idx = order[b * settings.batch_size : (b + 1) * settings.batch_size]
            x = torch.from_numpy(augment_batch(feats[idx], settings, rng))
            y = torch.from_numpy(labels[idx])
            logits, _ = model.logits(x, zero_state(model, len(idx)))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, y, pos_weight=weight
            )
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()
            schedule.step()
            total += loss.item()
        if progress is not None:
            progress(f"epoch {epoch + 1}/{settings.epochs}: loss {total / steps_per_epoch:.4f}")
    return model


def train_trigger(
    sources: TriggerSources,
    out: Path,
    settings: TriggerTrainSettings,
    audio: AudioSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train a trigger model for a phrase; write out (.onnx), its card (.json) and manifest."""
    audio = audio or AudioSettings()
    started = time.perf_counter()
    rng = np.random.default_rng(settings.seed)
    train_bank, held_bank = build_banks(sources, settings, rng)
    if not train_bank.positives or not train_bank.backgrounds:
        raise ValueError("training needs phrase utterances and at least one background")
    manifest = {
        "phrase": sources.phrase,
        "seed": settings.seed,
        "settings": settings.model_dump(mode="json"),
        "train": train_bank.manifest(),
        "held_out": held_bank.manifest(),
    }
    digest = manifest_digest(manifest)
    if progress is not None:
        progress(
            f"{len(train_bank.positives)} phrase and {len(train_bank.negatives)} other "
            f"utterances; synthesising {settings.train_clips} clips"
        )
    feats, labels, _ = clip_set(train_bank, settings.train_clips, settings, settings.seed + 1)
    val_feats, _, val_ends = clip_set(held_bank, settings.val_clips, settings, settings.seed + 2)
    synth_s = time.perf_counter() - started
    model = train_net(feats, labels, settings, progress)
    val_scores = predict(model, val_feats)
    held = choose_threshold(val_scores, val_ends, settings, audio)
    real_bank = held_bank.real_only()
    real = None
    if real_bank.negatives and real_bank.backgrounds:
        real_feats, _, real_ends = clip_set(
            real_bank, settings.val_clips, settings, settings.seed + 3
        )
        real = choose_threshold(predict(model, real_feats), real_ends, settings, audio)
        held = threshold_row(val_scores, val_ends, real["threshold"], settings, audio)
    out.parent.mkdir(parents=True, exist_ok=True)
    export_onnx(model, out)
    manifest_path = out.with_suffix(".manifest.json")
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    card = {
        "phrase": sources.phrase,
        "n_fft": settings.n_fft,
        "hop": settings.hop,
        "sample_rate": audio.sample_rate,
        "conv_kernel": settings.conv_kernel,
        "conv_stride": settings.conv_stride,
        "state_shape": [settings.gru_layers, 1, settings.gru_hidden],
        "threshold": held["threshold"],
        "onnx_sha256": sha256_file(out),
        "onnx_bytes": out.stat().st_size,
        "parameters": sum(p.numel() for p in model.parameters()),
        "manifest": manifest_path.name,
        "manifest_sha256": digest,
        "held_out_synthetic": held,
        "held_out_real_non_phrase": real,
        "threshold_from": "held-out real non-phrase clips" if real else "held-out synthetic clips",
        "train_clips": settings.train_clips,
        "held_out_clips": settings.val_clips,
        "synthesis_seconds": round(synth_s, 1),
        "train_seconds": round(time.perf_counter() - started - synth_s, 1),
        "torch": torch.__version__,
        "settings": settings.model_dump(mode="json"),
    }
    out.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n")
    return card
