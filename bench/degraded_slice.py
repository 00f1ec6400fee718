"""The "augment the slice that fails" loop on LFW: a scarf over the mouth, before and after.

    python bench/lfw_cache.py            # once
    python bench/train_compare.py --folds 0 --models cnn                   # the CNN, clean
    python bench/train_compare.py --folds 0 --models cnn+scarf --cnn-name cnn+scarf \\
        --cnn-augment flip,crop,colour,scarf                                # the CNN, + scarf
    python bench/degraded_slice.py --fold 0 --cnn cnn --cnn cnn+scarf
    python bench/degraded_slice.py --fold 1     # heads only (no CNN trained for fold 1)

The protocol of bench/train_compare.py: tested fold f, dev fold f+1, training people from the
other eight. Every tested pair is scored twice: as it is, and with a synthetic scarf
(training/augment.py, seeded by the image name) over mouth and chin of its second image. Each
model's threshold is chosen on the dev fold's clean pairs, as a door uses one threshold.
Models: the frozen encoder; a head trained on clean encoder vectors; the same head trained with
a scarfed copy of every training image added (encoder vectors of scarfed chips, mirror TTA as
shipped); and the CNNs train_compare.py trained (run from their ONNX files by OpenCV), one
without and one with scarf augmentation in its batches. Results accumulate per fold in
bench/results/degraded_slice.json, with each model's mean over the folds it was scored on.
(The figures on the older HOG chips are kept in bench/results/degraded_slice_hog_chips.json.)
"""

from __future__ import annotations

import argparse
import json
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from lfw_cache import LFW, load
from rich.console import Console
from rich.progress import track
from rich.table import Table
from train_compare import WORK, best_threshold, distances, labelled, pair_rows, training_rows

from facegate.evaluate.pairs import read_lfw_pairs
from facegate.settings import VisionSettings
from facegate.training.augment import scarf
from facegate.training.head import embed_numpy
from facegate.training.identities import EmbeddingSet, read_people_folds
from facegate.training.metric import MetricConfig, MetricTrainer
from facegate.vision.embedders import OnnxCnnEmbedder, dlib_encoder, onnx_input_shape
from facegate.vision.types import Embedder

ROOT = Path(__file__).resolve().parents[1]
SCARF_CACHE = ROOT / "out" / "degraded" / "scarf_vectors.npz"
RESULTS = ROOT / "bench" / "results" / "degraded_slice.json"
_encoder: Embedder | None = None  # the shipped encoder on its shipped engine, mirror TTA


def _init_encoder() -> None:
    """Build this worker's encoder once (ONNX Runtime: dlib's own vectors, 20x faster)."""
    global _encoder
    _encoder = dlib_encoder(VisionSettings(), mirror=True)


def scarfed(path: Path, chip: np.ndarray) -> np.ndarray:
    """Return the chip with its scarf (the same one every run: seeded by the image name)."""
    return scarf(chip, np.random.default_rng(zlib.crc32(path.name.encode())))


def _embed_scarfed(item: tuple[Path, np.ndarray]) -> np.ndarray:
    """Return the shipped encoder's vector of one scarfed chip."""
    assert _encoder is not None
    return _encoder.embed([scarfed(*item)])[0]


def scarf_vectors(chips: dict[Path, np.ndarray], workers: int) -> dict[Path, np.ndarray]:
    """Return encoder vectors of the scarfed chips, cached under out/degraded/."""
    known: dict[Path, np.ndarray] = {}
    if SCARF_CACHE.exists():
        with np.load(SCARF_CACHE) as data:
            known = {Path(p): v for p, v in zip(data["paths"], data["vectors"], strict=True)}
    missing = [p for p in chips if p not in known]
    with ProcessPoolExecutor(workers, initializer=_init_encoder) as pool:
        done = pool.map(_embed_scarfed, [(p, chips[p]) for p in missing], chunksize=16)
        for path, vector in track(
            zip(missing, done, strict=True), total=len(missing), description="scarfed chips"
        ):
            known[path] = vector
    SCARF_CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        SCARF_CACHE, paths=np.array([str(p) for p in known]), vectors=np.array(list(known.values()))
    )
    return known


def train_head(data: EmbeddingSet, epochs: int) -> MetricTrainer:
    """Return a trainer that trained the default triplet head on the data."""
    torch.set_num_threads(1)
    trainer = MetricTrainer(MetricConfig(epochs=epochs), data)
    for _ in range(epochs):
        trainer.run_epoch()
    return trainer


