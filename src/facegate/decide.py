"""Decisions over embeddings: 1:1 verify and 1:N identify with an 'unknown' answer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from facegate.gallery.types import EmbeddingSet


def distances(probe: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Return the Euclidean distance from one unit probe vector to each row of vectors."""
    if len(vectors) == 0:
        return np.zeros(0, dtype=np.float32)
    return np.linalg.norm(vectors - probe[None, :], axis=1)


@dataclass(frozen=True)
class VerifyDecision:
    """The 1:1 answer: accepted or not, the nearest distance, and the threshold used."""

    accepted: bool
    distance: float
    threshold: float


@dataclass(frozen=True)
class IdentifyDecision:
    """The 1:N answer: the person (None = unknown), the distance, and the runner-up."""

    person: str | None
    distance: float
    threshold: float
    nearest: str | None
    runner_up: str | None
    runner_up_distance: float | None


def verify_embedding(probe: np.ndarray, claimed: EmbeddingSet, threshold: float) -> VerifyDecision:
    """Return whether the probe is within threshold of the claimed person's nearest vector."""
    nearest = float(distances(probe, claimed.vectors).min())
    return VerifyDecision(accepted=nearest <= threshold, distance=nearest, threshold=threshold)


def identify_embedding(
    probe: np.ndarray, gallery: EmbeddingSet, threshold: float, k: int = 1
) -> IdentifyDecision:
    """Return the enrolled person nearest the probe, or unknown (None).

    The person is named only when the nearest vector is within the threshold and the k nearest
    vectors within the threshold (at most the nearest person's own count) all belong to that person.
    """
    if len(gallery) == 0:
        return IdentifyDecision(None, float("inf"), threshold, None, None, None)
    dist = distances(probe, gallery.vectors)
    order = np.argsort(dist)
    nearest_name = gallery.names[order[0]]
    nearest = float(dist[order[0]])
    others = [i for i in order if gallery.names[i] != nearest_name]
    runner_up = gallery.names[others[0]] if others else None
    runner_up_distance = float(dist[others[0]]) if others else None
    owned = Counter(gallery.names)[nearest_name]
    voters = [gallery.names[i] for i in order[: min(k, owned)] if dist[i] <= threshold]
    agreed = len(voters) == min(k, owned) and set(voters) == {nearest_name}
    person = nearest_name if nearest <= threshold and agreed else None
    return IdentifyDecision(person, nearest, threshold, nearest_name, runner_up, runner_up_distance)
