"""The LFW images the access-policy benches use, embedded once into a resumable cache.

Genuine pairs: the first GENUINE_PAIRS same-person pairs of pairsDevTrain.txt (the people the
shipped impostor table was fitted on). Site people: pairsDevTest.txt people (disjoint) with two
images (one enrolled, one probe), and single-image people as never-enrolled strangers. The
cache is saved every CHUNK images, so an interrupted run continues where it stopped.

    python bench/site_data.py [--workers 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from open_set import DATA, ROOT, cached_embeddings, pair_people, person_images

GENUINE_PAIRS = 400
SITE_PEOPLE = 320
STRANGERS = 150
CHUNK = 100
CACHE = ROOT / "out" / "lfw_site_embeddings.npz"


def matched_pairs(pairs_file: Path, images: Path, limit: int) -> list[tuple[Path, Path]]:
    """Return the first `limit` same-person image pairs of an LFW pairs file."""
    out = []
    for line in pairs_file.read_text().splitlines()[1:]:
        fields = line.split("\t")
        if len(fields) == 3 and len(out) < limit:
            name, a, b = fields
            folder = images / name
            out.append((folder / f"{name}_{int(a):04d}.jpg", folder / f"{name}_{int(b):04d}.jpg"))
    return out


def site_people(lfw: Path) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """Return (enrol image, probe image) of SITE_PEOPLE people and STRANGERS single images."""
    images = lfw / "images"
    pairs, singles = [], []
    for name in pair_people(lfw / "pairsDevTest.txt"):
        found = person_images(images, name, 2)
        if len(found) == 2 and len(pairs) < SITE_PEOPLE:
            pairs.append((found[0], found[1]))
        elif len(found) == 1 and len(singles) < STRANGERS:
            singles.append(found[0])
    return pairs, singles


def wanted(lfw: Path) -> list[Path]:
    """Return every image the benches need, in a fixed order."""
    genuine = matched_pairs(lfw / "pairsDevTrain.txt", lfw / "images", GENUINE_PAIRS)
    pairs, singles = site_people(lfw)
    paths = [p for pair in genuine + pairs for p in pair] + singles
    return list(dict.fromkeys(paths))


def embeddings(lfw: Path, workers: int, cache: Path = CACHE) -> dict[Path, np.ndarray]:
    """Return the embedding of every wanted image that has a face, embedding what is missing."""
    paths = wanted(lfw)
    out: dict[Path, np.ndarray] = {}
    for start in range(0, len(paths), CHUNK):
        out.update(cached_embeddings(paths[start : start + CHUNK], cache, workers))
        print(f"embedded {min(start + CHUNK, len(paths))} / {len(paths)}", flush=True)
    return out


def main() -> None:
    """Embed everything the policy benches need."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw", type=Path, default=DATA / "lfw")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    found = embeddings(args.lfw, args.workers)
    print(f"{len(found)} images with a face")


if __name__ == "__main__":
    main()
