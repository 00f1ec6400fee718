"""LFW View 2, one held-out fold: the frozen dlib encoder vs a head trained on other folds' people.

    python bench/train_head.py --fold 0 --max-people 300 --max-images 4 --workers 2

Trains only on people of the nine other folds (people.txt), never on the tested fold's people;
the threshold of each model is chosen on pairs of its training people, then applied to the
tested fold's 600 pairs (pairs.txt). Embeddings are cached under out/train_head/.
Writes bench/results/train_head.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from facegate.evaluate.pairs import read_lfw_pairs
from facegate.evaluate.runner import embed_images
from facegate.settings import Settings
from facegate.training.head import embed_numpy, export_onnx
from facegate.training.identities import EmbeddingSet, identity_folders, read_people_folds
from facegate.training.metric import MetricConfig, MetricTrainer
from facegate.vision.embed import DlibResnetEmbedder
from facegate.vision.embedders import OnnxHeadEmbedder

ROOT = Path(__file__).resolve().parents[1]
LFW = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets")) / "lfw"
CACHE = ROOT / "out" / "train_head"


def cached_vectors(paths: list[Path], workers: int) -> tuple[dict[Path, np.ndarray], float]:
    """Return {path: encoder vector} (no face: absent) and ms per image of the new embeddings."""
    cache = CACHE / "embeddings.npz"
    known: dict[Path, np.ndarray] = {}
    if cache.exists():
        with np.load(cache) as data:
            known = {Path(p): v for p, v in zip(data["paths"], data["vectors"], strict=True)}
    skipped = _no_face()
    missing = [p for p in dict.fromkeys(paths) if p not in known and p not in skipped]
    results = embed_images(missing, Settings(), workers) if missing else {}
    seconds = [r.seconds for r in results.values()]
    known |= {p: r.vector for p, r in results.items() if r.vector is not None}
    _no_face({p for p, r in results.items() if r.vector is None})
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cache, paths=np.array([str(p) for p in known]), vectors=np.array(list(known.values())))
    return known, 1000 * float(np.mean(seconds)) if seconds else float("nan")


def _no_face(add: set[Path] | None = None) -> set[Path]:
    """Return (and extend) the cached set of images in which no face was found."""
    path = CACHE / "no_face.json"
    paths = {Path(p) for p in json.loads(path.read_text())} if path.exists() else set()
    if add:
        paths |= add
        path.write_text(json.dumps(sorted(str(p) for p in paths)))
    return paths


def best_threshold(distances: np.ndarray, same: np.ndarray) -> float:
    """Return the distance threshold with the best accuracy on these pairs."""
    candidates = np.unique(distances)
    scores = [np.mean((distances <= t) == same) for t in candidates]
    return float(candidates[int(np.argmax(scores))])


def training_pairs(data: EmbeddingSet, count: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """Return balanced (row, row) same and different pairs of the training set and their truth."""
    rng = np.random.default_rng(0)
    groups = [np.flatnonzero(data.labels == p) for p in range(len(data.names))]
    groups = [g for g in groups if len(g) >= 2]
    same = np.array(
        [rng.choice(groups[i], 2, replace=False) for i in rng.integers(len(groups), size=count)]
    )
    other = rng.integers(len(data), size=(count * 2, 2))
    other = other[data.labels[other[:, 0]] != data.labels[other[:, 1]]][:count]
    return np.r_[same, other], np.r_[np.ones(len(same), bool), np.zeros(len(other), bool)]


def fold_accuracy(vectors: dict[Path, np.ndarray], pairs, threshold: float) -> tuple[float, int]:
    """Return accuracy on the pairs both of whose images have a face, and how many were scored."""
    ok = [i for i in range(len(pairs)) if pairs.left[i] in vectors and pairs.right[i] in vectors]
    left = np.array([vectors[pairs.left[i]] for i in ok])
    right = np.array([vectors[pairs.right[i]] for i in ok])
    same = np.array([pairs.same[i] for i in ok])
    correct = (np.linalg.norm(left - right, axis=1) <= threshold) == same
    return round(float(correct.mean()), 4), len(ok)


def main() -> None:
    """Embed, train on the other folds' people, score the held-out fold, write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--max-people", type=int, default=300)
    parser.add_argument("--max-images", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--loss", choices=["triplet", "arcface"], default="triplet")
    args = parser.parse_args()

    tested = set(read_people_folds(LFW / "people.txt")[args.fold])
    pairs = read_lfw_pairs(LFW / "pairs.txt", LFW / "images")
    fold = [i for i in range(len(pairs)) if pairs.folds[i] == args.fold]
    pairs = type(pairs)(
        [pairs.left[i] for i in fold],
        [pairs.right[i] for i in fold],
        [pairs.same[i] for i in fold],
        [args.fold] * len(fold),
        pairs.protocol,
    )
    candidates = {
        n: p[: args.max_images]
        for n, p in identity_folders(LFW / "images", min_images=2).items()
        if n not in tested
    }
    order = np.random.default_rng(0).permutation(sorted(candidates))[: args.max_people]
    people = {str(n): candidates[str(n)] for n in order}
    paths = [p for ps in people.values() for p in ps] + sorted(set(pairs.left + pairs.right))
    vectors, ms_encoder = cached_vectors(paths, args.workers)

    rows = [(v, n) for n, ps in people.items() for p in ps if (v := vectors.get(p)) is not None]
    names = sorted({n for _, n in rows})
    train = EmbeddingSet(
        np.array([v for v, _ in rows], np.float32),
        np.array([names.index(n) for _, n in rows]),
        tuple(names),
    )
    config = MetricConfig(loss=args.loss, epochs=args.epochs)
    started = time.perf_counter()
    trainer = MetricTrainer(config, train)
    for _ in range(config.epochs):
        trainer.run_epoch()
    train_seconds = time.perf_counter() - started
    export_onnx(trainer.model, CACHE / "head.onnx")
    head = OnnxHeadEmbedder(CACHE / "head.onnx", DlibResnetEmbedder())

    index, truth = training_pairs(train)
    results = {}
    for label, space in (
        ("encoder", train.vectors),
        ("head", embed_numpy(trainer.model, train.vectors)),
    ):
        distances = np.linalg.norm(space[index[:, 0]] - space[index[:, 1]], axis=1)
        threshold = best_threshold(distances, truth)
        mapped = (
            vectors
            if label == "encoder"
            else {
                p: v
                for p, v in zip(vectors, head.head(np.array(list(vectors.values()))), strict=True)
            }
        )
        accuracy, scored = fold_accuracy(mapped, pairs, threshold)
        results[label] = {
            "threshold": round(threshold, 4),
            "fold_accuracy": accuracy,
            "pairs": scored,
        }
    probe = np.array(list(vectors.values())[:200], np.float32)
    started = time.perf_counter()
    for row in probe:
        head.head(row[None])
    results["ms_per_image"] = {
        "encoder (detect+align+embed, new images this run)": round(ms_encoder, 1),
        "head (ONNX via OpenCV, one vector)": round(
            1000 * (time.perf_counter() - started) / len(probe), 3
        ),
    }
    results["run"] = {
        "tested_fold": args.fold,
        "train_people": len(train.names),
        "train_images": len(train),
        "max_images_per_person": args.max_images,
        "config": vars(args),
        "train_seconds": round(train_seconds, 1),
        "cpu_cores": os.cpu_count(),
    }
    out = ROOT / "bench" / "results" / "train_head.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
