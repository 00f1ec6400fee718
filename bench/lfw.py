"""LFW View 2 benchmark: the dlib baseline and facegate's default in one run.

Prints a table (accuracy, std, TAR@FAR, no-face images, ms per image, ratio to the baseline)
and writes JSON plus a ROC plot. `--sweep` adds the steps between baseline and default.

    python bench/lfw.py [--workers 2] [--limit N] [--sweep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from facegate.evaluate.pairs import read_pairs
from facegate.evaluate.plot import save_roc_plot
from facegate.evaluate.runner import PairsReport, evaluate_pairs
from facegate.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))


def _with(settings: Settings, **vision: object) -> Settings:
    """Return settings with some vision settings changed."""
    return settings.model_copy(update={"vision": settings.vision.model_copy(update=vision)})


def configurations(sweep: bool) -> dict[str, Settings]:
    """Return the named settings to compare, baseline first and facegate's default last."""
    default = load_settings(environ={})
    baseline = _with(
        default, detector="hog", fallback_detectors=(), tta_mirror=False, embedder_engine="dlib"
    )
    configs = {"baseline: HOG up1, 5-pt, native dlib, no TTA (face_recognition)": baseline}
    if sweep:
        onnx = _with(baseline, embedder_engine="onnx")
        configs["+ dlib ResNet on ONNX Runtime"] = onnx
        configs["+ YuNet, its box squared (no mapping)"] = _with(
            onnx, detector="yunet", yunet_box_scale=1.0, yunet_box_shift=0.0
        )
        configs["+ YuNet, box mapped dlib-like"] = _with(onnx, detector="yunet")
        configs["+ mirror TTA (= facegate default)"] = _with(
            onnx, detector="yunet", tta_mirror=True
        )
        configs["+ jitter 10"] = _with(default, jitters=10)
    configs["facegate default"] = default
    return configs


def main() -> None:
    """Run the benchmark and print / write its results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=DATA / "lfw" / "pairs.txt")
    parser.add_argument("--root", type=Path, default=DATA / "lfw" / "images")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--faces", choices=["center", "largest"], default="center")
    parser.add_argument("--sweep", action="store_true", help="Also run the intermediate settings.")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()

    pairs = read_pairs(args.pairs, args.root)
    if args.limit:
        pairs = pairs.head(args.limit)
    reports: dict[str, PairsReport] = {}
    wall: dict[str, float] = {}
    for name, settings in configurations(args.sweep).items():
        start = time.perf_counter()
        reports[name] = evaluate_pairs(pairs, settings, args.workers, args.faces)
        wall[name] = time.perf_counter() - start
        Console().print(f"done: {name} ({wall[name]:.0f} s)")

    base_ms = next(iter(reports.values())).ms_per_image
    table = Table(title=f"{args.pairs.name}: {len(pairs)} pairs, face policy {args.faces}")
    for column in (
        "configuration",
        "accuracy",
        "± std",
        "TAR@FAR=1e-3",
        "EER",
        "no face",
        "ms/image",
        "x baseline",
    ):
        table.add_column(column, justify="left" if column == "configuration" else "right")
    for name, r in reports.items():
        table.add_row(
            name,
            f"{100 * r.accuracy:.2f} %",
            f"{100 * r.accuracy_std:.2f}",
            f"{100 * r.tar_at_far_1e3:.2f} %",
            f"{100 * r.eer:.2f} %",
            str(r.no_face),
            f"{r.ms_per_image:.1f}",
            f"{r.ms_per_image / base_ms:.2f}",
        )
    Console(width=150).print(table)

    args.out.mkdir(parents=True, exist_ok=True)
    save_roc_plot(
        {n: r.roc for n, r in reports.items()}, args.out / "lfw_roc.png", "LFW View 2 ROC"
    )
    result = {
        "pairs_file": str(args.pairs),
        "pairs": len(pairs),
        "face_policy": args.faces,
        "workers": args.workers,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "ms_per_image_note": "single-process compute time per image (load, detect, align, embed)",
        "configurations": {
            name: {
                **r.as_dict(),
                "wall_seconds": round(wall[name], 1),
                "ratio_ms_to_baseline": round(r.ms_per_image / base_ms, 3),
            }
            for name, r in reports.items()
        },
    }
    (args.out / "lfw.json").write_text(json.dumps(result, indent=2))
    Console().print(f"wrote {args.out / 'lfw.json'} and {args.out / 'lfw_roc.png'}")


if __name__ == "__main__":
    main()
