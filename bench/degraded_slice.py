"""The "augment the slice that fails" loop on LFW: a scarf over the mouth, before and after.

One held-out View 2 fold (never trained on). Every image is detected and aligned once; its chip
and the same chip with a synthetic scarf (training/augment.py) are embedded by the shipped
encoder. Three models are compared on the fold's 600 pairs, clean and with the second image of
every pair scarfed: the frozen encoder, a head trained on clean embeddings of the other folds'
people, and the same head trained with scarf-augmented copies added (same identities). Each
model's threshold is chosen on clean training pairs, as a door would use one threshold.

    python bench/degraded_slice.py --fold 0 --max-people 600 --max-images 4 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

from facegate.evaluate.pairs import read_lfw_pairs
from facegate.media import load_image
from facegate.training.augment import scarf
from facegate.training.head import embed_numpy
from facegate.training.identities import EmbeddingSet, identity_folders, read_people_folds
from facegate.training.metric import MetricConfig, MetricTrainer
from facegate.vision import FacePipeline
from facegate.vision.align import align_face

ROOT = Path(__file__).resolve().parents[1]
LFW = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets")) / "lfw"
CACHE = ROOT / "out" / "degraded" / "embeddings.npz"
_pipeline: FacePipeline | None = None


def _embed_clean_and_scarfed(path: Path) -> tuple[Path, np.ndarray | None]:
    """Return (path, 2x128 [clean, scarfed] vectors) of the face nearest the centre, or None."""
    global _pipeline
    _pipeline = _pipeline or FacePipeline()
    image = load_image(path)
    faces = _pipeline.encode(image, "center")
    if not faces:
        return path, None
    chip, _ = align_face(image, faces[0].box)
    rng = np.random.default_rng(zlib.crc32(path.name.encode()))
    return path, _pipeline.embedder.embed([chip, scarf(chip, rng)])


def embeddings(paths: list[Path], workers: int) -> dict[Path, np.ndarray]:
    """Return {path: [clean, scarfed]} for every image with a face, cached under out/."""
    known: dict[Path, np.ndarray] = {}
    if CACHE.exists():
        with np.load(CACHE) as data:
            known = {Path(p): v for p, v in zip(data["paths"], data["vectors"], strict=True)}
    missing = [p for p in dict.fromkeys(paths) if p not in known]
    with ProcessPoolExecutor(workers) as pool:
        results = pool.map(_embed_clean_and_scarfed, missing, chunksize=8)
        for path, pair in track(results, total=len(missing), description="embedding"):
            if pair is not None:
                known[path] = pair
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(CACHE, paths=np.array([str(p) for p in known]), vectors=np.array(list(known.values())))
    return known


def best_threshold(left: np.ndarray, right: np.ndarray, same: np.ndarray) -> float:
    """Return the distance threshold with the best accuracy on these pairs."""
    distances = np.linalg.norm(left - right, axis=1)
    candidates = np.unique(distances)
    return float(
        candidates[int(np.argmax([np.mean((distances <= t) == same) for t in candidates]))]
    )


def training_pairs(data: EmbeddingSet, count: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """Return balanced same / different row pairs of the training set and their truth."""
    rng = np.random.default_rng(0)
    groups = [g for p in range(len(data.names)) if len(g := np.flatnonzero(data.labels == p)) > 1]
    same = np.array(
        [rng.choice(groups[i], 2, replace=False) for i in rng.integers(len(groups), size=count)]
    )
    other = rng.integers(len(data), size=(count * 2, 2))
    other = other[data.labels[other[:, 0]] != data.labels[other[:, 1]]][:count]
    return np.r_[same, other], np.r_[np.ones(len(same), bool), np.zeros(len(other), bool)]


def train_head(data: EmbeddingSet, epochs: int) -> MetricTrainer:
    """Return a trainer that trained a triplet head on the data for the epochs."""
    trainer = MetricTrainer(MetricConfig(epochs=epochs), data)
    for _ in range(epochs):
        trainer.run_epoch()
    return trainer


def main() -> None:
    """Embed, train both heads, score clean and scarfed pairs, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--max-people", type=int, default=600)
    parser.add_argument("--max-images", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    started = time.perf_counter()

    tested = set(read_people_folds(LFW / "people.txt")[args.fold])
    pairs = read_lfw_pairs(LFW / "pairs.txt", LFW / "images")
    fold = [i for i in range(len(pairs)) if pairs.folds[i] == args.fold]
    candidates = {
        n: p[: args.max_images]
        for n, p in identity_folders(LFW / "images", min_images=2).items()
        if n not in tested
    }
    people = [str(n) for n in np.random.default_rng(0).permutation(sorted(candidates))]
    people = people[: args.max_people]
    train_paths = [p for n in people for p in candidates[n]]
    test_paths = sorted({p for i in fold for p in (pairs.left[i], pairs.right[i])})
    vectors = embeddings(train_paths + test_paths, args.workers)

    rows = [(vectors[p], people.index(n)) for n in people for p in candidates[n] if p in vectors]
    clean = EmbeddingSet(
        np.array([v[0] for v, _ in rows], np.float32), np.array([i for _, i in rows]), tuple(people)
    )
    augmented = EmbeddingSet(
        np.r_[clean.vectors, np.array([v[1] for v, _ in rows], np.float32)],
        np.r_[clean.labels, clean.labels],
        clean.names,
    )
    plain_head = train_head(clean, args.epochs)
    scarf_head = train_head(augmented, args.epochs)
    models = {
        "frozen encoder": lambda x: x,
        "head, clean training": lambda x: embed_numpy(plain_head.model, x),
        "head, + scarf augmentation": lambda x: embed_numpy(scarf_head.model, x),
    }
    index, truth = training_pairs(clean)
    scored = [i for i in fold if pairs.left[i] in vectors and pairs.right[i] in vectors]
    left = np.array([vectors[pairs.left[i]][0] for i in scored], np.float32)
    right = np.array([vectors[pairs.right[i]] for i in scored], np.float32)
    same = np.array([pairs.same[i] for i in scored])
    results = {}
    for name, space in models.items():
        train_space = space(clean.vectors)
        threshold = best_threshold(train_space[index[:, 0]], train_space[index[:, 1]], truth)
        errors = {}
        for slice_name, column in (("clean", 0), ("scarf on one image", 1)):
            distance = np.linalg.norm(space(left) - space(right[:, column]), axis=1)
            errors[slice_name] = round(float(np.mean((distance <= threshold) != same)), 4)
        results[name] = {"threshold": round(threshold, 4), "error_rate": errors}

    table = Table("model", "threshold", "error, clean pairs", "error, scarf on one image")
    for name, r in results.items():
        e = r["error_rate"]
        table.add_row(
            name,
            f"{r['threshold']:.3f}",
            f"{100 * e['clean']:.2f} %",
            f"{100 * e['scarf on one image']:.2f} %",
        )
    Console().print(table)
    out = {
        "fold": args.fold,
        "pairs": len(scored),
        "train_people": len(people),
        "train_images": len(clean),
        "config": vars(args),
        "models": results,
        "wall_seconds": round(time.perf_counter() - started, 1),
    }
    path = ROOT / "bench" / "results" / "degraded_slice.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    Console().print(f"wrote {path}")


if __name__ == "__main__":
    main()
