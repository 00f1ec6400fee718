"""LFW View 2 fold by fold: the shipped encoder vs a trained head vs a small CNN trained end to end.

    python bench/lfw_cache.py                      # once: every LFW image detected + embedded
    python bench/train_compare.py --folds 0-9 --models encoder,head
    python bench/train_compare.py --folds 0 --models cnn --cnn-epochs 12
    python bench/train_compare.py --folds 0 --models cnn+scarf --cnn-name cnn+scarf \
        --cnn-augment flip,crop,colour,scarf

For tested fold f the models train only on people of the eight folds other than f and f+1
(people.txt); fold f+1 (mod 10) is the dev fold: each model's threshold is the best one on its
600 pairs (pairs.txt), then applied to fold f's 600 pairs. No model ever sees a person of the
tested fold. A pair with a faceless image counts as 'different'. The trained models are scored
as shipped: exported to ONNX and run by OpenCV (the head on the encoder's mirror-TTA vectors,
the CNN with mirror TTA on the aligned chip). Results accumulate per fold in
bench/results/train_compare.json (a rerun of a fold replaces it); the table and a per-fold plot
are written from everything there.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from lfw_cache import LFW, LfwFaces, load

from facegate.evaluate.pairs import read_lfw_pairs
from facegate.training.identities import ChipSet, EmbeddingSet, read_people_folds
from facegate.training.metric import MetricConfig, MetricTrainer
from facegate.vision.embed import DlibResnetEmbedder
from facegate.vision.embedders import OnnxCnnEmbedder, OnnxHeadEmbedder

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "train_compare.json"
WORK = ROOT / "out" / "train_compare"
ENCODER = "dlib"  # the shipped setting: mirror TTA


def parse_folds(text: str) -> list[int]:
    """Return the folds of '0-9' or '0,3,5'."""
    if "-" in text:
        first, last = (int(part) for part in text.split("-"))
        return list(range(first, last + 1))
    return [int(part) for part in text.split(",")]


def pair_rows(pairs, fold: int) -> list[int]:
    """Return the indices of one fold's pairs."""
    return [i for i, f in enumerate(pairs.folds) if f == fold]


def distances(
    vectors: dict[Path, np.ndarray], pairs, rows: list[int], right_vectors: dict | None = None
) -> np.ndarray:
    """Return each pair's distance (inf when either image has no vector).

    right_vectors, when given, supplies the second image of each pair (e.g. a degraded copy).
    """
    right_vectors = vectors if right_vectors is None else right_vectors
    out = np.full(len(rows), np.inf)
    for at, i in enumerate(rows):
        left, right = vectors.get(pairs.left[i]), right_vectors.get(pairs.right[i])
        if left is not None and right is not None:
            out[at] = float(np.linalg.norm(left - right))
    return out


def best_threshold(dist: np.ndarray, same: np.ndarray) -> float:
    """Return the threshold with the best accuracy on these pairs (midpoint between distances)."""
    finite = np.unique(dist[np.isfinite(dist)])
    candidates = np.r_[finite[:1] - 1e-6, (finite[1:] + finite[:-1]) / 2, finite[-1:] + 1e-6]
    scores = [np.mean((dist <= t) == same) for t in candidates]
    return float(candidates[int(np.argmax(scores))])


def score(vectors: dict[Path, np.ndarray], pairs, dev: list[int], test: list[int]) -> dict:
    """Return the dev-chosen threshold and the tested fold's accuracy."""
    same = np.array(pairs.same, dtype=bool)
    threshold = best_threshold(distances(vectors, pairs, dev), same[dev])
    correct = (distances(vectors, pairs, test) <= threshold) == same[test]
    return {"threshold": round(threshold, 4), "accuracy": round(float(correct.mean()), 4)}


def training_rows(cache: LfwFaces, people: set[str]) -> list[Path]:
    """Return the images with a face of these people."""
    return sorted(p for p in cache.chips if p.parent.name in people)


