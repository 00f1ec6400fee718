"""`facegate train`: pick the people, cache their embeddings, then overfit-check or train a head."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from rich.progress import Progress

from facegate.errors import FacegateError
from facegate.training.identities import (
    EmbeddingSet,
    cached_embeddings,
    identity_folders,
    read_people_folds,
    split_people,
)
from facegate.training.metric import MetricConfig, overfit_batch, train_head


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


def embeddings_for(people: dict[str, list[Path]], cache_dir: Path, quiet: bool) -> EmbeddingSet:
    """Return the people's encoder embeddings, cached under cache_dir by their image list."""
    listing = "\n".join(str(p) for paths in people.values() for p in paths)
    key = hashlib.sha256(listing.encode()).hexdigest()[:12]
    total = sum(len(paths) for paths in people.values())
    with Progress(disable=quiet, transient=True) as progress:
        task = progress.add_task("embedding images", total=total)
        return cached_embeddings(
            people, cache_dir / f"embeddings-{key}.npz", lambda: progress.advance(task)
        )


def run_training(
    data: Path,
    out: Path,
    config: MetricConfig,
    *,
    people_folds: Path | None = None,
    test_fold: int | None = None,
    dev_fraction: float = 0.1,
    overfit: bool = False,
    resume: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """Train a head on data (or only prove it can overfit one batch); return the figures."""
    people = training_people(data, people_folds, test_fold)
    vectors = embeddings_for(people, out, quiet)
    if overfit:
        return {"overfit_batch": overfit_batch(vectors, config)}
    train_names, dev_names = split_people(people, dev_fraction, config.seed)
    dev = vectors.of_people(dev_names) if dev_names else None
    return train_head(vectors.of_people(train_names), dev, config, out, resume, quiet)
