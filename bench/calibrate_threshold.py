"""Calibrate the default distance threshold on LFW View 1 (pairsDevTrain.txt).

Picks the threshold that maximises accuracy on the 2,200 training pairs of View 1 (never View 2,
which is kept for the reported figure), prints FAR / FRR at nearby thresholds, writes JSON and a
plot of the error rates against the threshold.

    python bench/calibrate_threshold.py [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from rich.console import Console
from rich.table import Table

from facegate.evaluate.metrics import accuracy_at, best_threshold
from facegate.evaluate.pairs import read_pairs
from facegate.evaluate.runner import evaluate_pairs
from facegate.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))


def rates(dist: np.ndarray, same: np.ndarray, threshold: float) -> tuple[float, float]:
    """Return (false accept rate, false reject rate) at a threshold."""
    accepted = dist <= threshold
    return float(accepted[~same].mean()), float((~accepted[same]).mean())


def main() -> None:
    """Run the calibration and print / write its results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=DATA / "lfw" / "pairsDevTrain.txt")
    parser.add_argument("--root", type=Path, default=DATA / "lfw" / "images")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()

    settings = load_settings(environ={})
    report = evaluate_pairs(read_pairs(args.pairs, args.root), settings, args.workers)
    dist, same = report.distances, report.same
    best = best_threshold(dist, same)
    rounded = round(best, 2)
    table = Table(
        "threshold", "accuracy", "FAR", "FRR", title=f"{args.pairs.name}: {len(same)} pairs"
    )
    rows = []
    for threshold in sorted({*np.round(np.arange(0.30, 0.61, 0.05), 2), rounded, round(best, 4)}):
        far, frr = rates(dist, same, threshold)
        acc = accuracy_at(dist, same, threshold)
        rows.append({"threshold": float(threshold), "accuracy": acc, "far": far, "frr": frr})
        table.add_row(
            f"{threshold:.4g}", f"{100 * acc:.2f} %", f"{100 * far:.2f} %", f"{100 * frr:.2f} %"
        )
    console = Console()
    console.print(table)
    console.print(
        f"best threshold {best:.4f} -> default {rounded:.2f}; no face in {report.no_face} images"
    )

    args.out.mkdir(parents=True, exist_ok=True)
    grid = np.linspace(0.2, 0.8, 121)
    curves = np.array([rates(dist, same, t) for t in grid])
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.plot(grid, 100 * curves[:, 0], label="false accept rate")
    ax.plot(grid, 100 * curves[:, 1], label="false reject rate")
    ax.axvline(rounded, color="grey", linestyle="--", label=f"default {rounded:.2f}")
    ax.set_xlabel("distance threshold")
    ax.set_ylabel("%")
    ax.set_title("LFW View 1 (pairsDevTrain): error rates vs threshold")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out / "threshold.png")
    result = {
        "pairs_file": str(args.pairs),
        "best_threshold": best,
        "default_threshold": rounded,
        "rows": rows,
        "report": report.as_dict(),
    }
    (args.out / "threshold.json").write_text(json.dumps(result, indent=2))
    console.print(f"wrote {args.out / 'threshold.json'} and {args.out / 'threshold.png'}")


if __name__ == "__main__":
    main()
