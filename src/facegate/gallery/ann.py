"""An approximate nearest-neighbour index (faiss) over one model's vectors, ids kept.

The index only proposes candidates: callers re-rank them exactly against the stored vectors,
so a stale or approximate entry can cost recall but never a wrong distance or a deleted person.
Removal marks ids dead (faiss HNSW cannot delete); `stale` says when a rebuild is due.
"""

from __future__ import annotations

from collections.abc import Iterable

import faiss
import numpy as np

from facegate.settings import AnnSettings


def _set_params(index: faiss.Index, params: str) -> None:
    """Apply 'name=value,...': efConstruction on an HNSW graph, the rest via ParameterSpace."""
    rest = []
    for item in filter(None, (p.strip() for p in params.split(","))):
        name, _, value = item.partition("=")
        if name == "efConstruction":
            faiss.downcast_index(index).hnsw.efConstruction = int(value)
        else:
            rest.append(item)
    if rest:
        faiss.ParameterSpace().set_index_parameters(index, ",".join(rest))


class AnnIndex:
    """A faiss index (settings.factory) whose labels are the callers' ids (int64)."""

    def __init__(self, dim: int, settings: AnnSettings) -> None:
        self.dim = dim
        self.settings = settings
        self._index: faiss.Index | None = None
        self._ids = np.zeros(0, dtype=np.int64)
        self._dead: set[int] = set()
        faiss.omp_set_num_threads(settings.threads)

    def __len__(self) -> int:
        return len(self._ids) - len(self._dead)

    @property
    def stale(self) -> bool:
        """Return True when so many entries are dead that the index should be rebuilt."""
        return len(self._dead) > self.settings.rebuild_fraction * max(len(self._ids), 1)

    def build(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Replace the index with one over these vectors (trained on them where needed)."""
        data = self._check(ids, vectors)
        index = faiss.index_factory(self.dim, self.settings.factory)
        if not index.is_trained:
            index.train(data)
        _set_params(index, self.settings.params)
        index.add(data)
        self._index = index
        self._ids = np.asarray(ids, dtype=np.int64).copy()
        self._dead = set()

    def tune(self, params: str) -> None:
        """Apply search-time faiss parameters (e.g. 'efSearch=256', 'nprobe=64') to the index."""
        if self._index is None:
            raise RuntimeError("build the index before tuning it")
        _set_params(self._index, params)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under new ids (the index must be built)."""
        if self._index is None:
            raise RuntimeError("build the index before adding to it")
        data = self._check(ids, vectors)
        self._index.add(data)
        self._ids = np.concatenate([self._ids, np.asarray(ids, dtype=np.int64)])

    def remove(self, ids: Iterable[int]) -> None:
        """Mark ids dead: they are never proposed again."""
        self._dead.update(int(i) for i in ids)

    def known_ids(self) -> set[int]:
        """Return every live id."""
        return set(self._ids.tolist()) - self._dead

    def candidates(self, probe: np.ndarray, count: int) -> np.ndarray:
        """Return up to count live ids near the probe, nearest first by the index's measure."""
        if self._index is None or len(self) == 0:
            return np.zeros(0, dtype=np.int64)
        wanted = min(count + len(self._dead), len(self._ids))
        query = np.ascontiguousarray(probe.reshape(1, -1), dtype=np.float32)
        _, rows = self._index.search(query, wanted)
        found = self._ids[rows[0][rows[0] >= 0]]
        if self._dead:
            found = np.array([i for i in found.tolist() if i not in self._dead], dtype=np.int64)
        return found[:count]

    def memory_bytes(self) -> int:
        """Return the serialised size of the index (a close measure of its memory)."""
        if self._index is None:
            return 0
        return int(faiss.serialize_index(self._index).nbytes) + self._ids.nbytes

    def _check(self, ids: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """Return the vectors as contiguous float32, refusing a shape that does not fit."""
        data = np.ascontiguousarray(vectors, dtype=np.float32)
        if data.ndim != 2 or data.shape[1] != self.dim or len(data) != len(ids):
            raise ValueError(f"expected {len(ids)} vectors of {self.dim} values, got {data.shape}")
        return data
