"""Decision rules: verify against the claimed person, identify with 'unknown' and the k rule."""

from __future__ import annotations

import numpy as np
import pytest

from facegate.decide.match import distances, identify_embedding, verify_embedding
from facegate.gallery import EmbeddingSet


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture
def gallery() -> EmbeddingSet:
    names = ["ada", "ada", "ada", "bob", "bob", "cy"]
    vectors = np.stack(
        [
            unit(1, 0, 0),
            unit(1, 0.1, 0),
            unit(1, 0, 0.1),
            unit(0, 1, 0),
            unit(0.1, 1, 0),
            unit(0, 0, 1),
        ]
    )
    return EmbeddingSet(names, vectors)


def test_distances_are_euclidean(gallery: EmbeddingSet) -> None:
    d = distances(unit(1, 0, 0), gallery.vectors)
    assert d[0] == pytest.approx(0.0, abs=1e-6)
    assert d[3] == pytest.approx(np.sqrt(2), abs=1e-6)


def test_verify_uses_the_nearest_of_the_claimed_person(gallery: EmbeddingSet) -> None:
    ada = EmbeddingSet(gallery.names[:3], gallery.vectors[:3])
    accepted = verify_embedding(unit(1, 0.05, 0), ada, threshold=0.3)
    assert accepted.accepted and accepted.distance < 0.06
    rejected = verify_embedding(unit(0, 1, 0), ada, threshold=0.3)
    assert not rejected.accepted and rejected.distance > 1.0


def test_identify_names_the_nearest_within_threshold(gallery: EmbeddingSet) -> None:
    decision = identify_embedding(unit(0.05, 1, 0), gallery, threshold=0.3)
    assert decision.person == "bob" and decision.runner_up in {"ada", "cy"}


def test_identify_says_unknown_when_nobody_is_close(gallery: EmbeddingSet) -> None:
    decision = identify_embedding(unit(1, 1, 1), gallery, threshold=0.3)
    assert decision.person is None and decision.nearest is not None
    assert decision.distance > 0.3


def test_identify_on_empty_gallery_is_unknown() -> None:
    decision = identify_embedding(unit(1, 0, 0), EmbeddingSet.empty(), threshold=0.5)
    assert decision.person is None and decision.distance == float("inf")


def test_k_rule_needs_all_k_nearest_to_agree(gallery: EmbeddingSet) -> None:
    probe = unit(1, 0.05, 0.02)
    assert identify_embedding(probe, gallery, threshold=0.3, k=3).person == "ada"
    # bob has two vectors within reach of this probe only if the threshold is loose
    between = unit(0.7, 0.7, 0)
    assert identify_embedding(between, gallery, threshold=2.0, k=1).person is not None
    assert identify_embedding(between, gallery, threshold=2.0, k=3).person is None


def test_k_is_capped_by_the_persons_own_count(gallery: EmbeddingSet) -> None:
    assert identify_embedding(unit(0, 0.05, 1), gallery, threshold=0.3, k=3).person == "cy"