def main() -> None:
    """Score every model on the clean and scarfed tested fold; print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--head-epochs", type=int, default=10)
    parser.add_argument("--cnn", action="append", default=[], help="a train_compare CNN name")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    cache = load()
    pairs = read_lfw_pairs(LFW / "pairs.txt", LFW / "images")
    folds = read_people_folds(LFW / "people.txt")
    dev_fold = (args.fold + 1) % 10
    people = {n for i, names in enumerate(folds) if i not in (args.fold, dev_fold) for n in names}
    dev, test = pair_rows(pairs, dev_fold), pair_rows(pairs, args.fold)
    same = np.array(pairs.same, dtype=bool)
    rows = training_rows(cache, people)
    labels, names = labelled(rows)
    usable = np.bincount(labels)[labels] >= 2  # the P x K sampler uses people with 2+ images
    train_paths = [p for p, keep in zip(rows, usable, strict=True) if keep]
    right = [pairs.right[i] for i in test if pairs.right[i] in cache.chips]
    scarf_of = scarf_vectors({p: cache.chips[p] for p in train_paths + right}, args.workers)

    clean = EmbeddingSet(
        np.array([cache.faces[p].vectors["dlib"] for p in rows], np.float32), labels, names
    )
    copies = np.array([scarf_of[p] for p in train_paths], np.float32)
    copy_labels = labels[usable]
    augmented = EmbeddingSet(
        np.r_[clean.vectors, copies], np.r_[clean.labels, copy_labels], clean.names
    )
    heads = {
        "head, clean training": train_head(clean, args.head_epochs),
        "head, + scarfed copies": train_head(augmented, args.head_epochs),
    }
    needed = sorted({p for i in dev + test for p in (pairs.left[i], pairs.right[i])})
    needed = [p for p in needed if p in cache.chips]
    encoder = {p: cache.faces[p].vectors["dlib"] for p in needed}
    spaces: dict[str, tuple[dict, dict]] = {
        "frozen encoder": (encoder, {p: scarf_of[p] for p in right})
    }
    for name, trainer in heads.items():
        clean_vectors = embed_numpy(trainer.model, np.array(list(encoder.values())))
        scarf_vectors_ = embed_numpy(trainer.model, np.array([scarf_of[p] for p in right]))
        spaces[name] = (
            dict(zip(needed, clean_vectors, strict=True)),
            dict(zip(right, scarf_vectors_, strict=True)),
        )
    for cnn_name in args.cnn:
        model = WORK / f"fold{args.fold}" / f"{cnn_name}.onnx"
        embedder = OnnxCnnEmbedder(model, int(onnx_input_shape(model)[2]), mirror=True)
        clean_space = dict(
            zip(needed, embedder.embed([cache.chips[p] for p in needed]), strict=True)
        )
        scarf_space = dict(
            zip(right, embedder.embed([scarfed(p, cache.chips[p]) for p in right]), strict=True)
        )
        spaces[cnn_name] = (clean_space, scarf_space)

    results = {}
    for name, (clean_space, scarf_space) in spaces.items():
        threshold = best_threshold(distances(clean_space, pairs, dev), same[dev])
        errors = {}
        for slice_name, right_space in (
            ("clean", clean_space),
            ("scarf on one image", scarf_space),
        ):
            wrong = (distances(clean_space, pairs, test, right_space) <= threshold) != same[test]
            errors[slice_name] = round(float(wrong.mean()), 4)
        results[name] = {"threshold": round(threshold, 4), "error_rate": errors}

    table = Table(
        "model", "threshold (dev fold)", "error, clean pairs", "error, scarf on one image"
    )
    for name, r in results.items():
        e = r["error_rate"]
        table.add_row(
            name,
            f"{r['threshold']:.3f}",
            f"{100 * e['clean']:.2f} %",
            f"{100 * e['scarf on one image']:.2f} %",
        )
    Console().print(table)
    fold_result = {
        "dev_fold": dev_fold,
        "pairs": len(test),
        "train_people": len(names),
        "train_images": len(rows),
        "scarfed_training_copies": len(copies),
        "config": vars(args),
        "models": results,
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if "folds" not in stored:  # the one-fold layout of earlier runs
        stored = {"folds": {str(stored["fold"]): stored}} if "fold" in stored else {"folds": {}}
    folds = stored["folds"]
    folds[str(args.fold)] = {**folds.get(str(args.fold), {}), **fold_result}
    folds[str(args.fold)]["models"] = {**folds[str(args.fold)].get("models", {}), **results}
    stored["mean_over_folds"] = mean_over_folds(folds)
    RESULTS.write_text(json.dumps(stored, indent=2) + "\n")
    for name, mean in stored["mean_over_folds"].items():
        Console().print(
            f"{name}: folds {','.join(mean['folds'])}: error clean {100 * mean['clean']:.2f} %, "
            f"scarf on one image {100 * mean['scarf on one image']:.2f} %"
        )
    Console().print(f"wrote {RESULTS}")


def mean_over_folds(folds: dict[str, dict]) -> dict[str, dict]:
    """Return each model's mean error rates over the folds it was scored on."""
    means: dict[str, dict] = {}
    names = dict.fromkeys(name for result in folds.values() for name in result["models"])
    for name in names:
        runs = {f: r["models"][name]["error_rate"] for f, r in folds.items() if name in r["models"]}
        means[name] = {
            "folds": sorted(runs, key=int),
            **{
                part: round(float(np.mean([run[part] for run in runs.values()])), 4)
                for part in ("clean", "scarf on one image")
            },
        }
    return means


if __name__ == "__main__":
    main()
