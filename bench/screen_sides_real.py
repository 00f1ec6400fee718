"""Screen-sides cue on real photos: how often it sees a held artifact's sides around a real face.

The cue (vision/liveness/screen.py) works on one frame; a track is a replay when its sides show
in liveness.screen_present_fraction of its frames. Real footage of people at doors is scarce
here, so this bench runs the single-frame cue on LFW's photos (real people in real scenes: press
photos, most with the neck and shoulders in view): the largest face of each photo (the loop's
detector), the share of photos whose view reaches far enough below the chin to judge, and of
those the share where both sides were found (a false sign of a screen, or a real one: LFW also
holds photos of screens and prints). Prints a table and writes
bench/results/screen_sides_lfw.json with the names of the photos it flagged.

    python bench/screen_sides_real.py [--limit N] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import cv2
import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

from facegate.settings import load_settings
from facegate.stream.loop import loop_pipeline
from facegate.vision.liveness.rectangle import region_lines
from facegate.vision.liveness.screen import screen_sides

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))


def main() -> None:
    """Run the cue over LFW photos, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="photos to sample (0: all)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    paths = sorted((DATA / "lfw" / "images").glob("*/*.jpg"))
    if not paths:
        raise SystemExit(f"no LFW photos under {DATA / 'lfw' / 'images'} (set FACEGATE_DATA)")
    if args.limit:
        rng = np.random.default_rng(args.seed)
        paths = [paths[i] for i in sorted(rng.choice(len(paths), args.limit, replace=False))]
    load_start = list(os.getloadavg())
    settings = load_settings()
    s = settings.liveness
    detector = loop_pipeline(settings).detector
    faces = judged = 0
    flagged: list[str] = []
    cue_ms: list[float] = []
    for path in track(paths, description="photos"):
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        boxes = detector.detect(image)
        if not boxes:
            continue
        faces += 1
        box = max(boxes, key=lambda b: b.width * b.height)
        start = time.perf_counter()
        lines = region_lines(image, box, s)
        found = screen_sides(lines, s) if lines is not None else None
        cue_ms.append((time.perf_counter() - start) * 1000)
        if lines is None or lines.bottom + s.screen_reach_below * lines.height_px > lines.height:
            continue  # the photo ends before a shoulder would hide an edge: nothing to judge
        judged += 1
        if found is not None:
            flagged.append(f"{path.parent.name}/{path.name}")
    table = Table(title="Screen sides on real photos (LFW, the largest face per photo)")
    for column in ("photos", "with a face", "judged", "sides found", "share of judged"):
        table.add_column(column, justify="right")
    share = len(flagged) / judged if judged else 0.0
    table.add_row(str(len(paths)), str(faces), str(judged), str(len(flagged)), f"{share:.2%}")
    console = Console()
    console.print(table)
    console.print(f"region edges + screen sides: median {np.median(cue_ms):.2f} ms per face")
    result = {
        "what": "screen-sides cue, single frames of real photos (LFW): share with sides found",
        "settings": s.model_dump(),
        "photos": len(paths),
        "faces": faces,
        "judged": judged,
        "sides_found": len(flagged),
        "share_of_judged": share,
        "flagged": flagged,
        "cue_ms_median": float(np.median(cue_ms)) if cue_ms else None,
        "limit": args.limit,
        "seed": args.seed,
        "load_average_start": load_start,
        "load_average": list(os.getloadavg()),
        "platform": platform.platform(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "screen_sides_lfw.json"
    out.write_text(json.dumps(result, indent=2))
    console.print(f"wrote {out}")


if __name__ == "__main__":
    main()
