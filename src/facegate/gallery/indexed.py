"""A SQLite gallery searched through an ANN index per model, re-ranked exactly from the file.

The index is built on the first search of a model with at least ann.min_vectors vectors, kept
in step with this gallery's own writes and, through SQLite's data_version, other processes'
(new ids are added, vanished ids marked dead), and rebuilt once too many entries are dead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from facegate.gallery.ann import AnnIndex
from facegate.gallery.exact import check_probe, nearest_rows
from facegate.gallery.sqlite import SQLiteGallery
from facegate.gallery.types import EmbeddingRecord, EmbeddingSet, Neighbour, PersonSummary
from facegate.settings import AnnSettings


@dataclass
class _ModelIndex:
    """One model's index, the highest embedding id it has seen, and when it was synced."""

    index: AnnIndex
    top_id: int
    synced: tuple[int, int] = (-1, -1)


class IndexedGallery:
    """A SQLiteGallery whose search() asks an ANN index for candidates; the rest is passed on."""

    def __init__(self, inner: SQLiteGallery, settings: AnnSettings | None = None) -> None:
        self.inner = inner
        self.settings = settings or AnnSettings()
        self._models: dict[str, _ModelIndex] = {}
        self._writes = 0
        self.rebuilds = 0

    def add_person(
        self, name: str, records: Sequence[EmbeddingRecord], consent: str, extend: bool = False
    ) -> PersonSummary:
        """Store a person's embeddings atomically and return the person."""
        self._writes += 1
        return self.inner.add_person(name, records, consent, extend)

    def remove_person(self, name: str) -> PersonSummary:
        """Delete a person and every trace of them; return what was removed."""
        self._writes += 1
        return self.inner.remove_person(name)

    def people(self) -> list[PersonSummary]:
        """Return every enrolled person."""
        return self.inner.people()

    def get_person(self, name: str) -> PersonSummary:
        """Return one person by name or raise UnknownPersonError."""
        return self.inner.get_person(name)

    def embeddings(self, model: str, name: str | None = None) -> EmbeddingSet:
        """Return the stored vectors of one model, for everyone or one person."""
        return self.inner.embeddings(model, name)

    def count(self, model: str) -> int:
        """Return how many vectors of the model are stored."""
        return self.inner.count(model)

    def close(self) -> None:
        """Close the inner gallery."""
        self.inner.close()

    def __enter__(self) -> IndexedGallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def search(self, model: str, vector: np.ndarray, k: int) -> list[Neighbour]:
        """Return the k stored vectors nearest the probe: index candidates, re-ranked exactly."""
        entry = self._synced(model)
        if entry is None:
            return self.inner.search(model, vector, k)
        probe = check_probe(vector, k, entry.index.dim)
        ids = entry.index.candidates(probe, max(k, self.settings.candidates))
        names, vectors = self.inner.vectors_by_id(model, ids.tolist())
        if not names:
            return []
        rows, dist = nearest_rows(vectors, probe, k)
        return [Neighbour(names[i], float(d)) for i, d in zip(rows, dist, strict=True)]

    def _synced(self, model: str) -> _ModelIndex | None:
        """Return the model's index brought up to date (None: small enough to scan exactly)."""
        state = (self.inner.data_version(), self._writes)
        entry = self._models.get(model)
        if entry is not None and entry.synced == state:
            return entry
        count, top_id = self.inner.vector_stats(model)
        if count < max(self.settings.min_vectors, 1):
            self._models.pop(model, None)
            return None
        if entry is None or entry.index.stale:
            entry = self._build(model)
        else:
            entry = self._catch_up(model, entry, count, top_id)
        entry.synced = state
        return entry

    def _build(self, model: str) -> _ModelIndex:
        """Build the model's index from every stored vector."""
        ids, vectors = self.inner.vectors_after(model, 0)
        index = AnnIndex(vectors.shape[1], self.settings)
        index.build(ids, vectors)
        self.rebuilds += 1
        self._models[model] = entry = _ModelIndex(index, int(ids.max()))
        return entry

    def _catch_up(self, model: str, entry: _ModelIndex, count: int, top_id: int) -> _ModelIndex:
        """Add the vectors stored since, mark vanished ids dead; rebuild when stale or unsure."""
        if top_id > entry.top_id:
            ids, vectors = self.inner.vectors_after(model, entry.top_id)
            entry.index.add(ids, vectors)
            entry.top_id = top_id
        if len(entry.index) != count:
            current = set(self.inner.vector_ids(model).tolist())
            known = entry.index.known_ids()
            entry.index.remove(known - current)
            if current - known:
                return self._build(model)
        return self._build(model) if entry.index.stale else entry
