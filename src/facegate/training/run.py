"""`facegate train`: pick the people, cache their chips (and encoder vectors), then train."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import Progress

from facegate.decide.threshold import fit_impostor_tail, tail_path
from facegate.errors import FacegateError
from facegate.settings import VisionSettings
from facegate.training.identities import (
    ChipSet,
    EmbeddingSet,
    detect_chips,
    encoder_vectors,
    identity_folders,
    read_people_folds,
    split_people,
)
from facegate.training.metric import (
    MetricConfig,
    TrainingData,
    overfit_batch,
    train_model,
    training_device,
)
from facegate.vision.embedders import OnnxHeadEmbedder, onnx_embedder

MIN_TABLE_PEOPLE = 30  # fewer dev people give too few impostor pairs for a 1:N table


def training_people(
    data: Path, people_folds: Path | None = None, test_fold: int | None = None
) -> dict[str, list[Path]]:
    """Return the people of data, without those of the tested LFW fold when one is given."""
    people = identity_folders(data)
    if people_folds is not None:
        if test_fold is None:
            raise FacegateError("--people-folds needs --test-fold")
        tested = set(read_people_folds(people_folds)[test_fold])
        people = {name: paths for name, paths in people.items() if name not in tested}
    if len(people) < 2:
        raise FacegateError(f"{data}: training needs at least two people")
    return people


def _key(*parts: object) -> str:
    """Return a short hash naming a cache file by what it was made from."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def _with_progress(label: str, total: int, quiet: bool, make: Callable[[Callable], Any]) -> Any:
    """Run make(step) under a progress bar of `total` steps."""
    with Progress(disable=quiet, transient=True) as progress:
        task = progress.add_task(label, total=total)
        return make(lambda: progress.advance(task))


def chips_for(people: dict[str, list[Path]], cache_dir: Path, quiet: bool) -> ChipSet:
    """Return the people's aligned chips, cached under cache_dir by their image list."""
    cache = cache_dir / f"chips-{_key([str(p) for ps in people.values() for p in ps])}.npz"
    if cache.exists():
        return ChipSet.load(cache)
    total = sum(len(paths) for paths in people.values())
    chips = _with_progress(
        "detecting + aligning", total, quiet, lambda step: detect_chips(people, step=step)
    )
    chips.save(cache)
    return chips


def vectors_for(
    chips: ChipSet, cache_dir: Path, config: MetricConfig, copies: int, quiet: bool
) -> EmbeddingSet:
    """Return the encoder vectors of the chips (+ augmented copies), cached by what made them."""
    pixels = hashlib.sha256(np.ascontiguousarray(chips.chips)).hexdigest()
    key = _key(chips.names, pixels, config.augment, copies, config.seed)
    cache = cache_dir / f"vectors-{key}.npz"
    if cache.exists():
        return EmbeddingSet.load(cache)
    vectors = _with_progress(
        "embedding with the shipped encoder",
        len(chips),
        quiet,
        lambda step: encoder_vectors(chips, list(config.augment), copies, config.seed, step),
    )
    vectors.save(cache)
    return vectors


def run_training(
    data: Path,
    out: Path,
    config: MetricConfig,
    *,
    people_folds: Path | None = None,
    test_fold: int | None = None,
    dev_fraction: float = 0.1,
    augment_copies: int = 1,
    overfit: bool = False,
    resume: bool = False,
    quiet: bool = False,
    device: str = "auto",
) -> dict[str, Any]:
    """Train a head or CNN on data (or only prove it can overfit one batch); return figures."""
    training_device(device)  # no GPU where one is asked for: say so before any work
    people = training_people(data, people_folds, test_fold)
    chips = chips_for(people, out, quiet)
    if len(chips.names) < 2:
        raise FacegateError(
            f"{data}: faces of at least two people are needed, found {len(chips.names)}"
        )
    train_names, dev_names = split_people(
        {name: [] for name in chips.names}, dev_fraction, config.seed
    )
    train_chips = chips.of_people(train_names)
    dev_chips = chips.of_people(dev_names) if dev_names else None
    train: TrainingData
    dev: TrainingData | None
    if config.family == "head":
        copies = augment_copies if config.augment else 0
        train = vectors_for(train_chips, out, config, copies, quiet)
        dev = None if dev_chips is None else vectors_for(dev_chips, out, config, 0, quiet)
    else:
        train, dev = train_chips, dev_chips
    if overfit:
        return {"overfit_batch": overfit_batch(train, config)}
    summary = train_model(train, dev, config, out, resume, quiet, device)
    summary["impostor_table"] = impostor_table(Path(summary["model"]), dev, data)
    summary["images_with_a_face"] = len(chips)
    summary["images"] = sum(len(paths) for paths in people.values())
    return summary


def impostor_table(model: Path, dev: TrainingData | None, data: Path) -> str | None:
    """Fit the model's 1:N impostor table on one image per dev person; return its path.

    The exported model is run as it will be at the door (OpenCV, default vision settings), so
    the table's distances are the ones identify will see. None when too few dev people.
    """
    if dev is None or len(dev.names) < MIN_TABLE_PEOPLE:
        return None
    first = np.unique(dev.labels, return_index=True)[1]
    embedder = onnx_embedder(model, VisionSettings())
    if isinstance(embedder, OnnxHeadEmbedder):
        vectors = embedder.head(dev.vectors[first])
    else:
        vectors = embedder.embed(list(dev.chips[first]))
    source = f"one image each of {len(first)} dev people of {data}"
    fit_impostor_tail(vectors, source, embedder.name).save(tail_path(model))
    return str(tail_path(model))
