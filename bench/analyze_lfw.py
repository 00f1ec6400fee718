"""Error analysis of the shipped encoder on LFW View 2 (pairs.txt, 10 folds).

The training error for the bias / variance diagnosis is measured on pairsDevTrain.txt at its
own best threshold (the shipped encoder never saw LFW, so this is the error of the fitted
threshold on training pairs; the train branch's models will give their own). Images shared by
the two pair sets are detected and embedded once.

    python bench/analyze_lfw.py [--workers 2] [--limit N] [--train-limit N] [--cache]

--cache reads every image's face and vectors from bench/lfw_cache.py's cache (detected and
embedded once for all the LFW benches) instead of detecting and embedding here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from facegate.evaluate.analyze import analyze_pairs, train_error
from facegate.evaluate.html import render_analysis
from facegate.evaluate.multi import embed_with
from facegate.evaluate.pairs import read_pairs
from facegate.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))
SPEC = "default"


def main() -> None:
    """Run the analysis and write the HTML report and JSON next to the other results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=DATA / "lfw" / "pairs.txt")
    parser.add_argument("--train-pairs", type=Path, default=DATA / "lfw" / "pairsDevTrain.txt")
    parser.add_argument("--root", type=Path, default=DATA / "lfw" / "images")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--cache", action="store_true", help="use bench/lfw_cache.py's cache")
    args = parser.parse_args()
    settings = load_settings(environ={})
    dev = read_pairs(args.pairs, args.root)
    train = read_pairs(args.train_pairs, args.root)
    if args.limit:
        dev = dev.head(args.limit)
    if args.train_limit:
        train = train.head(args.train_limit)
    paths = sorted(set(dev.images()) | set(train.images()))
    start = time.perf_counter()
    if args.cache:
        from lfw_cache import load

        cached = load(args.root).faces
        images = {p: cached[p] for p in paths}
    else:
        images = embed_with(paths, settings, [SPEC], args.workers)
    seconds = time.perf_counter() - start
    training = train_error(train, {p: images[p] for p in train.images()}, SPEC)
    dev_images = {p: images[p] for p in dev.images()}
    analysis = analyze_pairs(dev, dev_images, SPEC, settings.decide.threshold, None, training)
    args.out.mkdir(parents=True, exist_ok=True)
    title = f"facegate analyze: LFW {args.pairs.name}, shipped encoder"
    (args.out / "analyze_lfw.html").write_text(render_analysis(analysis, dev_images, title))
    result = {
        "dev_pairs": len(dev),
        "dev_pairs_of": args.pairs.name,
        "train_pairs": len(train),
        "train_pairs_of": args.train_pairs.name,
        "images_embedded": len(paths),
        "workers": args.workers,
        "from_cache": args.cache,
        "wall_seconds": round(seconds, 1),
        "ms_per_image": round(
            1000 * sum(f.embedding(SPEC).seconds for f in images.values()) / len(images), 1
        ),
        "host": f"{platform.machine()}, {os.cpu_count()} cpus",
        **analysis.as_dict(),
    }
    (args.out / "analyze_lfw.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{analysis.errors} errors in {len(dev)} pairs, embedded {len(paths)} images in "
        f"{seconds:.0f} s"
    )
    for line in analysis.diagnosis.lines():
        print(line)
    for item in analysis.slices[:8]:
        print(f"  {item.tag}: {item.errors}/{item.pairs} ({item.excess_errors:+.1f} excess)")


if __name__ == "__main__":
    main()
