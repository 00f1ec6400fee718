"""LFW View 2 benchmark: the dlib baseline and facegate's default in one run.

Prints a table (accuracy, std, TAR@FAR, no-face images, ms per image, ratio to the baseline)
and writes JSON plus a ROC plot: the baseline, mirror TTA on the YuNet chip, and the default
(which adds a second chip at padding 0.3, `vision.tta_paddings`). `--sweep` adds the steps in
between (the ONNX engine, YuNet with and without the dlib-like box), `--jitter` a jitter-10
step. Each detector runs once per image for all the embedders it is measured with; ms per image
is the detection (load, detect, align) plus that embedder's time.

    python bench/lfw.py [--workers 2] [--limit N] [--sweep] [--jitter]
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

from facegate.evaluate.multi import embed_with, score_embedders
from facegate.evaluate.pairs import read_pairs
from facegate.evaluate.plot import save_roc_plot
from facegate.evaluate.runner import PairsReport
from facegate.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))


def _with(settings: Settings, **vision: object) -> Settings:
    """Return settings with some vision settings changed."""
    return settings.model_copy(update={"vision": settings.vision.model_copy(update=vision)})


# (configuration, detection pass, embedder spec), the baseline first, facegate's default last;
# each detection pass detects and aligns every image once, for all of its embedders
STEPS = [
    (
        "baseline: HOG up1, 5-pt, native dlib, no TTA (face_recognition)",
        "hog",
        "native-dlib-nomirror",
    ),
    ("+ dlib ResNet on ONNX Runtime", "hog", "dlib-nomirror"),
    ("+ YuNet, its box squared (no mapping)", "yunet-raw", "dlib-nomirror"),
    ("+ YuNet, box mapped dlib-like", "yunet", "dlib-nomirror"),
    ("+ mirror TTA", "yunet", "dlib"),
    ("facegate default (+ a chip at padding 0.3, mirrored too)", "yunet", "default"),
]
JITTER_STEP = ("+ jitter 10", "yunet", "dlib-jitter10")


def detection_passes(default: Settings) -> dict[str, Settings]:
    """Return the settings of each detection pass."""
    return {
        "hog": _with(default, detector="hog", fallback_detectors=()),
        "yunet-raw": _with(default, yunet_box_scale=1.0, yunet_box_shift=0.0),
        "yunet": default,
    }


def main() -> None:
    """Run the benchmark and print / write its results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=DATA / "lfw" / "pairs.txt")
    parser.add_argument("--root", type=Path, default=DATA / "lfw" / "images")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--limit", type=int, default=None, help="First N pairs (600 per fold: 1800 = folds 0-2)."
    )
    parser.add_argument("--faces", choices=["center", "largest"], default="center")
    parser.add_argument("--sweep", action="store_true", help="Also run the steps in between.")
    parser.add_argument("--jitter", action="store_true", help="Also run + jitter 10 (slow).")
    parser.add_argument(
        "--default-only", action="store_true", help="Only facegate's default (no baseline)."
    )
    parser.add_argument(
        "--skip-baseline",
        action="store_true",
        help="Leave out the slow HOG + native dlib baseline (x baseline: to the first row).",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()

    pairs = read_pairs(args.pairs, args.root)
    if args.limit:
        pairs = pairs.head(args.limit)
    default = load_settings(environ={})
    steps = STEPS if args.sweep else [STEPS[0], STEPS[-2], STEPS[-1]]
    if args.skip_baseline:
        steps = steps[1:]
    if args.default_only:
        steps = [STEPS[-1]]
    if args.jitter:
        steps = [*steps, JITTER_STEP]
    passes = detection_passes(default)
    reports: dict[str, PairsReport] = {}
    wall: dict[str, float] = {}
    for name in dict.fromkeys(step[1] for step in steps):
        specs = [spec for _, pass_name, spec in steps if pass_name == name]
        start = time.perf_counter()
        images = embed_with(pairs.images(), passes[name], specs, args.workers, args.faces)
        wall[name] = time.perf_counter() - start
        scored = score_embedders(pairs, images, specs, default.decide.threshold)
        for label, pass_name, spec in steps:
            if pass_name == name:
                reports[label] = scored[spec]
        Console().print(f"done: detection pass {name} ({wall[name]:.0f} s)")
    reports = {label: reports[label] for label, _, _ in steps}

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
        "detection_pass_wall_seconds": {name: round(w, 1) for name, w in wall.items()},
        "configurations": {
            name: {
                **r.as_dict(),
                "ratio_ms_to_baseline": round(r.ms_per_image / base_ms, 3),
            }
            for name, r in reports.items()
        },
    }
    (args.out / "lfw.json").write_text(json.dumps(result, indent=2))
    Console().print(f"wrote {args.out / 'lfw.json'} and {args.out / 'lfw_roc.png'}")


if __name__ == "__main__":
    main()
