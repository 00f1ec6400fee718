"""The ANN index beside a SQLite gallery against the exact numpy reference, on real LFW vectors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from facegate.gallery import EmbeddingRecord, SQLiteGallery
from facegate.gallery.exact import exact_search
from facegate.gallery.indexed import IndexedGallery
from facegate.settings import AnnSettings

MODEL = "dlib"
PEOPLE = 8
DISTRACTORS = 1000
BENCH_CACHE = Path.home() / ".cache" / "facegate-bench" / "lfw_vectors_800.npz"


@pytest.fixture(scope="session")
def lfw_pairs(lfw: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Return names, image-1 and image-2 vectors of LFW people (real dlib; the bench's cache)."""
    if BENCH_CACHE.exists():  # written by bench/lfw_vectors.py with the same pipeline
        with np.load(BENCH_CACHE) as data:
            return list(data["names"][:100]), data["mates"][:100], data["probes"][:100]
    from facegate import api
    from facegate.media import load_image
    from facegate.settings import Settings

    settings = Settings()
    pipeline = api.get_pipeline(settings.vision)
    names, mates, probes = [], [], []
    for folder in sorted((lfw / "images").iterdir()):
        if not (folder / f"{folder.name}_0002.jpg").exists():
            continue
        pair = []
        for number in (1, 2):
            image = load_image(folder / f"{folder.name}_{number:04d}.jpg", settings.media)
            faces = pipeline.encode(image, policy="largest")
            pair.append(faces[0].embedding if faces else None)
        if all(v is not None for v in pair):
            names.append(folder.name)
            mates.append(pair[0])
            probes.append(pair[1])
        if len(names) == PEOPLE:
            break
    return names, np.stack(mates).astype(np.float32), np.stack(probes).astype(np.float32)


