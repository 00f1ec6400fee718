"""Decisions over embeddings: 1:1 verify and 1:N identify with an 'unknown' answer."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from facegate.gallery.types import EmbeddingSet, Neighbour


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


def identify_nearest(
    neighbours: Sequence[Neighbour], owned: int, threshold: float, k: int = 1
) -> IdentifyDecision:
    """Return identify_embedding's answer from the probe's nearest stored vectors (a search).

    neighbours: nearest first, at least max(k, owned) + 1 of them unless the gallery holds
    fewer; owned: how many vectors the nearest person has. Then the k voters and the runner-up
    (the nearest vector of anyone else) are among them, and the answer equals the full scan's.
    """
    if not neighbours:
        return IdentifyDecision(None, float("inf"), threshold, None, None, None)
    nearest = neighbours[0]
    others = [n for n in neighbours if n.name != nearest.name]
    runner_up = others[0] if others else None
    want = min(k, owned)
    voters = [n.name for n in neighbours[:want] if n.distance <= threshold]
    agreed = len(voters) == want and set(voters) == {nearest.name}
    person = nearest.name if nearest.distance <= threshold and agreed else None
    return IdentifyDecision(
        person,
        nearest.distance,
        threshold,
        nearest.name,
        runner_up.name if runner_up else None,
        runner_up.distance if runner_up else None,
    )


DistanceRule = Literal["mean_best", "median", "vote"]
FusionRule = Literal["mean_embedding", "mean_best", "median", "vote"]

# How the best-k frames of one approach become one decision. The default, "mean_embedding",
# averages the frames' unit embeddings into one template (renormalised) and identifies it once
# against the 1:N threshold (decide/threshold.py). Measured on motion-blurred LFW approaches
# (bench/best_frames.py: 75 people, 10 frames each, 1:N threshold 0.307, seeds 0 / 1), correct
# identifications: mean embedding of the best 5 frames 58.7 / 68.0 %, of the best 3 61.3 / 62.7 %;
# the single best frame 56.0 / 58.7 %; every distance rule over the best 5 42.7 / 29.3 % (each
# also needs a majority of frames to name the person, and a blurred frame rarely gets under a
# strict threshold alone); no impostor named by any rule (0 of 75). Averaging embeddings cancels
# per-frame noise (blur, pose, sensor) before the comparison instead of after it. The distance
# rules stay for comparison: "mean_best" (the mean of the smallest strict majority of
# distances), "median", and "vote" (the distance a strict majority of frames are within).
DEFAULT_FUSION: FusionRule = "mean_embedding"


def fuse_embeddings(vectors: np.ndarray) -> np.ndarray:
    """Return the unit-length mean of several frames' unit embeddings (one template)."""
    if len(vectors) == 0:
        raise ValueError("no embeddings to fuse")
    mean = np.asarray(vectors, dtype=np.float64).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    if norm < 1e-12:
        raise ValueError("embeddings cancel out: no direction to fuse")
    return (mean / norm).astype(np.float32)


def fuse_distances(distances: Sequence[float], rule: DistanceRule = "mean_best") -> float:
    """Return one distance for several frames' distances to the same person.

    mean_best: the mean of the smallest n//2 + 1 distances (a strict majority of the frames).
    median: the median. vote: the (n//2 + 1)-th smallest distance, i.e. the distance that a
    strict majority of the frames are within, so `fused <= threshold` is a majority vote.
    """
    if not distances:
        raise ValueError("no distances to fuse")
    ordered = sorted(float(d) for d in distances)
    majority = len(ordered) // 2 + 1
    if rule == "mean_best":
        return math.fsum(ordered[:majority]) / majority
    if rule == "vote":
        return ordered[majority - 1]
    if rule == "median":
        middle = len(ordered) // 2
        return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    raise ValueError(f"unknown fusion rule {rule!r}")


def fuse_verify(
    distances: Sequence[float], threshold: float, rule: DistanceRule = "mean_best"
) -> VerifyDecision:
    """Return the 1:1 decision of several frames: accepted when the fused distance is within."""
    fused = fuse_distances(distances, rule)
    return VerifyDecision(accepted=fused <= threshold, distance=fused, threshold=threshold)


def _distance_to(decision: IdentifyDecision, name: str) -> float:
    """Return one frame's distance to a person (inf when neither its nearest nor runner-up)."""
    if decision.nearest == name:
        return decision.distance
    if decision.runner_up == name and decision.runner_up_distance is not None:
        return decision.runner_up_distance
    return math.inf


def fuse_identify(
    decisions: Sequence[IdentifyDecision], threshold: float, rule: DistanceRule = "mean_best"
) -> IdentifyDecision:
    """Return the person a strict majority of frames named, with fused distance within threshold.

    Each frame's distance to a person is its nearest or runner-up distance, or inf when the
    person was neither (a frame that did not see them). The result names the agreed person and
    their fused distance; otherwise it is unknown (None), naming the person with the smallest
    fused distance as nearest. The runner-up is the next by fused distance.
    """
    names = {n for d in decisions for n in (d.nearest, d.runner_up) if n is not None}
    if not names:
        return IdentifyDecision(None, math.inf, threshold, None, None, None)
    fused = {
        name: fuse_distances([_distance_to(d, name) for d in decisions], rule) for name in names
    }
    votes = Counter(d.person for d in decisions if d.person is not None)
    leader, count = votes.most_common(1)[0] if votes else (None, 0)
    agreed = leader is not None and 2 * count > len(decisions) and fused[leader] <= threshold
    nearest = leader if agreed else min(sorted(names), key=fused.__getitem__)
    others = sorted((n for n in names if n != nearest), key=lambda n: (fused[n], n))
    runner_up = others[0] if others else None
    return IdentifyDecision(
        nearest if agreed else None,
        fused[nearest],
        threshold,
        nearest,
        runner_up,
        fused[runner_up] if runner_up is not None else None,
    )


def identify_frames(
    vectors: np.ndarray,
    gallery: EmbeddingSet,
    threshold: float,
    k: int = 1,
    rule: FusionRule = DEFAULT_FUSION,
) -> IdentifyDecision:
    """Return the 1:N decision for several frames of one face, fused by the rule."""
    if rule == "mean_embedding":
        return identify_embedding(fuse_embeddings(vectors), gallery, threshold, k)
    per_frame = [identify_embedding(v, gallery, threshold, k) for v in vectors]
    return fuse_identify(per_frame, threshold, rule)
