"""Verification metrics: k-fold accuracy, ROC, AUC, TAR at a FAR, EER."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def accuracy_at(dist: np.ndarray, same: np.ndarray, threshold: float) -> float:
    """Return the fraction of pairs decided right when distance <= threshold means 'same'."""
    return float(np.mean((dist <= threshold) == same))


def best_threshold(dist: np.ndarray, same: np.ndarray) -> float:
    """Return the threshold that maximises accuracy on these pairs (midpoint between distances)."""
    finite = np.unique(dist[np.isfinite(dist)])
    if len(finite) == 0:
        return 0.0
    candidates = np.concatenate([[finite[0] - 1e-6], (finite[:-1] + finite[1:]) / 2, [finite[-1]]])
    order = np.argsort(dist, kind="stable")
    sorted_dist, sorted_same = dist[order], same[order]
    positives_below = np.concatenate([[0], np.cumsum(sorted_same)])
    below = np.searchsorted(sorted_dist, candidates, side="right")
    negatives_above = (~sorted_same).sum() - (below - positives_below[below])
    correct = positives_below[below] + negatives_above
    return float(candidates[int(np.argmax(correct))])


@dataclass(frozen=True)
class FoldResult:
    """k-fold accuracies and the threshold chosen for each held-out fold."""

    accuracies: list[float]
    thresholds: list[float]


def kfold_accuracy(dist: np.ndarray, same: np.ndarray, folds: np.ndarray) -> FoldResult:
    """Return per-fold accuracy with each fold's threshold chosen on the other folds."""
    accuracies, thresholds = [], []
    for fold in np.unique(folds):
        held = folds == fold
        if held.all():
            threshold = best_threshold(dist, same)
        else:
            threshold = best_threshold(dist[~held], same[~held])
        thresholds.append(threshold)
        accuracies.append(accuracy_at(dist[held], same[held], threshold))
    return FoldResult(accuracies, thresholds)


@dataclass(frozen=True)
class Roc:
    """A ROC curve: false accept rate and true accept rate at each threshold."""

    far: np.ndarray
    tar: np.ndarray
    thresholds: np.ndarray

    def auc(self) -> float:
        """Return the area under the curve."""
        return float(np.trapezoid(self.tar, self.far))

    def tar_at_far(self, far: float) -> float:
        """Return the highest TAR whose FAR does not exceed far."""
        ok = self.far <= far
        return float(self.tar[ok].max()) if ok.any() else 0.0

    def eer(self) -> float:
        """Return the equal error rate (where FAR = 1 - TAR)."""
        frr = 1.0 - self.tar
        index = int(np.argmin(np.abs(frr - self.far)))
        return float((frr[index] + self.far[index]) / 2)


def roc_curve(dist: np.ndarray, same: np.ndarray) -> Roc:
    """Return the ROC of 'same when distance <= t' over every distinct threshold t."""
    finite = np.unique(dist[np.isfinite(dist)])
    thresholds = np.concatenate([[-np.inf], finite])
    order = np.argsort(dist, kind="stable")
    sorted_dist, sorted_same = dist[order], same[order]
    accepted = np.searchsorted(sorted_dist, thresholds, side="right")
    true_accepts = np.concatenate([[0], np.cumsum(sorted_same)])[accepted]
    false_accepts = accepted - true_accepts
    positives = max(1, int(same.sum()))
    negatives = max(1, int((~same).sum()))
    far = np.concatenate([false_accepts / negatives, [1.0]])
    tar = np.concatenate([true_accepts / positives, [1.0]])
    return Roc(far=far, tar=tar, thresholds=np.concatenate([thresholds, [np.inf]]))
