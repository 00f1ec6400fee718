"""Embedding ms per face: dlib's native ResNet vs facegate's ONNX conversion of it.

Chips are real aligned LFW faces; each configuration embeds batches of 1 or 5 chips (no TTA,
so one forward pass per chip), --repeats times, and reports the median ms per face. ONNX
Runtime runs with 1 or 2 intra-op threads; dlib's native code with its own (single) thread.
Also the largest difference between the two engines' descriptors on these chips. Prints a
table and writes bench/results/embed.json.

    python bench/embed.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from facegate.media import load_image
from facegate.settings import VisionSettings
from facegate.vision.embed_onnx import OnnxDlibEmbedder
from facegate.vision.models import resnet_encoder
from facegate.vision.pipeline import FacePipeline

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))
PEOPLE = ["Colin_Powell", "George_W_Bush", "Serena_Williams", "Tony_Blair", "Ariel_Sharon"]


def median_ms_per_face(
    run: Callable[[list[np.ndarray]], object], chips: list[np.ndarray], repeats: int
) -> float:
    """Return the median ms per face of run(chips) over repeats calls (after one warm-up)."""
    run(chips)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(chips)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times)) / len(chips)


def main() -> None:
    """Run the benchmark and print / write its results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    pipeline = FacePipeline(VisionSettings(multi_face="center"))
    chips = [
        pipeline.align(load_image(DATA / "lfw" / "images" / name / f"{name}_0001.jpg"))[0]
        for name in PEOPLE
    ]
    native = resnet_encoder()
    engines = {
        "dlib native": lambda batch: native.compute_face_descriptor(batch, 0),
        "ONNX Runtime, 1 thread": OnnxDlibEmbedder(mirror=False, threads=1).descriptors,
        "ONNX Runtime, 2 threads": OnnxDlibEmbedder(mirror=False, threads=2).descriptors,
    }
    rows = {}
    for name, run in engines.items():
        rows[name] = {
            f"batch {size}": round(median_ms_per_face(run, chips[:size], args.repeats), 2)
            for size in (1, 5)
        }
    reference = np.array(native.compute_face_descriptor(chips, 0), np.float32)
    converted = engines["ONNX Runtime, 1 thread"](chips)
    max_diff = float(np.abs(reference - converted).max())

    table = Table(title=f"dlib ResNet, ms per face (median of {args.repeats}), 5 LFW chips")
    for column in ("engine", "batch 1", "batch 5", "x native (batch 1)"):
        table.add_column(column, justify="left" if column == "engine" else "right")
    base = rows["dlib native"]["batch 1"]
    for name, row in rows.items():
        table.add_row(
            name, f"{row['batch 1']:.2f}", f"{row['batch 5']:.2f}", f"{base / row['batch 1']:.1f}"
        )
    Console(width=120).print(table)
    Console().print(f"largest |native - ONNX| over the descriptors: {max_diff:.2e}")
    args.out.mkdir(parents=True, exist_ok=True)
    result = {
        "chips": len(chips),
        "repeats": args.repeats,
        "machine_cpus": os.cpu_count(),
        "ms_per_face": rows,
        "max_abs_descriptor_difference": max_diff,
    }
    (args.out / "embed.json").write_text(json.dumps(result, indent=2))
    Console().print(f"wrote {args.out / 'embed.json'}")


if __name__ == "__main__":
    main()
