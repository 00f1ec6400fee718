"""Folder-per-identity datasets: image lists, and their embeddings cached as one .npz file."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self

import numpy as np

from facegate.errors import FacegateError, ImageError
from facegate.media import load_image
from facegate.settings import VisionSettings

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class LabelledRows:
    """Rows (vectors or chips) with an identity label each; names[label] is the person's folder.

    Subclasses are frozen dataclasses whose first field holds the rows (named by ROWS).
    """

    ROWS: ClassVar[str]
    DTYPE: ClassVar[type]
    labels: np.ndarray  # (N,) int64
    names: tuple[str, ...]

    def rows(self) -> np.ndarray:
        """Return the rows."""
        return getattr(self, self.ROWS)

    def __len__(self) -> int:
        """Return the number of rows."""
        return len(self.labels)

    def subset(self, mask: np.ndarray) -> Self:
        """Return the rows where mask is true, labels renumbered 0..k-1 over the people kept."""
        kept = np.unique(self.labels[mask])
        remap = np.full(len(self.names), -1, dtype=np.int64)
        remap[kept] = np.arange(len(kept))
        names = tuple(self.names[i] for i in kept)
        return type(self)(self.rows()[mask], remap[self.labels[mask]], names)  # type: ignore[call-arg]

    def of_people(self, people: Iterable[str]) -> Self:
        """Return the rows of these people only."""
        wanted = set(people)
        return self.subset(np.array([name in wanted for name in self.names], bool)[self.labels])

    def save(self, path: Path) -> None:
        """Write the set to an .npz file (written aside, then moved into place)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npz")
        arrays = {self.ROWS: self.rows(), "labels": self.labels, "names": np.array(self.names)}
        np.savez(partial, **arrays)
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a set written by save."""
        with np.load(path) as data:
            return cls(  # type: ignore[call-arg]
                data[cls.ROWS].astype(cls.DTYPE),
                data["labels"].astype(np.int64),
                tuple(str(n) for n in data["names"]),
            )


@dataclass(frozen=True)
class EmbeddingSet(LabelledRows):
    """Unit vectors of the shipped encoder (or a model), one per labelled image."""

    ROWS: ClassVar[str] = "vectors"
    DTYPE: ClassVar[type] = np.float32
    vectors: np.ndarray  # (N, dim) float32
    labels: np.ndarray
    names: tuple[str, ...]


@dataclass(frozen=True)
class ChipSet(LabelledRows):
    """Aligned 150 px face chips (RGB uint8), one per labelled image."""

    ROWS: ClassVar[str] = "chips"
    DTYPE: ClassVar[type] = np.uint8
    chips: np.ndarray  # (N, 150, 150, 3) uint8
    labels: np.ndarray
    names: tuple[str, ...]


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


def detect_chips(
    people: dict[str, list[Path]],
    vision: VisionSettings | None = None,
    step: Callable[[], None] | None = None,
) -> ChipSet:
    """Detect and align the centre face of every image; skip unreadable or faceless images."""
    from facegate.vision import FacePipeline

    pipeline = FacePipeline(vision or VisionSettings(embedder="dlib"))
    chips, labels, names = [], [], []
    for name, paths in people.items():
        found = 0
        for path in paths:
            try:
                faces = pipeline.align(load_image(path), policy="center")
            except ImageError:  # unreadable, truncated or too large: counted, not fatal
                faces = []
            if faces:
                chips.append(faces[0])
                labels.append(len(names))
                found += 1
            if step is not None:
                step()
        if found:
            names.append(name)
    size = pipeline.settings.chip_size
    return ChipSet(
        np.array(chips, dtype=np.uint8).reshape(-1, size, size, 3),
        np.array(labels, dtype=np.int64),
        tuple(names),
    )


def encoder_vectors(
    chips: ChipSet,
    augments: list[str] | None = None,
    copies: int = 0,
    seed: int = 0,
    step: Callable[[], None] | None = None,
) -> EmbeddingSet:
    """Embed the chips with the shipped encoder, plus `copies` augmented copies of each."""
    from facegate.training.augment import augment
    from facegate.vision.embed import DlibResnetEmbedder

    encoder = DlibResnetEmbedder()
    rng = np.random.default_rng(seed)
    vectors, labels = [], []
    for chip, label in zip(chips.chips, chips.labels, strict=True):
        variants = [chip] + [augment(chip, augments or [], rng) for _ in range(copies)]
        vectors.extend(encoder.embed(variants))
        labels.extend([label] * len(variants))
        if step is not None:
            step()
    return EmbeddingSet(
        np.array(vectors, np.float32).reshape(-1, encoder.dim),
        np.array(labels, np.int64),
        chips.names,
    )


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
