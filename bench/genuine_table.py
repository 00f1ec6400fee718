"""The genuine-distance table: how far apart two photos of the same person are, on LFW View 1.

Fits the quantiles of the distances of the first site_data.GENUINE_PAIRS same-person pairs of
pairsDevTrain.txt (the people the shipped impostor table was fitted on), so `facegate doors
show` can give the false-reject rate a door's threshold implies beside its false-accept rate.
Embeddings come from bench/site_data.py's cache (the pairs missing from it are embedded).

    python bench/genuine_table.py [--workers 2] [--write-table]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from open_set import cached_embeddings
from rich.console import Console
from rich.table import Table
from site_data import CACHE, DATA, GENUINE_PAIRS, ROOT, matched_pairs

from facegate.decide.threshold import GENUINE_TABLE_PATH, fit_genuine_table


def main() -> None:
    """Fit the genuine table, print its operating points, write JSON (and the shipped table)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw", type=Path, default=DATA / "lfw")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--write-table", action="store_true", help="Write the shipped table.")
    args = parser.parse_args()
    pairs = matched_pairs(args.lfw / "pairsDevTrain.txt", args.lfw / "images", GENUINE_PAIRS)
    vectors = cached_embeddings([p for pair in pairs for p in pair], CACHE, args.workers)
    usable = [(a, b) for a, b in pairs if a in vectors and b in vectors]
    distances = np.array([float(np.linalg.norm(vectors[a] - vectors[b])) for a, b in usable])
    source = f"LFW pairsDevTrain, first {len(pairs)} same-person pairs ({len(usable)} with faces)"
    table = fit_genuine_table(distances, source)
    if args.write_table:
        table.save(GENUINE_TABLE_PATH)
    shown = Table("threshold", "FRR (same person refused)")
    for threshold in (0.25, 0.30, 0.35, 0.40, 0.42, 0.45, 0.50):
        shown.add_row(f"{threshold:.2f}", f"{100 * table.frr_at(threshold):.2f} %")
    Console().print(shown)
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"table": table.as_dict(), "pairs_without_face": len(pairs) - len(usable)}
    (args.out / "genuine_table.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
