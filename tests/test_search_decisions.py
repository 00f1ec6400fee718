"""Identify through the gallery's search() decides exactly as the full scan, on both backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facegate import api
from facegate.decide.match import identify_embedding
from facegate.gallery import EmbeddingRecord
from facegate.settings import Settings
from facegate.stores import open_gallery

MODEL = "m"


def _unit(rows: np.ndarray) -> np.ndarray:
    """Return the rows scaled to unit length (float32)."""
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def _site(rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Return 60 people with 1-6 clustered vectors each, and probes: mates, blends, strangers."""
    centres = _unit(rng.normal(size=(60, 128)))
    people = {
        f"p{i:02d}": _unit(c + rng.normal(scale=0.03, size=(int(rng.integers(1, 7)), 128)))
        for i, c in enumerate(centres)
    }
    mates = _unit(centres[:30] + rng.normal(scale=0.035, size=(30, 128)))
    blends = _unit(centres[30:45] + centres[45:60] + rng.normal(scale=0.02, size=(15, 128)))
    strangers = _unit(rng.normal(size=(15, 128)))
    return people, np.concatenate([mates, blends, strangers])


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return an empty gallery's path or URL, on each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "g.db")
    return request.getfixturevalue("postgres").database()


def test_search_decisions_equal_the_full_scan(target: str) -> None:
    people, probes = _site(np.random.default_rng(7))
    with open_gallery(target, Settings()) as gallery:
        for name, vectors in people.items():
            records = [EmbeddingRecord(v, MODEL, "synthetic", 100, 50.0, 120.0) for v in vectors]
            gallery.add_person(name, records, "test")
        everyone = gallery.embeddings(MODEL)
        assert gallery.count(MODEL) == len(everyone) == sum(map(len, people.values()))
        named = 0
        for threshold in (0.3, 0.45, 0.6, 0.9):
            for k in (1, 3):
                for probe in probes:
                    exact = identify_embedding(probe, everyone, threshold, k)
                    found = api.identify_in(gallery, MODEL, probe, threshold, k)
                    assert (found.person, found.nearest, found.runner_up) == (
                        exact.person,
                        exact.nearest,
                        exact.runner_up,
                    )
                    assert found.distance == pytest.approx(exact.distance, abs=1e-5)
                    assert found.runner_up_distance == pytest.approx(
                        exact.runner_up_distance, abs=1e-5
                    )
                    named += found.person is not None
        assert 0 < named < len(probes) * 8  # both answers occur: the test can tell them apart


def test_search_identify_on_an_empty_gallery_is_unknown(tmp_path: Path) -> None:
    with open_gallery(tmp_path / "g.db", Settings()) as gallery:
        found = api.identify_in(gallery, MODEL, _unit(np.ones(128)), 0.6, 1)
    assert found.person is None and found.nearest is None
