"""The vector cache: reused while the gallery file is unchanged, reloaded after any commit."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegate.gallery import EmbeddingRecord, SQLiteGallery
from facegate.gallery.cache import CachedGallery, EmbeddingCache


def record(seed: int, model: str = "m") -> EmbeddingRecord:
    """Return a random unit vector record."""
    vector = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return EmbeddingRecord(vector / np.linalg.norm(vector), model, f"img{seed}", 80, 50.0, 120.0)


def test_cache_reloads_only_after_a_commit(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    with SQLiteGallery(path) as writer, SQLiteGallery(path) as reader:
        writer.add_person("ada", [record(1)], consent="")
        cache = EmbeddingCache(path)
        gallery = CachedGallery(reader, cache)
        first = gallery.embeddings("m")
        assert first.names == ["ada"] and cache.reloads == 1
        assert gallery.embeddings("m") is first and cache.reloads == 1
        writer.add_person("bob", [record(2)], consent="")
        assert gallery.embeddings("m").names == ["ada", "bob"] and cache.reloads == 2
        reader.remove_person("ada")  # a commit through the very connection the cache reads with
        assert gallery.embeddings("m").names == ["bob"] and cache.reloads == 3
        assert gallery.embeddings("other").names == [] and cache.reloads == 4
        assert np.array_equal(
            gallery.embeddings("m", "bob").vectors, reader.embeddings("m").vectors
        )
        cache.close()
