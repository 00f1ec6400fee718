"""Generate the presentation-attack set (facegate.stream.attacks) as videos in a cache folder.

Seeded and reproducible: the same --seed and --per-kind give the same videos. Videos go to
--out (default: $FACEGATE_CACHE or ~/.cache/facegate/attacks), never into the repository, with a
manifest.json listing each video's spec and sha256 (and, in front of walking people, the artifact's
face box per frame: only tracks on it are the attack); existing videos of the same spec are kept.

    python bench/attacks.py [--per-kind 5] [--seed 0] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from facegate.stream.attacks import AttackFrame, AttackSpec, attack_specs, render_attack
from facegate.stream.scene import write_video

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))
CACHE = Path(os.environ.get("FACEGATE_CACHE", Path.home() / ".cache" / "facegate")) / "attacks"


def _sha256(path: Path) -> str:
    """Return a file's sha256 hex digest."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _images(frames: Iterator[AttackFrame], boxes: list[list[int]]) -> Iterator[np.ndarray]:
    """Yield each frame's image, appending its face box to boxes."""
    for frame in frames:
        boxes.append(list(frame.face_box))
        yield frame.image


def face_boxes(out: Path, path: Path) -> list[list[int]] | None:
    """Return the artifact's face box (l, t, r, b) per frame of a video in front of walking
    people, or None for a still background (where every face seen is a picture)."""
    manifest = json.loads((out / "manifest.json").read_text())
    return manifest[path.name].get("face_boxes")


def ensure_videos(out: Path, per_kind: int, seed: int) -> list[tuple[AttackSpec, Path]]:
    """Return (spec, video path) of the attack set, writing the videos missing from out."""
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    videos = []
    for spec in attack_specs(DATA, per_kind, seed):
        path = out / f"{spec.name}-s{seed}.mp4"
        entry = manifest.get(path.name)
        walkers = spec.background == "crowd"
        # Entries written before a spec field existed hold its default.
        same = entry and {"small": False, **entry["spec"]} == asdict(spec)
        if not (path.exists() and same and (not walkers or "face_boxes" in entry)):
            boxes: list[list[int]] = []
            write_video(_images(render_attack(spec, DATA), boxes), path, spec.fps)
            manifest[path.name] = {"spec": asdict(spec), "sha256": _sha256(path)}
            if walkers:
                manifest[path.name]["face_boxes"] = boxes
            manifest_path.write_text(json.dumps(manifest, indent=1))
        videos.append((spec, path))
    return videos


def main() -> None:
    """Generate the set and print one row per video."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=CACHE)
    args = parser.parse_args()
    videos = ensure_videos(args.out, args.per_kind, args.seed)
    table = Table(title=f"{len(videos)} attack videos in {args.out}")
    for column in ("video", "kind", "held out", "person", "motion", "background", "size"):
        table.add_column(column)
    for spec, path in videos:
        table.add_row(
            path.name, spec.kind, "yes" if spec.held_out else "no", spec.person, spec.motion,
            spec.background, f"{spec.width}x{spec.height}",
        )  # fmt: skip
    Console().print(table)


if __name__ == "__main__":
    main()
