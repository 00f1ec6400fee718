"""Exact nearest-neighbour search in numpy: the reference every index is tested against."""

from __future__ import annotations

import numpy as np

from facegate.gallery.types import EmbeddingSet, Neighbour


def check_probe(vector: np.ndarray, k: int, dim: int | None = None) -> np.ndarray:
    """Return the probe as a float32 vector, refusing a bad k, shape or non-finite values."""
    probe = np.asarray(vector, dtype=np.float32)
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if probe.ndim != 1 or probe.size == 0 or not np.all(np.isfinite(probe)):
        raise ValueError("a probe must be one finite, non-empty vector")
    if dim is not None and probe.size != dim:
        raise ValueError(f"the probe has {probe.size} values, the gallery's vectors {dim}")
    return probe


def nearest_rows(vectors: np.ndarray, probe: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the indices and Euclidean distances of the k rows nearest the probe, nearest first."""
    squared = np.einsum("ij,ij->i", vectors - probe, vectors - probe)
    k = min(k, len(squared))
    top = np.argpartition(squared, k - 1)[:k] if k < len(squared) else np.arange(len(squared))
    order = top[np.lexsort((top, squared[top]))]
    return order, np.sqrt(squared[order])


def exact_search(stored: EmbeddingSet, vector: np.ndarray, k: int) -> list[Neighbour]:
    """Return the k stored vectors nearest the probe (exact, ties by storage order)."""
    if len(stored) == 0:
        check_probe(vector, k)
        return []
    probe = check_probe(vector, k, stored.vectors.shape[1])
    rows, dist = nearest_rows(stored.vectors, probe, k)
    return [Neighbour(stored.names[i], float(d)) for i, d in zip(rows, dist, strict=True)]
