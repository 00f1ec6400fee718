"""Real dlib LFW embeddings for the gallery-scale bench: two images each of the first N people.

    python bench/lfw_vectors.py [--people 1000] [--workers 2]

For each of the first N LFW people (by name) with at least two images, images 1 and 2 are
embedded with the shipped pipeline (largest face); image 1 is the enrolled mate, image 2 the
probe. Cached as ~/.cache/facegate-bench/lfw_vectors_<N>.npz (outside git); later runs load it.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LFW = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets")) / "lfw"
CACHE = Path.home() / ".cache" / "facegate-bench"


def cache_path(people: int) -> Path:
    """Return the cache file for the first `people` people."""
    return CACHE / f"lfw_vectors_{people}.npz"


def chosen_people(people: int) -> list[str]:
    """Return the first `people` LFW names (sorted) with at least two images."""
    names = sorted(p.name for p in (LFW / "images").iterdir() if p.is_dir())
    out = [n for n in names if (LFW / "images" / n / f"{n}_0002.jpg").exists()]
    return out[:people]


def _embed(name: str) -> tuple[str, np.ndarray | None, np.ndarray | None]:
    """Return the person's image-1 and image-2 vectors (None where no face was found)."""
    from facegate import api
    from facegate.media import load_image
    from facegate.settings import Settings

    settings = Settings()
    pipeline = api.get_pipeline(settings.vision)
    vectors: list[np.ndarray | None] = []
    for number in (1, 2):
        image = load_image(LFW / "images" / name / f"{name}_{number:04d}.jpg", settings.media)
        faces = pipeline.encode(image, policy="largest")
        vectors.append(faces[0].embedding.astype(np.float32) if faces else None)
    return name, vectors[0], vectors[1]


def load_or_embed(people: int, workers: int = 2) -> dict[str, np.ndarray]:
    """Return names, mate vectors and probe vectors of the people, embedding them if uncached."""
    path = cache_path(people)
    if path.exists():
        with np.load(path) as data:
            return {key: data[key] for key in data.files}
    started = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(_embed, chosen_people(people), chunksize=16))
    kept = [(n, a, b) for n, a, b in results if a is not None and b is not None]
    data = {
        "names": np.array([n for n, _, _ in kept]),
        "mates": np.stack([a for _, a, _ in kept]),
        "probes": np.stack([b for _, _, b in kept]),
        "seconds": np.array(time.perf_counter() - started),
    }
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **data)
    tmp.replace(path)
    return data


def main() -> None:
    """Embed (or load) the vectors and print how many there are."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    data = load_or_embed(args.people, args.workers)
    print(f"{len(data['names'])} people with two embedded images; {cache_path(args.people)}")


if __name__ == "__main__":
    main()