def labelled(paths: list[Path]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Return per-image labels and the sorted names of the people."""
    names = tuple(sorted({p.parent.name for p in paths}))
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[p.parent.name] for p in paths], np.int64), names


def train(config: MetricConfig, data, epochs_label: str) -> tuple[MetricTrainer, float]:
    """Train a model for config.epochs with a progress line per epoch; return it and seconds."""
    trainer = MetricTrainer(config, data)
    started = time.perf_counter()
    for epoch in range(config.epochs):
        loss = trainer.run_epoch()
        print(f"  {epochs_label} epoch {epoch + 1}/{config.epochs}: loss {loss}", flush=True)
    return trainer, time.perf_counter() - started


def run_fold(cache: LfwFaces, pairs, folds: list[list[str]], fold: int, args) -> dict:
    """Train and score every requested model for one tested fold."""
    dev_fold = (fold + 1) % 10
    people = {n for i, names in enumerate(folds) if i not in (fold, dev_fold) for n in names}
    dev, test = pair_rows(pairs, dev_fold), pair_rows(pairs, fold)
    needed = sorted({p for i in dev + test for p in (pairs.left[i], pairs.right[i])})
    encoder = {p: cache.faces[p].vectors[ENCODER] for p in needed if p in cache.chips}
    rows = training_rows(cache, people)
    labels, names = labelled(rows)
    result: dict = {"train_people": len(names), "train_images": len(rows)}
    if "encoder" in args.models:
        result["encoder"] = score(encoder, pairs, dev, test)
    out = WORK / f"fold{fold}"
    if args.head_name in args.models:
        torch.set_num_threads(1)
        config = MetricConfig(
            family="head",
            loss=args.head_loss,
            epochs=args.head_epochs,
            learning_rate=args.head_lr,
        )
        data = EmbeddingSet(
            np.array([cache.faces[p].vectors[ENCODER] for p in rows], np.float32), labels, names
        )
        trainer, seconds = train(config, data, "head")
        trainer.family.export(trainer.model, out / f"{args.head_name}.onnx")
        head = OnnxHeadEmbedder(out / f"{args.head_name}.onnx", DlibResnetEmbedder())
        mapped = dict(zip(encoder, head.head(np.array(list(encoder.values()))), strict=True))
        probe = np.array(list(encoder.values())[:200])
        started = time.perf_counter()
        for row in probe:
            head.head(row[None])
        result[args.head_name] = {
            **score(mapped, pairs, dev, test),
            "train_seconds": round(seconds, 1),
            "embed_ms": round(1000 * (time.perf_counter() - started) / len(probe), 3),
        }
        result[args.head_name]["config"] = {
            "loss": config.loss,
            "epochs": config.epochs,
            "learning_rate": config.learning_rate,
        }
    if args.cnn_name in args.models:
        torch.set_num_threads(os.cpu_count() or 1)
        augments = tuple(a for a in args.cnn_augment.split(",") if a)
        config = MetricConfig(
            family="cnn",
            loss=args.cnn_loss,
            epochs=args.cnn_epochs,
            p=32,
            k=4,
            size=args.cnn_size,
            width=args.cnn_width,
            augment=augments,
        )
        data = ChipSet(np.array([cache.chips[p] for p in rows]), labels, names)
        trainer, seconds = train(config, data, "cnn")
        trainer.family.export(trainer.model, out / f"{args.cnn_name}.onnx")
        cnn = OnnxCnnEmbedder(out / f"{args.cnn_name}.onnx", config.size, mirror=True)
        chips = [cache.chips[p] for p in encoder]
        vectors = np.concatenate([cnn.embed(chips[i : i + 256]) for i in range(0, len(chips), 256)])
        mapped = dict(zip(encoder, vectors, strict=True))
        started = time.perf_counter()
        for chip in chips[:200]:
            cnn.embed([chip])
        result[args.cnn_name] = {
            **score(mapped, pairs, dev, test),
            "train_seconds": round(seconds, 1),
            "embed_ms": round(1000 * (time.perf_counter() - started) / min(200, len(chips)), 3),
            "config": {
                "loss": config.loss,
                "epochs": config.epochs,
                "size": config.size,
                "width": config.width,
                "augment": list(augments),
                "params": sum(p.numel() for p in trainer.model.parameters()),
            },
        }
    return result


def costs(cache: LfwFaces) -> dict[str, float]:
    """Return mean ms per image of detection + alignment and of the encoder (mirror TTA)."""
    found = [f for f in cache.faces.values() if f.box is not None]
    return {
        "detect_align_ms": round(1000 * float(np.mean([f.detect_seconds for f in found])), 1),
        "encoder_ms": round(1000 * float(np.mean([f.embed_seconds[ENCODER] for f in found])), 1),
    }


def model_names(folds: dict[str, dict]) -> list[str]:
    """Return the models in the results: encoder, head, then the CNN variants."""
    names = {key for result in folds.values() for key, v in result.items() if isinstance(v, dict)}
    return sorted(names, key=lambda n: (0 if n == "encoder" else 1 if "head" in n else 2, n))


def table(folds: dict[str, dict], cost: dict[str, float]) -> list[str]:
    """Return the markdown table over the folds each model was run on."""
    lines = [
        "| model | folds | accuracy (mean ± std) | ms per image (detect+align+embed) | embed ms |",
        "|---|---|---|---|---|",
    ]
    for model in model_names(folds):
        runs = {f: r[model] for f, r in folds.items() if model in r}
        values = np.array([run["accuracy"] for run in runs.values()])
        own_ms = [run["embed_ms"] for run in runs.values() if "embed_ms" in run]
        embed = float(np.mean(own_ms)) if own_ms else 0.0
        if model == "encoder" or "head" in model:  # a head runs after the encoder
            embed += cost["encoder_ms"]
        lines.append(
            f"| {model} | {','.join(sorted(runs, key=int))} | {100 * values.mean():.2f} ± "
            f"{100 * values.std():.2f} % | {cost['detect_align_ms'] + embed:.1f} | {embed:.2f} |"
        )
    return lines


def plot(folds: dict[str, dict], path: Path) -> None:
    """Plot each model's accuracy per tested fold."""
    figure, axis = plt.subplots(figsize=(8, 4))
    for model in model_names(folds):
        runs = sorted((int(f), 100 * r[model]["accuracy"]) for f, r in folds.items() if model in r)
        axis.plot(*zip(*runs, strict=True), marker="o", label=model)
    axis.set_xlabel("tested fold (LFW View 2)")
    axis.set_ylabel("accuracy (%)")
    axis.set_xticks(range(10))
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main() -> None:
    """Run the requested folds and models, merge into the results, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", default="0-9")
    parser.add_argument("--models", default="encoder,head")
    parser.add_argument("--head-loss", choices=["triplet", "arcface"], default="triplet")
    parser.add_argument("--head-epochs", type=int, default=10)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--head-name", default="head", help="results key and ONNX file name")
    parser.add_argument("--cnn-loss", choices=["triplet", "arcface"], default="arcface")
    parser.add_argument("--cnn-epochs", type=int, default=12)
    parser.add_argument("--cnn-size", type=int, default=64)
    parser.add_argument("--cnn-width", type=int, default=16)
    parser.add_argument("--cnn-augment", default="flip,crop,colour")
    parser.add_argument("--cnn-name", default="cnn", help="results key and ONNX file name")
    args = parser.parse_args()
    args.models = args.models.split(",")
    cache = load()
    pairs = read_lfw_pairs(LFW / "pairs.txt", LFW / "images")
    people_folds = read_people_folds(LFW / "people.txt")
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"folds": {}}
    for fold in parse_folds(args.folds):
        print(f"fold {fold}", flush=True)
        fresh = run_fold(cache, pairs, people_folds, fold, args)
        stored["folds"][str(fold)] = {**stored["folds"].get(str(fold), {}), **fresh}
        stored["costs"] = costs(cache)
        stored["host"] = f"{os.cpu_count()} cpus"
        RESULTS.write_text(json.dumps(stored, indent=2) + "\n")
        print(json.dumps({m: fresh[m] for m in args.models if m in fresh}), flush=True)
    stored["table"] = table(stored["folds"], stored["costs"])
    RESULTS.write_text(json.dumps(stored, indent=2) + "\n")
    plot(stored["folds"], RESULTS.with_suffix(".png"))
    print("\n".join(stored["table"]))


if __name__ == "__main__":
    main()
