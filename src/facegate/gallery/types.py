"""Records the gallery stores and returns, and the interface every gallery backend has."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class EmbeddingRecord:
    """One embedding to store: the vector, its model, where it came from and its quality."""

    vector: np.ndarray
    model: str
    source: str
    face_px: int
    sharpness: float
    brightness: float


@dataclass(frozen=True)
class PersonSummary:
    """An enrolled person as listed: id, name, enrollment time, embedding count, last consent."""

    id: int
    name: str
    created_at: str
    embeddings: int
    consent: str | None

    def as_dict(self) -> dict[str, object]:
        """Return the summary as a JSON-ready dict."""
        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at,
            "embeddings": self.embeddings,
            "consent": self.consent,
        }


@dataclass(frozen=True)
class EmbeddingSet:
    """Stored vectors (N x D float32) with the person name of each row."""

    names: list[str]
    vectors: np.ndarray

    @classmethod
    def empty(cls) -> EmbeddingSet:
        """Return a set with no vectors."""
        return cls(names=[], vectors=np.zeros((0, 0), dtype=np.float32))

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class Neighbour:
    """One stored vector near a probe: whose it is and its Euclidean distance."""

    name: str
    distance: float


class Gallery(Protocol):
    """What every gallery backend offers (SQLite, PostgreSQL + pgvector)."""

    def add_person(
        self, name: str, records: Sequence[EmbeddingRecord], consent: str, extend: bool = False
    ) -> PersonSummary:
        """Store a person's embeddings atomically and return the person."""
        ...

    def remove_person(self, name: str) -> PersonSummary:
        """Delete a person and every trace of them; return what was removed."""
        ...

    def people(self) -> list[PersonSummary]:
        """Return every enrolled person."""
        ...

    def get_person(self, name: str) -> PersonSummary:
        """Return one person by name or raise UnknownPersonError."""
        ...

    def embeddings(self, model: str, name: str | None = None) -> EmbeddingSet:
        """Return the stored vectors of one model, for everyone or one person."""
        ...

    def search(self, model: str, vector: np.ndarray, k: int) -> list[Neighbour]:
        """Return the k stored vectors of the model nearest the probe, nearest first."""
        ...

    def count(self, model: str) -> int:
        """Return how many vectors of the model are stored (for the 1:N threshold)."""
        ...

    def close(self) -> None:
        """Release the backend's resources."""
        ...
