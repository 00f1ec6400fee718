"""Folder-per-identity datasets: image lists, and their embeddings cached as one .npz file."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegate.errors import FacegateError
from facegate.media import load_image
from facegate.settings import VisionSettings

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


@dataclass(frozen=True)
class EmbeddingSet:
    """Unit vectors with an identity label each; names[label] is the person's folder name."""

    vectors: np.ndarray  # (N, dim) float32
    labels: np.ndarray  # (N,) int64
    names: tuple[str, ...]

    def __len__(self) -> int:
        """Return the number of vectors."""
        return len(self.labels)

    def subset(self, mask: np.ndarray) -> EmbeddingSet:
        """Return the rows where mask is true, labels renumbered 0..k-1 over the people kept."""
        kept = np.unique(self.labels[mask])
        remap = np.full(len(self.names), -1, dtype=np.int64)
        remap[kept] = np.arange(len(kept))
        return EmbeddingSet(
            self.vectors[mask], remap[self.labels[mask]], tuple(self.names[i] for i in kept)
        )

    def of_people(self, people: Iterable[str]) -> EmbeddingSet:
        """Return the rows of these people only."""
        wanted = set(people)
        index = np.array([name in wanted for name in self.names], dtype=bool)
        return self.subset(index[self.labels])

    def save(self, path: Path) -> None:
        """Write the set to an .npz file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, vectors=self.vectors, labels=self.labels, names=np.array(self.names))

    @classmethod
    def load(cls, path: Path) -> EmbeddingSet:
        """Read a set written by save."""
        with np.load(path) as data:
            return cls(
                data["vectors"].astype(np.float32),
                data["labels"].astype(np.int64),
                tuple(str(n) for n in data["names"]),
            )


def identity_folders(root: Path, min_images: int = 1) -> dict[str, list[Path]]:
    """Return {person: sorted image paths} for each sub-folder of root with enough images."""
    if not root.is_dir():
        raise FacegateError(f"{root}: not a folder of per-person folders")
    people = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if len(images) >= min_images:
            people[folder.name] = images
    return people


def embed_people(
    people: dict[str, list[Path]],
    vision: VisionSettings | None = None,
    step: Callable[[], None] | None = None,
) -> EmbeddingSet:
    """Embed the centre face of every image with the shipped encoder; skip images with no face."""
    from facegate.vision import FacePipeline

    pipeline = FacePipeline(vision or VisionSettings(embedder="dlib"))
    vectors, labels, names = [], [], []
    for name, paths in people.items():
        found = 0
        for path in paths:
            faces = pipeline.encode(load_image(path), policy="center")
            if faces:
                vectors.append(faces[0].embedding)
                labels.append(len(names))
                found += 1
            if step is not None:
                step()
        if found:
            names.append(name)
    dim = pipeline.embedder.dim
    return EmbeddingSet(
        np.array(vectors, dtype=np.float32).reshape(-1, dim),
        np.array(labels, dtype=np.int64),
        tuple(names),
    )


def cached_embeddings(
    people: dict[str, list[Path]], cache: Path, step: Callable[[], None] | None = None
) -> EmbeddingSet:
    """Return the people's embeddings from cache if present, else embed and write the cache."""
    if cache.exists():
        return EmbeddingSet.load(cache)
    embedded = embed_people(people, step=step)
    embedded.save(cache)
    return embedded


def read_people_folds(path: Path) -> list[list[str]]:
    """Return the people of each fold of an LFW View 2 people.txt (fold count, then per fold)."""
    lines = [line.split("\t") for line in path.read_text().splitlines() if line.strip()]
    folds, row = [], 1
    for _ in range(int(lines[0][0])):
        count = int(lines[row][0])
        folds.append([fields[0] for fields in lines[row + 1 : row + 1 + count]])
        row += 1 + count
    return folds


def split_people(
    people: dict[str, list[Path]], dev_fraction: float, seed: int
) -> tuple[list[str], list[str]]:
    """Split the people (not their images) into train and dev, at random with a seed."""
    names = sorted(people)
    order = np.random.default_rng(seed).permutation(len(names))
    dev_count = round(len(names) * dev_fraction)
    dev = sorted(names[i] for i in order[:dev_count])
    return sorted(set(names) - set(dev)), dev
