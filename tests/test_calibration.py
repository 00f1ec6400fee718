"""The 1:N threshold: impostor-tail fitting, the gallery-size rule, and its use by identify."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from facegate import api
from facegate.decide.threshold import (
    IMPOSTOR_TAIL_PATH,
    ImpostorTail,
    fit_impostor_tail,
    identify_threshold,
    shipped_tail,
    tail_path,
    threshold_for_gallery,
)
from facegate.errors import SettingsError
from facegate.settings import DecideSettings, load_settings


def random_unit_vectors(rows: int, dims: int = 16, seed: int = 0) -> np.ndarray:
    """Return rows random unit vectors."""
    vectors = np.random.default_rng(seed).normal(size=(rows, dims))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_fitted_tail_matches_the_empirical_impostor_rates() -> None:
    vectors = random_unit_vectors(300)
    tail = fit_impostor_tail(vectors, source="random")
    assert tail.pairs == 300 * 299 // 2
    assert tail.far[0] == pytest.approx(0.1) and tail.far[-1] * tail.pairs >= 10
    assert list(tail.distance) == sorted(tail.distance, reverse=True)
    gram = vectors @ vectors.T
    dist = np.sqrt(np.clip(2 - 2 * gram[np.triu_indices(300, 1)], 0, None))
    for far, threshold in zip(tail.far, tail.distance, strict=True):
        assert (dist <= threshold + 1e-5).mean() == pytest.approx(far, rel=0.05, abs=2e-4)


def test_distance_at_interpolates_and_extends_the_tail() -> None:
    tail = ImpostorTail((0.1, 0.01, 0.001), (0.5, 0.4, 0.35), "e", "s", 10_000)
    assert tail.distance_at(0.01) == pytest.approx(0.4)
    assert tail.distance_at(10**-1.5) == pytest.approx(0.45)
    assert tail.distance_at(0.5) == pytest.approx(0.5)  # above the table: its first distance
    assert tail.distance_at(0.0001) == pytest.approx(0.30)  # the last decade's slope, extended


def test_identify_threshold_falls_with_gallery_size_and_is_capped() -> None:
    tail = shipped_tail()
    sizes = [1, 10, 100, 1000, 100_000]
    strict = [identify_threshold(n, 0.001, tail, cap=0.42) for n in sizes]
    assert strict == sorted(strict, reverse=True) and len(set(strict)) == len(sizes)
    assert all(0.1 < t <= 0.42 for t in strict)
    assert identify_threshold(1, 0.05, tail, cap=0.42) == 0.42  # never above the 1:1 threshold
    assert identify_threshold(0, 0.001, tail, cap=0.42) == 0.42
    assert identify_threshold(100, 0.01, tail, cap=0.42) > identify_threshold(
        100, 0.001, tail, cap=0.42
    )
    # per comparison, 1 - (1 - FPIR)^(1/N): 100 vectors at FPIR 1 % -> ~1e-4 (0.336 on LFW)
    assert identify_threshold(100, 0.01, tail, cap=0.42) == pytest.approx(
        tail.distance_at(1.005e-4), abs=1e-3
    )


def test_shipped_tail_is_the_default_embedders() -> None:
    tail = shipped_tail()
    data = json.loads(IMPOSTOR_TAIL_PATH.read_text())
    assert tail.embedder == data["embedder"] == "dlib-resnet-v1"
    assert tail.pairs > 1_000_000 and len(tail.far) >= 10
    assert tail.distance_at(0.01) == pytest.approx(0.42, abs=0.01)  # the 1:1 FAR at 0.42


def test_a_fixed_identify_threshold_overrides_the_fpir_rule() -> None:
    assert threshold_for_gallery(DecideSettings(identify_threshold=0.3), 500) == 0.3
    fixed = DecideSettings(identify_threshold=0.3)
    assert threshold_for_gallery(fixed, 500, "onnx-head:abc") == 0.3
    with pytest.raises(SettingsError, match="no impostor-distance table for it"):
        threshold_for_gallery(DecideSettings(), 500, "onnx-head:abc")
    loose = threshold_for_gallery(DecideSettings(identify_fpir=0.01), 50)
    strict = threshold_for_gallery(DecideSettings(identify_fpir=0.001), 50)
    assert strict < loose < 0.42


def test_a_trained_models_table_sits_beside_it_and_must_name_it(tmp_path: Path) -> None:
    """model.impostor.json is used for that model's embedder name only (a stale one is refused)."""
    model = tmp_path / "cnn.onnx"
    model.write_bytes(b"weights")
    tail = ImpostorTail((0.1, 0.01, 0.001), (0.9, 0.8, 0.7), "onnx-cnn:abc", "dev people", 1000)
    tail.save(tail_path(model))
    threshold = threshold_for_gallery(DecideSettings(threshold=2.0), 10, "onnx-cnn:abc", model)
    assert threshold == pytest.approx(tail.distance_at(-math.expm1(math.log1p(-0.001) / 10)))
    with pytest.raises(SettingsError, match=r"cnn\.impostor\.json"):
        threshold_for_gallery(DecideSettings(), 10, "onnx-cnn:retrained", model)


def test_a_broken_table_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="impostor-distance table"):
        ImpostorTail.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"far": [0.1]}')
    with pytest.raises(SettingsError, match="impostor-distance table"):
        ImpostorTail.load(bad)
    tail = ImpostorTail((0.1, 0.01), (0.5, 0.4), "e", "s", 100)
    tail.save(tmp_path / "t.json")
    assert ImpostorTail.load(tmp_path / "t.json") == tail


def test_identify_uses_the_gallery_size_threshold(
    tmp_path: Path, faces: dict[str, list[Path]]
) -> None:
    settings = load_settings(environ={})
    with api.open_gallery(tmp_path / "g.db", settings) as gallery:
        api.enroll(gallery, "Colin Powell", faces["Colin Powell"][:2], settings=settings)
        api.enroll(gallery, "Serena Williams", faces["Serena Williams"][:2], settings=settings)
        (result,) = api.identify(gallery, faces["Colin Powell"][3], settings)
    expected = identify_threshold(4, settings.decide.identify_fpir, shipped_tail(), 0.42)
    assert result.threshold == pytest.approx(expected) and result.threshold < 0.42
    assert result.person == "Colin Powell"
