"""The P x K identity-balanced batch sampler: P people, K samples of each, per batch."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class PKSampler:
    """Yields index batches of P identities x K samples (with replacement when a person has < K)."""

    def __init__(self, labels: np.ndarray, p: int, k: int, seed: int = 0) -> None:
        people = np.unique(labels)
        # people with one sample give no positives; keep them only when nobody has two
        counts = np.bincount(labels)
        usable = people[counts[people] >= 2]
        self.people = usable if len(usable) >= 2 else people
        if len(self.people) < 2:
            raise ValueError("the P x K sampler needs at least two identities")
        self.by_person = {int(p_): np.flatnonzero(labels == p_) for p_ in self.people}
        self.p = min(p, len(self.people))
        self.k = k
        self.rng = np.random.default_rng(seed)

    def batches_per_epoch(self) -> int:
        """Return how many batches make one pass over the identities."""
        return max(1, len(self.people) // self.p)

    def batch(self) -> np.ndarray:
        """Return one batch of P * K indices."""
        chosen = self.rng.choice(self.people, size=self.p, replace=False)
        parts = []
        for person in chosen:
            pool = self.by_person[int(person)]
            parts.append(self.rng.choice(pool, size=self.k, replace=len(pool) < self.k))
        return np.concatenate(parts)

    def epoch(self) -> Iterator[np.ndarray]:
        """Yield one epoch of batches."""
        for _ in range(self.batches_per_epoch()):
            yield self.batch()

    def state(self) -> dict:
        """Return the random state (for checkpoints)."""
        return self.rng.bit_generator.state

    def restore(self, state: dict) -> None:
        """Restore a random state from state()."""
        self.rng.bit_generator.state = state
