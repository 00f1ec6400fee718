"""Verification metrics against brute-force definitions on synthetic distances."""

from __future__ import annotations

import numpy as np
import pytest

from facegate.evaluate.metrics import accuracy_at, best_threshold, kfold_accuracy, roc_curve


@pytest.fixture
def scores() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    same = np.repeat([True, False], 300)
    dist = np.where(same, rng.normal(0.4, 0.1, 600), rng.normal(0.8, 0.1, 600))
    return dist, same


def test_best_threshold_matches_brute_force(scores: tuple[np.ndarray, np.ndarray]) -> None:
    dist, same = scores
    brute = max(accuracy_at(dist, same, t) for t in np.unique(dist))
    assert accuracy_at(dist, same, best_threshold(dist, same)) == pytest.approx(brute)


def test_kfold_chooses_threshold_without_the_held_fold(
    scores: tuple[np.ndarray, np.ndarray],
) -> None:
    dist, same = scores
    folds = np.arange(600) % 10
    result = kfold_accuracy(dist, same, folds)
    assert len(result.accuracies) == 10
    for fold, threshold in enumerate(result.thresholds):
        rest = folds != fold
        assert threshold == pytest.approx(best_threshold(dist[rest], same[rest]))
    assert 0.95 < np.mean(result.accuracies) < 1.0


def test_missing_faces_count_as_different() -> None:
    dist = np.array([0.1, np.inf, 0.9, np.inf])
    same = np.array([True, True, False, False])
    assert accuracy_at(dist, same, 0.5) == 0.75


def test_roc_endpoints_auc_and_eer(scores: tuple[np.ndarray, np.ndarray]) -> None:
    dist, same = scores
    roc = roc_curve(dist, same)
    assert roc.far[0] == 0 and roc.tar[-1] == 1 and roc.far[-1] == 1
    assert np.all(np.diff(roc.far) >= 0) and np.all(np.diff(roc.tar) >= 0)
    assert 0.98 < roc.auc() <= 1.0
    assert 0.0 < roc.eer() < 0.05
    perfect = roc_curve(np.array([0.1, 0.2, 0.8, 0.9]), np.array([True, True, False, False]))
    assert perfect.auc() == pytest.approx(1.0) and perfect.eer() == 0.0
    assert perfect.tar_at_far(1e-3) == 1.0
