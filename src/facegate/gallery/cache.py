"""The gallery's vectors kept in memory per model, reloaded only after the database changed."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from facegate.errors import GalleryUnavailableError
from facegate.gallery.exact import exact_search
from facegate.gallery.sqlite import SQLiteGallery
from facegate.gallery.types import (
    EmbeddingRecord,
    EmbeddingSet,
    Gallery,
    Neighbour,
    PersonSummary,
)


class EmbeddingCache:
    """Each model's full EmbeddingSet, valid until any connection commits to the gallery file.

    A connection of its own that never writes watches `PRAGMA data_version`, which changes
    whenever another connection (this process or another) commits, so a cached set is reused
    only while the file is unchanged. min_age_s: a set younger than this is reused without
    asking (a door's loop, whose event log commits to the same file after every decision).
    """

    def __init__(self, path: str | Path, min_age_s: float = 0.0) -> None:
        self.path = Path(path)
        self.min_age_s = min_age_s
        try:
            self._watch = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise GalleryUnavailableError(f"cannot watch gallery {self.path}: {exc}") from exc
        self._lock = threading.Lock()
        self._sets: dict[str, tuple[int, EmbeddingSet, float]] = {}
        self.reloads = 0

    def version(self) -> int:
        """Return the file's data version as seen by the watching connection."""
        with self._lock:
            try:
                return int(self._watch.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error as exc:
                raise GalleryUnavailableError(f"cannot read gallery {self.path}: {exc}") from exc

    def embeddings(self, gallery: Gallery, model: str) -> EmbeddingSet:
        """Return every vector of the model, from memory unless the file changed since."""
        cached = self._sets.get(model)
        if cached is not None and time.monotonic() - cached[2] < self.min_age_s:
            return cached[1]
        version = self.version()
        if cached is not None and cached[0] == version:
            return cached[1]
        loaded = gallery.embeddings(model)
        self._sets[model] = (version, loaded, time.monotonic())
        self.reloads += 1
        return loaded

    def close(self) -> None:
        """Close the watching connection."""
        self._watch.close()


class CachedGallery:
    """A gallery whose all-people vectors come from an EmbeddingCache; the rest is passed on."""

    def __init__(self, inner: Gallery, cache: EmbeddingCache) -> None:
        self.inner = inner
        self.cache = cache

    @property
    def path(self) -> Path:
        """Return the gallery file's path (the cache watches that file)."""
        return self.cache.path

    def add_person(
        self, name: str, records: Sequence[EmbeddingRecord], consent: str, extend: bool = False
    ) -> PersonSummary:
        """Store a person's embeddings atomically and return the person."""
        return self.inner.add_person(name, records, consent, extend)

    def remove_person(self, name: str) -> PersonSummary:
        """Delete a person and every trace of them; return what was removed."""
        return self.inner.remove_person(name)

    def people(self) -> list[PersonSummary]:
        """Return every enrolled person."""
        return self.inner.people()

    def get_person(self, name: str) -> PersonSummary:
        """Return one person by name or raise UnknownPersonError."""
        return self.inner.get_person(name)

    def embeddings(self, model: str, name: str | None = None) -> EmbeddingSet:
        """Return the stored vectors of one model: everyone's from the cache, one person's fresh."""
        if name is None:
            return self.cache.embeddings(self.inner, model)
        return self.inner.embeddings(model, name)

    def search(self, model: str, vector: np.ndarray, k: int) -> list[Neighbour]:
        """Return the k cached vectors of the model nearest the probe (exact, in numpy)."""
        return exact_search(self.cache.embeddings(self.inner, model), vector, k)

    def count(self, model: str) -> int:
        """Return how many cached vectors of the model there are."""
        return len(self.cache.embeddings(self.inner, model))

    def close(self) -> None:
        """Close the inner gallery (the cache is shared and stays open)."""
        self.inner.close()


@contextmanager
def in_memory(gallery: Gallery, refresh_s: float = 0.0) -> Iterator[Gallery]:
    """Yield a SQLite gallery searched in memory; any other gallery as it is.

    The copy is reloaded after a commit to the file, at most every refresh_s seconds. A
    PostgreSQL gallery searches in the database (pgvector), so it is yielded unchanged.
    """
    if not isinstance(gallery, SQLiteGallery):
        yield gallery
        return
    cache = EmbeddingCache(gallery.path, refresh_s)
    try:
        yield CachedGallery(gallery, cache)
    finally:
        cache.close()
