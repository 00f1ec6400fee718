"""Open-set identification on LFW: how often a stranger is named, by gallery size and threshold.

Calibrates the impostor-distance tail on LFW View 1's training people (pairsDevTrain.txt, one
image each, every cross pair), writes it as the package's shipped table, then measures 1:N
identification on View 1's test people (pairsDevTest.txt, disjoint): for gallery sizes N, one
image of each of N people is enrolled, their other image is a genuine probe, and every
non-enrolled test person is a stranger. Reports the false-positive identification rate
(strangers named: an unlock for someone not enrolled) and the false-negative identification
rate (enrolled people not named, or named as someone else) at the fixed 1:1 threshold and at
the gallery-size-aware threshold, and plots both against N.

    python bench/open_set.py [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from rich.console import Console
from rich.table import Table

from facegate.decide.threshold import (
    IMPOSTOR_TAIL_PATH,
    ImpostorTail,
    fit_impostor_tail,
    identify_threshold,
)
from facegate.evaluate.runner import embed_images
from facegate.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))
GALLERY_SIZES = (1, 10, 100, 300)
FPIR_TARGETS = (0.01, 0.001)
TRIALS = 20


def pair_people(pairs_file: Path) -> list[str]:
    """Return the people named in an LFW pairs file, sorted."""
    names: set[str] = set()
    for line in pairs_file.read_text().splitlines()[1:]:
        fields = line.split("\t")
        names.update(fields[0::2] if len(fields) == 4 else fields[:1])
    return sorted(names)


def person_images(root: Path, name: str, limit: int) -> list[Path]:
    """Return up to `limit` of a person's LFW images, in file order."""
    return sorted((root / name).glob("*.jpg"))[:limit]


def cached_embeddings(paths: list[Path], cache: Path, workers: int) -> dict[Path, np.ndarray]:
    """Return the default pipeline's embedding per image (None-free), reusing a cache file."""
    known: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache) as stored:
            known = {name: stored[name] for name in stored.files}
    missing = [p for p in paths if str(p) not in known]
    if missing:
        settings = load_settings(environ={})
        for path, item in embed_images(missing, settings, workers, "center").items():
            known[str(path)] = (
                item.vector if item.vector is not None else np.zeros(0, dtype=np.float32)
            )
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **known)
    return {p: known[str(p)] for p in paths if known[str(p)].size}


@dataclass(frozen=True)
class Rates:
    """Open-set error rates of one gallery size and threshold, over random trials."""

    fpir: float
    fnir: float
    strangers: int
    genuine: int


def open_set_rates(
    enrolled: np.ndarray,
    probes: np.ndarray,
    strangers: np.ndarray,
    size: int,
    threshold: float,
    rng: np.random.Generator,
) -> Rates:
    """Return FPIR / FNIR for galleries of `size` random people (row i of probes = person i)."""
    false_pos = false_neg = n_strangers = n_genuine = 0
    for _ in range(TRIALS):
        chosen = rng.choice(len(enrolled), size, replace=False)
        gallery = enrolled[chosen]
        outsiders = np.setdiff1d(np.arange(len(enrolled)), chosen)
        impostors = np.concatenate([strangers, enrolled[outsiders]])
        stranger_nearest = np.linalg.norm(impostors[:, None] - gallery[None], axis=2).min(axis=1)
        false_pos += int((stranger_nearest <= threshold).sum())
        n_strangers += len(impostors)
        dist = np.linalg.norm(probes[chosen][:, None] - gallery[None], axis=2)
        named = (dist.min(axis=1) <= threshold) & (dist.argmin(axis=1) == np.arange(size))
        false_neg += int((~named).sum())
        n_genuine += size
    return Rates(false_pos / n_strangers, false_neg / n_genuine, n_strangers, n_genuine)


def main() -> None:
    """Calibrate the impostor tail, measure open-set rates, print a table, write JSON + plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw", type=Path, default=DATA / "lfw")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=ROOT / "out" / "lfw_view1_embeddings.npz")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--write-table", action="store_true", help="Overwrite the shipped impostor-tail table."
    )
    args = parser.parse_args()
    images = args.lfw / "images"
    train_people = pair_people(args.lfw / "pairsDevTrain.txt")
    test_people = pair_people(args.lfw / "pairsDevTest.txt")
    train_paths = [p for n in train_people for p in person_images(images, n, 1)]
    test_paths = [p for n in test_people for p in person_images(images, n, 2)]
    vectors = cached_embeddings(train_paths + test_paths, args.cache, args.workers)

    train = np.stack([vectors[p] for p in train_paths if p in vectors])
    tail = fit_impostor_tail(train, source=f"LFW pairsDevTrain people, {len(train)} images")
    if args.write_table:
        tail.save(IMPOSTOR_TAIL_PATH)
    shipped = ImpostorTail.load(IMPOSTOR_TAIL_PATH) if IMPOSTOR_TAIL_PATH.exists() else tail

    pairs = [person_images(images, n, 2) for n in test_people]
    both = [(a, b) for a, b in (p for p in pairs if len(p) == 2) if a in vectors and b in vectors]
    enrolled = np.stack([vectors[a] for a, _ in both])
    probes = np.stack([vectors[b] for _, b in both])
    singles = [p[0] for p in pairs if len(p) == 1 and p[0] in vectors]
    strangers = np.stack([vectors[p] for p in singles])

    base = load_settings(environ={}).decide.threshold
    rng = np.random.default_rng(0)
    rows = []
    for size in (s for s in GALLERY_SIZES if s < len(enrolled)):
        rules = {"fixed 1:1": base} | {
            f"FPIR {t:g}": identify_threshold(size, t, shipped, base) for t in FPIR_TARGETS
        }
        for rule, threshold in rules.items():
            rates = open_set_rates(enrolled, probes, strangers, size, threshold, rng)
            rows.append({"gallery": size, "rule": rule, "threshold": threshold, **vars(rates)})

    table = Table("gallery N", "rule", "threshold", "FPIR (strangers named)", "FNIR (missed)")
    for row in rows:
        table.add_row(
            str(row["gallery"]),
            row["rule"],
            f"{row['threshold']:.3f}",
            f"{100 * row['fpir']:.2f} %",
            f"{100 * row['fnir']:.2f} %",
        )
    Console().print(table)
    result = {
        "calibration": tail.as_dict(),
        "evaluation": {
            "people": "LFW pairsDevTest (disjoint from calibration)",
            "enrollable": len(enrolled),
            "single_image_strangers": len(strangers),
            "trials": TRIALS,
        },
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "open_set.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(rows, args.out / "open_set.png")


def plot(rows: list[dict], path: Path) -> None:
    """Plot FPIR and FNIR against gallery size, one line per threshold rule."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for rule in dict.fromkeys(r["rule"] for r in rows):
        mine = [r for r in rows if r["rule"] == rule]
        sizes = [r["gallery"] for r in mine]
        axes[0].plot(sizes, [100 * r["fpir"] for r in mine], marker="o", label=rule)
        axes[1].plot(sizes, [100 * r["fnir"] for r in mine], marker="o", label=rule)
    titles = ("strangers named (FPIR, %)", "enrolled missed (FNIR, %)")
    for ax, title in zip(axes, titles, strict=True):
        ax.set_xscale("log")
        ax.set_xlabel("people enrolled (N)")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.suptitle("LFW View 1 test people: open-set identification by gallery size")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
