"""The genuine-distance table: how far apart two photos of the same person are, on LFW View 1.

Embeds the same-person pairs of pairsDevTrain.txt (the people the shipped impostor table was
fitted on) and writes the quantiles of their distances, so `facegate doors show` can give the
false-reject rate a door's threshold implies beside its false-accept rate. Also embeds what
bench/open_set.py and bench/policy.py read (one shared cache file).

    python bench/genuine_table.py [--workers 2] [--write-table]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from open_set import DATA, ROOT, cached_embeddings, pair_people, person_images
from rich.console import Console
from rich.table import Table

from facegate.decide.threshold import GENUINE_TABLE_PATH, fit_genuine_table


def matched_pairs(pairs_file: Path, images: Path) -> list[tuple[Path, Path]]:
    """Return the same-person image pairs of an LFW pairs file."""
    out = []
    for line in pairs_file.read_text().splitlines()[1:]:
        fields = line.split("\t")
        if len(fields) == 3:
            name, a, b = fields
            out.append(
                (
                    images / name / f"{name}_{int(a):04d}.jpg",
                    images / name / f"{name}_{int(b):04d}.jpg",
                )
            )
    return out


def main() -> None:
    """Embed, fit the genuine table, print its operating points, write JSON (and the table)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw", type=Path, default=DATA / "lfw")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=ROOT / "out" / "lfw_view1_embeddings.npz")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--write-table", action="store_true", help="Write the shipped table.")
    args = parser.parse_args()
    images = args.lfw / "images"
    pairs = matched_pairs(args.lfw / "pairsDevTrain.txt", images)
    train = [
        p for n in pair_people(args.lfw / "pairsDevTrain.txt") for p in person_images(images, n, 1)
    ]
    test = [
        p for n in pair_people(args.lfw / "pairsDevTest.txt") for p in person_images(images, n, 2)
    ]
    wanted = sorted({p for pair in pairs for p in pair} | set(train) | set(test))
    vectors = cached_embeddings(wanted, args.cache, args.workers)
    usable = [(a, b) for a, b in pairs if a in vectors and b in vectors]
    distances = np.array([float(np.linalg.norm(vectors[a] - vectors[b])) for a, b in usable])
    table = fit_genuine_table(distances, f"LFW pairsDevTrain same-person pairs, {len(usable)}")
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
