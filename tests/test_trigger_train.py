"""Training the trigger model: clip synthesis and labels, a few steps, ONNX equals torch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from facegate.audio.trigger import StreamingTrigger, load_card
from facegate.settings import TriggerTrainSettings
from facegate.training.trigger_data import (
    RATE,
    Word,
    WordBank,
    clip_set,
    espeak_words,
    labels_for,
    make_clip,
    step_ends,
)

torch = pytest.importorskip("torch")

TINY = TriggerTrainSettings(
    conv_channels=8, gru_hidden=8, train_clips=8, val_clips=4, epochs=1, batch_size=4
)


def tone_bank(rng: np.random.Generator) -> WordBank:
    """Return a bank of synthetic 'words': 1 kHz tones as the phrase, noise bursts as others."""
    t = np.arange(int(0.6 * RATE)) / RATE
    phrase = Word((0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), {"tone": 1000})
    other = Word((0.3 * rng.standard_normal(len(t) // 2)).astype(np.float32), {"noise": 1})
    quiet = Word((0.001 * rng.standard_normal(RATE * 10)).astype(np.float32), {"bg": 1})
    return WordBank([phrase], [other], [quiet])


def test_labels_are_one_right_after_each_phrase_end() -> None:
    settings = TriggerTrainSettings()
    samples = int(settings.clip_seconds * RATE)
    labels = labels_for([2.0, 7.5], samples, settings)
    times = step_ends(len(labels), settings)
    ones = times[labels == 1]
    assert len(labels) == 247
    assert set(np.round(ones[ones < 5], 2)) == set(np.round(times[(times > 2) & (times <= 2.5)], 2))
    assert ones.min() > 2.0 and ones.max() <= 8.0
    assert abs(len(ones) - 2 * settings.label_seconds / 0.04) <= 2


def test_synthesised_clip_places_phrases_and_labels_them() -> None:
    rng = np.random.default_rng(1)
    bank = tone_bank(rng)
    settings = TriggerTrainSettings(positive_share=1.0, reverb_share=0.0, noise_share=0.0)
    clip = make_clip(bank, settings, rng)
    assert len(clip.audio) == 10 * RATE and clip.phrase_ends
    times = step_ends(len(clip.labels), settings)
    for end in clip.phrase_ends:  # the tone really ends there: loud before, quiet after
        before = clip.audio[int((end - 0.1) * RATE) : int(end * RATE)]
        after = clip.audio[int(end * RATE) + 80 : int((end + 0.05) * RATE)]
        assert np.abs(before).max() > 5 * np.abs(after).max()
        assert clip.labels[(times > end) & (times <= end + settings.label_seconds)].all()
    assert clip.labels.sum() <= len(clip.phrase_ends) * (settings.label_seconds / 0.04 + 1)
    a = clip_set(bank, 3, settings, seed=5)
    b = clip_set(bank, 3, settings, seed=5)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_espeak_renders_distinct_trimmed_words() -> None:
    words = espeak_words(
        ["activate"], 3, TriggerTrainSettings(espeak_voices=5), np.random.default_rng(0)
    )
    assert len(words) == 3
    for word in words:
        assert 0.3 < len(word.audio) / RATE < 2.0
        assert np.abs(word.audio[:160]).max() > 1e-3  # leading silence trimmed
        assert word.source["voice"] and word.source["sha256"]


def test_a_few_training_steps_and_onnx_equals_torch(tmp_path: Path) -> None:
    from facegate.training.trigger_model import export_onnx, zero_state
    from facegate.training.trigger_train import train_net

    rng = np.random.default_rng(0)
    bank = tone_bank(rng)
    feats, labels, _ = clip_set(bank, TINY.train_clips, TINY, seed=3)
    model = train_net(feats, labels, TINY)
    path = tmp_path / "trigger-tone.onnx"
    export_onnx(model, path)
    card = {
        "phrase": "tone",
        "n_fft": TINY.n_fft,
        "hop": TINY.hop,
        "conv_kernel": TINY.conv_kernel,
        "conv_stride": TINY.conv_stride,
        "state_shape": [TINY.gru_layers, 1, TINY.gru_hidden],
        "threshold": 0.5,
    }
    path.with_suffix(".json").write_text(json.dumps(card))
    x = feats[:1].astype(np.float32)
    model.eval()
    with torch.no_grad():
        reference = model(torch.from_numpy(x), zero_state(model, 1))[0].numpy()[0]
    stream = StreamingTrigger(load_card(path))
    chunks = [stream.push(x[0, i : i + 37]) for i in range(0, x.shape[1], 37)]
    streamed = np.concatenate(chunks)
    assert streamed.shape == reference.shape
    np.testing.assert_allclose(streamed, reference, atol=1e-4)


def test_voice_change_moves_every_partial_and_keeps_length_and_peak() -> None:
    from facegate.training.trigger_voice import voice_change

    tone = (0.4 * np.sin(2 * np.pi * 1000 * np.arange(RATE) / RATE)).astype(np.float32)
    for whisper in (0.0, 1.0):
        settings = TriggerTrainSettings(
            voice_warp=(1.2, 1.2), voice_eq_db=0.0, whisper_share=whisper
        )
        out = voice_change(tone, settings, np.random.default_rng(0))
        assert len(out) == len(tone)
        assert np.abs(out).max() == pytest.approx(0.4, rel=1e-4)
        spectrum = np.abs(np.fft.rfft(out[2000:-2000]))
        freqs = np.fft.rfftfreq(len(out) - 4000, 1 / RATE)
        assert abs(freqs[np.argmax(spectrum)] - 1200) < 20
    lower = voice_change(
        tone, TriggerTrainSettings(voice_warp=(0.85, 0.85)), np.random.default_rng(0)
    )
    spectrum = np.abs(np.fft.rfft(lower[2000:-2000]))
    assert abs(np.fft.rfftfreq(len(lower) - 4000, 1 / RATE)[np.argmax(spectrum)] - 850) < 20


def test_real_phrases_are_drawn_at_their_share_and_real_only_keeps_recordings() -> None:
    rng = np.random.default_rng(0)
    bank = tone_bank(rng)
    real = Word(bank.positives[0].audio, {"path": "activates/1.wav", "sha256": "x"})
    bank.positives.extend([real] + [Word(bank.positives[0].audio, {"tone": i}) for i in range(8)])
    bank.negatives.append(Word(bank.negatives[0].audio, {"path": "negatives/1.wav"}))
    drawn = [bank.positive(0.5, rng) is real for _ in range(2000)]
    assert 0.45 < np.mean(drawn) < 0.55  # not 1 in 10, as drawing from all phrases would be
    assert not any(bank.positive(0.0, rng) is real for _ in range(200))
    only_real = WordBank(positives=[real])
    assert all(only_real.positive(0.0, rng) is real for _ in range(5))
    kept = bank.real_only()
    assert kept.positives == [] and kept.backgrounds == []
    assert [w.source["path"] for w in kept.negatives] == ["negatives/1.wav"]


def test_threshold_is_the_lowest_within_the_false_accept_budget() -> None:
    from facegate.settings import AudioSettings
    from facegate.training.trigger_train import choose_threshold

    settings = TriggerTrainSettings()
    scores = np.full((100, 247), 0.2, np.float32)  # 100 clips of 10 s: 0.28 h, no phrase
    scores[7, 50:55] = 0.82  # one burst: a false accept (3.6 per hour) below 0.85
    row = choose_threshold(scores, [()] * 100, settings, AudioSettings())
    assert row["threshold"] == 0.85 and row["false"] == 0 and row["phrases"] == 0
    scores[8, 100:105] = 0.999  # a false accept at every threshold: the fewest wins
    row = choose_threshold(scores, [()] * 100, settings, AudioSettings())
    assert row["threshold"] == 0.85 and row["false"] == 1


def test_other_words_are_drawn_group_by_group() -> None:
    rng = np.random.default_rng(0)
    audio = np.zeros(800, np.float32)
    many = [Word(audio, {"path": f"fsdd/{i}_x_0.wav"}) for i in range(60)]
    few = [Word(audio, {"path": f"cs230/negatives/{i}.wav"}) for i in range(2)]
    synth = [Word(audio, {"espeak": "door"}) for _ in range(18)]
    bank = WordBank(negatives=many + few + synth)
    drawn = [bank.negative(True, rng) for _ in range(3000)]
    share = np.mean([w in few for w in drawn])
    assert 0.29 < share < 0.38  # a third: three groups (fsdd, cs230/negatives, espeak)
    plain = np.mean([bank.negative(False, rng) in few for _ in range(3000)])
    assert plain < 0.05  # 2 of 80 words