def face_like(real: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Return unit vectors from a Gaussian fitted to real vectors (shrunk covariance)."""
    rng = np.random.default_rng(seed)
    mean = real.mean(axis=0)
    cov = np.cov(real, rowvar=False)
    cov = 0.5 * cov + 0.5 * np.eye(len(mean)) * np.trace(cov) / len(mean)
    drawn = rng.multivariate_normal(mean, cov, size=count).astype(np.float32)
    return drawn / np.linalg.norm(drawn, axis=1, keepdims=True)


def record(vector: np.ndarray, source: str = "x") -> EmbeddingRecord:
    return EmbeddingRecord(vector, MODEL, source, 100, 50.0, 120.0)


def enroll_site(path: Path, names: list[str], mates: np.ndarray, seed: int = 0) -> None:
    """Enroll the real people and face-like distractors (one vector each)."""
    with SQLiteGallery(path) as gallery:
        for name, vector in zip(names, mates, strict=True):
            gallery.add_person(name, [record(vector)], consent="test")
        for i, vector in enumerate(face_like(mates, DISTRACTORS, seed)):
            gallery.add_person(f"distractor-{i:05d}", [record(vector)], consent="test")


def decision(neighbours: list, threshold: float = 0.6) -> str | None:
    """Return who the nearest neighbour names, or None when it is beyond the threshold."""
    return neighbours[0].name if neighbours and neighbours[0].distance <= threshold else None


@pytest.mark.parametrize(
    "settings",
    [
        AnnSettings(min_vectors=0, candidates=64),  # the default design, few candidates
        AnnSettings(min_vectors=0, factory="HNSW16,Flat", params="efSearch=64", candidates=16),
    ],
    ids=["pq-scan", "hnsw"],
)
def test_index_finds_what_exact_search_finds_on_lfw_vectors(
    tmp_path: Path, lfw_pairs, settings: AnnSettings
) -> None:
    names, mates, probes = lfw_pairs
    db = tmp_path / "g.db"
    enroll_site(db, names, mates)
    with IndexedGallery(SQLiteGallery(db), settings) as gallery:
        everyone = gallery.embeddings(MODEL)
        queries = np.concatenate([probes, face_like(mates, 40, seed=7)])
        top5_found = 0
        for probe in queries:
            found = gallery.search(MODEL, probe, 5)
            exact = exact_search(everyone, probe, 5)
            assert (found[0].name, decision(found)) == (exact[0].name, decision(exact))
            assert np.isclose(found[0].distance, exact[0].distance)  # re-ranked exactly
            top5_found += len({n.name for n in found} & {n.name for n in exact})
        assert top5_found >= 0.97 * 5 * len(queries)
        assert gallery.rebuilds == 1
        found_mates = [decision(gallery.search(MODEL, p, 1)) for p in probes]
        hits = sum(f == n for f, n in zip(found_mates, names, strict=True))
        assert hits >= 0.75 * len(names)  # real probes find their real mates


def _random_unit(count: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(count, 128)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_index_follows_enrollment_removal_and_other_writers(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    vectors = _random_unit(400, seed=1)
    settings = AnnSettings(min_vectors=100, rebuild_fraction=0.25, candidates=8)
    with SQLiteGallery(db) as plain:
        for i, v in enumerate(vectors[:300]):
            plain.add_person(f"p{i}", [record(v)], consent="x")
    with IndexedGallery(SQLiteGallery(db), settings) as gallery:
        assert gallery.search(MODEL, vectors[5], 1)[0].name == "p5"
        gallery.add_person("new", [record(vectors[350])], consent="x")
        assert gallery.search(MODEL, vectors[350], 1)[0].name == "new"
        gallery.remove_person("p5")
        assert "p5" not in [n.name for n in gallery.search(MODEL, vectors[5], 50)]
        with SQLiteGallery(db) as other:  # another connection writes: data_version changes
            other.add_person("elsewhere", [record(vectors[360])], consent="x")
            other.remove_person("p6")
        assert gallery.search(MODEL, vectors[360], 1)[0].name == "elsewhere"
        assert "p6" not in [n.name for n in gallery.search(MODEL, vectors[6], 50)]
        assert gallery.rebuilds == 1
        for i in range(10, 100):
            gallery.remove_person(f"p{i}")
        assert gallery.search(MODEL, vectors[200], 1)[0].name == "p200"
        assert gallery.rebuilds == 2  # a quarter dead: rebuilt
        with SQLiteGallery(db) as other:
            for i in range(100, 250):
                other.remove_person(f"p{i}")
        assert gallery.search(MODEL, vectors[260], 1)[0].name == "p260"
        assert gallery.search(MODEL, vectors[120], 3)[0].name != "p120"


def test_removed_person_is_never_proposed_even_by_a_stale_index(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    vectors = _random_unit(200, seed=2)
    with SQLiteGallery(db) as plain:
        for i, v in enumerate(vectors):
            plain.add_person(f"p{i}", [record(v)], consent="x")
    with IndexedGallery(SQLiteGallery(db), AnnSettings(min_vectors=10, candidates=8)) as gallery:
        assert gallery.search(MODEL, vectors[0], 1)[0].name == "p0"
        raw = sqlite3.connect(db)  # a writer that bypasses facegate entirely
        raw.execute("PRAGMA foreign_keys=ON")
        raw.execute("DELETE FROM people WHERE name = 'p0'")
        raw.commit()
        raw.close()
        assert "p0" not in [n.name for n in gallery.search(MODEL, vectors[0], 10)]


def test_small_galleries_are_scanned_exactly_and_bad_probes_refused(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    vectors = _random_unit(20, seed=3)
    with IndexedGallery(SQLiteGallery(db), AnnSettings(min_vectors=100)) as gallery:
        for i, v in enumerate(vectors):
            gallery.add_person(f"p{i}", [record(v)], consent="x")
        assert gallery.search(MODEL, vectors[3], 1)[0].name == "p3"
        assert gallery.rebuilds == 0
        with pytest.raises(ValueError, match="values"):
            gallery.search(MODEL, np.ones(64, dtype=np.float32), 1)
        assert gallery.search("other-model", vectors[3], 1) == []
