"""Best-frame selection on synthetic motion-blurred LFW approaches: does the sharpest win?

Enrolls one LFW image per identity, turns another image of each person (and of people not
enrolled) into a sequence of frames with random motion blur, noise and brightness, and compares
deciding on the first frame, all frames fused, the best-k by frame_score fused, and the single
best frame. Prints a table and writes JSON to bench/results/best_frames.json.

    python bench/best_frames.py [--identities 70] [--frames 10] [--seed 0] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import platform
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from rich.console import Console
from rich.table import Table

from facegate.decide.match import (
    DEFAULT_FUSION,
    FusionRule,
    IdentifyDecision,
    identify_embedding,
    identify_frames,
)
from facegate.decide.threshold import threshold_for_gallery
from facegate.gallery import EmbeddingSet
from facegate.media import load_image
from facegate.settings import Settings, VisionSettings, load_settings
from facegate.stream.select import BestFrames, frame_score
from facegate.vision import FacePipeline
from facegate.vision.align import align_face
from facegate.vision.detect import select_faces
from facegate.vision.quality import measure_quality

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))
FPS = 10.0  # frame times for BestFrames: 10 frames span 0.9 s, inside the 2 s window

_pipeline: FacePipeline | None = None


@dataclass(frozen=True)
class Sequence:
    """One synthetic approach: whose image, which file, whether enrolled, and its seed."""

    index: int
    person: str
    path: Path
    genuine: bool


@dataclass(frozen=True)
class Frame:
    """One degraded frame: its blur, and (when a face was found) its score, size and embedding."""

    blur_px: float
    score: float | None
    face_px: int
    vector: np.ndarray | None


def motion_kernel(length: float, angle_deg: float) -> np.ndarray | None:
    """Return a normalised line kernel of length px at angle (None when under one pixel)."""
    if length < 1.0:
        return None
    size = 2 * math.ceil(length / 2) + 1
    scale = 8  # draw supersampled for sub-pixel lengths, then shrink
    canvas = np.zeros((size * scale, size * scale), dtype=np.uint8)
    centre = (size * scale - 1) / 2
    dx = math.cos(math.radians(angle_deg)) * length * scale / 2
    dy = math.sin(math.radians(angle_deg)) * length * scale / 2
    start = (round(centre - dx), round(centre - dy))
    end = (round(centre + dx), round(centre + dy))
    cv2.line(canvas, start, end, 255, thickness=scale, lineType=cv2.LINE_AA)
    kernel = cv2.resize(canvas.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    return kernel / kernel.sum()


def degrade(image: np.ndarray, blur_px: float, rng: np.random.Generator) -> np.ndarray:
    """Return image with motion blur of blur_px at a random angle, brightness change and noise."""
    kernel = motion_kernel(blur_px, rng.uniform(0.0, 180.0))
    out = image.astype(np.float32)
    if kernel is not None:
        out = cv2.filter2D(out, -1, kernel, borderType=cv2.BORDER_REFLECT)
    out = out * rng.uniform(0.8, 1.2) + rng.uniform(-15.0, 15.0)
    out += rng.normal(0.0, rng.uniform(1.0, 5.0), out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def _init_worker(vision: VisionSettings) -> None:
    """Build this worker's pipeline once."""
    global _pipeline
    _pipeline = FacePipeline(vision)


def encode_sequence(job: tuple[Sequence, int, int, str]) -> list[Frame]:
    """Return the frames of one sequence: degrade, detect + align once, score, embed in a batch."""
    seq, frames, seed, policy = job
    assert _pipeline is not None
    rng = np.random.default_rng([seed, seq.index])
    image = load_image(seq.path)
    blurs = rng.uniform(0.0, 25.0, frames)  # random order: the first frame may be any blur
    found: list[tuple[float, float, int, np.ndarray]] = []
    out: list[Frame] = []
    for blur in blurs:
        frame = degrade(image, float(blur), rng)
        boxes = select_faces(_pipeline.detector.detect(frame), policy, frame.shape)  # type: ignore[arg-type]
        if not boxes:
            out.append(Frame(float(blur), None, 0, None))
            continue
        settings = _pipeline.settings
        chip, landmarks = align_face(frame, boxes[0], settings.chip_size, settings.chip_padding)
        score = frame_score(measure_quality(chip, boxes[0]), landmarks, boxes[0])
        found.append((float(blur), score, boxes[0].width, chip))
        out.append(Frame(float(blur), score, boxes[0].width, None))
    vectors = iter(_pipeline.embedder.embed([chip for *_, chip in found]))
    return [
        Frame(f.blur_px, f.score, f.face_px, next(vectors)) if f.score is not None else f
        for f in out
    ]


def people_counts(root: Path) -> dict[str, int]:
    """Return each LFW person's image count, from lfw-names.txt / people.txt or the folders."""
    for name in ("lfw-names.txt", "people.txt"):
        path = root / name
        if path.exists():
            counts = {}
            for line in path.read_text().splitlines():
                fields = line.split()
                if len(fields) == 2 and fields[1].isdigit():
                    counts[fields[0]] = int(fields[1])
            if counts:
                return counts
    images = root / "images"
    return {p.name: len(list(p.glob("*.jpg"))) for p in images.iterdir() if p.is_dir()}


def image_path(root: Path, person: str, number: int) -> Path:
    """Return the path of a person's numbered LFW image."""
    return root / "images" / person / f"{person}_{number:04d}.jpg"


def build_gallery(
    root: Path, counts: dict[str, int], n: int, settings: Settings, rng: np.random.Generator
) -> tuple[EmbeddingSet, list[Sequence]]:
    """Return a gallery of n people (one image each) and their genuine probe sequences."""
    pipeline = FacePipeline(settings.vision)
    candidates = sorted(p for p, c in counts.items() if c >= 2)
    rng.shuffle(candidates)
    names: list[str] = []
    vectors: list[np.ndarray] = []
    sequences: list[Sequence] = []
    for person in candidates:
        if len(names) == n:
            break
        enroll, probe = rng.choice(np.arange(1, counts[person] + 1), 2, replace=False)
        faces = pipeline.encode(load_image(image_path(root, person, int(enroll))), "center")
        if not faces:
            continue
        names.append(person)
        vectors.append(faces[0].embedding)
        sequences.append(
            Sequence(len(sequences), person, image_path(root, person, int(probe)), True)
        )
    return EmbeddingSet(names, np.stack(vectors).astype(np.float32)), sequences


def impostors(
    root: Path,
    counts: dict[str, int],
    enrolled: set[str],
    n: int,
    start: int,
    rng: np.random.Generator,
) -> list[Sequence]:
    """Return n sequences from images of people not enrolled."""
    others = sorted(p for p in counts if p not in enrolled)
    chosen = rng.choice(others, n, replace=False)
    return [
        Sequence(
            start + i, str(p), image_path(root, str(p), int(rng.integers(1, counts[p] + 1))), False
        )
        for i, p in enumerate(chosen)
    ]


Chooser = Callable[[list[Frame]], list[Frame]]


def strategies(k: int, min_face_px: int) -> dict[str, tuple[Chooser, FusionRule]]:
    """Return each strategy's frame chooser (which frames it embeds) and fusion rule."""

    def best(count: int) -> Callable[[list[Frame]], list[Frame]]:
        def choose(frames: list[Frame]) -> list[Frame]:
            select = BestFrames[Frame](
                load_settings(environ={}).select.model_copy(
                    update={"best_k": count, "min_face_px": min_face_px}
                )
            )
            for i, f in enumerate(frames):
                if f.score is not None:
                    select.add(f, f.score, i / FPS, f.face_px)
            return select.best()

        return choose

    def detected(frames: list[Frame]) -> list[Frame]:
        return [f for f in frames if f.vector is not None]

    return {
        "first frame": (lambda frames: detected(frames)[:1], DEFAULT_FUSION),
        "all frames, mean embedding": (detected, "mean_embedding"),
        f"best-{k} by score, mean of best majority": (best(k), "mean_best"),
        f"best-{k} by score, median": (best(k), "median"),
        f"best-{k} by score, majority vote": (best(k), "vote"),
        f"best-{k} by score, mean embedding": (best(k), "mean_embedding"),
        "best-3 by score, mean embedding": (best(3), "mean_embedding"),
        "best-3 by score, mean of best majority": (best(3), "mean_best"),
        "best frame by score": (best(1), DEFAULT_FUSION),
        "least-blurred frame (oracle)": (
            lambda frames: sorted(detected(frames), key=lambda f: f.blur_px)[:1],
            DEFAULT_FUSION,
        ),
    }


def decide(
    chosen: list[Frame], gallery: EmbeddingSet, settings: Settings, rule: FusionRule
) -> IdentifyDecision | None:
    """Return the decision on the chosen frames, fused by the rule (one frame: identify)."""
    if not chosen:
        return None
    threshold = threshold_for_gallery(settings.decide, len(gallery))
    vectors = np.stack([f.vector for f in chosen])  # type: ignore[misc]
    return identify_frames(vectors, gallery, threshold, settings.decide.identify_k, rule)


def main() -> None:
    """Build the sequences, embed every frame once, and compare the strategies."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DATA / "lfw")
    parser.add_argument("--identities", type=int, default=75)
    parser.add_argument("--impostors", type=int, default=None, help="Default: = identities.")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--reuse", action="store_true", help="Reuse the degraded frames' embeddings from out/."
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    start = time.perf_counter()

    settings = load_settings(environ={})
    # Live frames as the access loop sees them: no slow fallback detectors, the loop's TTA.
    live = settings.vision.model_copy(
        update={"fallback_detectors": (), "tta_mirror": settings.loop.tta_mirror}
    )
    policy = "center"  # LFW is cropped around the labelled face
    rng = np.random.default_rng(args.seed)
    counts = people_counts(args.root)
    gallery, genuine = build_gallery(args.root, counts, args.identities, settings, rng)
    fake = impostors(
        args.root, counts, set(gallery.names), args.impostors or args.identities, len(genuine), rng
    )
    sequences = genuine + fake
    jobs = [(s, args.frames, args.seed, policy) for s in sequences]
    cache = ROOT / "out" / f"best_frames_seed{args.seed}_{args.frames}f_{len(jobs)}.pkl"
    if args.reuse and cache.exists():
        encoded = pickle.loads(cache.read_bytes())
    else:
        with ProcessPoolExecutor(args.workers, initializer=_init_worker, initargs=(live,)) as pool:
            encoded = list(pool.map(encode_sequence, jobs, chunksize=4))
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(encoded))
    embed_seconds = time.perf_counter() - start

    k = settings.select.best_k
    choosers = strategies(k, settings.select.min_face_px)
    results: dict[str, dict[str, float | int]] = {}
    correct: dict[str, list[bool]] = {}
    for name, (choose, rule) in choosers.items():
        ok = reject = wrong = accept = embeds = 0
        flags = []
        for seq, frames in zip(sequences, encoded, strict=True):
            chosen = choose(frames)
            embeds += len(chosen)
            decision = decide(chosen, gallery, settings, rule)
            person = decision.person if decision else None
            if seq.genuine:
                ok += person == seq.person
                reject += person is None
                wrong += person is not None and person != seq.person
                flags.append(person == seq.person)
            else:
                accept += person is not None
        correct[name] = flags
        results[name] = {
            "genuine_accuracy": ok / len(genuine),
            "false_rejects": reject,
            "misidentifications": wrong,
            "impostor_false_accepts": accept,
            "false_accept_rate": accept / len(fake),
            "embeddings_per_sequence": embeds / len(sequences),
        }

    frames = [f for seq in encoded for f in seq]
    detected = [f for f in frames if f.score is not None]
    genuine_frames = [
        (f, seq.person) for s, seq in zip(encoded, sequences, strict=True) if seq.genuine for f in s
    ]
    per_frame = [
        identify_embedding(
            f.vector, gallery, threshold_for_gallery(settings.decide, len(gallery))
        ).person
        == person
        for f, person in genuine_frames
        if f.vector is not None
    ]
    blur = np.array([f.blur_px for f in detected])
    score = np.array([f.score for f in detected], dtype=np.float64)
    rank_corr = float(
        np.corrcoef(np.argsort(np.argsort(blur)), np.argsort(np.argsort(score)))[0, 1]
    )
    first_detected_blur = [
        next((f.blur_px for f in s if f.score is not None), math.nan) for s in encoded
    ]
    base = next(iter(correct))
    paired = {
        name: {
            "wins_vs_first": sum(b and not a for a, b in zip(correct[base], flags, strict=True)),
            "losses_vs_first": sum(a and not b for a, b in zip(correct[base], flags, strict=True)),
        }
        for name, flags in correct.items()
        if name != base
    }
    wall = time.perf_counter() - start

    table = Table(
        title=f"{len(genuine)} genuine + {len(fake)} impostor sequences x {args.frames} frames, "
        f"1:N threshold {threshold_for_gallery(settings.decide, len(gallery)):.3f}, "
        f"seed {args.seed}"
    )
    for column in (
        "strategy",
        "id accuracy",
        "false rejects",
        "misidentified",
        "FAR",
        "embeds/seq",
        "vs first (+/-)",
    ):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for name, r in results.items():
        p = paired.get(name)
        table.add_row(
            name,
            f"{100 * r['genuine_accuracy']:.1f} %",
            str(r["false_rejects"]),
            str(r["misidentifications"]),
            f"{100 * r['false_accept_rate']:.1f} % ({r['impostor_false_accepts']})",
            f"{r['embeddings_per_sequence']:.2f}",
            f"+{p['wins_vs_first']} / -{p['losses_vs_first']}" if p else "",
        )
    console = Console(width=150)
    console.print(table)
    console.print(
        f"frames: {len(frames)}, no face: {len(frames) - len(detected)}; "
        f"single-frame genuine accuracy {100 * np.mean(per_frame):.1f} %; "
        f"rank corr(blur, frame_score) {rank_corr:.2f}; wall {wall:.0f} s"
    )

    args.out.mkdir(parents=True, exist_ok=True)
    result = {
        "seed": args.seed,
        "identities": len(genuine),
        "impostor_sequences": len(fake),
        "frames_per_sequence": args.frames,
        "degradation": {
            "motion_blur_px": [0, 25],
            "blur_angle_deg": [0, 180],
            "gain": [0.8, 1.2],
            "offset": [-15, 15],
            "noise_sigma": [1, 5],
            "order": "random (uniform blur per frame)",
        },
        "settings": {
            "threshold": threshold_for_gallery(settings.decide, len(gallery)),
            "identify_k": settings.decide.identify_k,
            "best_k": k,
            "fusion": settings.select.fusion,
            "min_face_px": settings.select.min_face_px,
            "tta_mirror": live.tta_mirror,
            "jitters": live.jitters,
            "frame_detector": "HOG upsample 1, no fallbacks (live loop)",
            "enroll_detector": "default with fallbacks "
            + ",".join(settings.vision.fallback_detectors),
            "face_policy": policy,
        },
        "frames": len(frames),
        "frames_no_face": len(frames) - len(detected),
        "single_frame_genuine_accuracy": float(np.mean(per_frame)),
        "rank_correlation_blur_vs_frame_score": rank_corr,
        "mean_blur_px_first_detected_frame": float(np.nanmean(first_detected_blur)),
        "strategies": {name: {**r, **paired.get(name, {})} for name, r in results.items()},
        "embeddings_note": "every detected frame is embedded once and reused; "
        "embeddings_per_sequence is what each strategy alone needs (all but 'first frame' "
        "detect + score every frame; 'first frame' detects only up to the first face)",
        "wall_seconds": round(wall, 1),
        "embed_seconds": round(embed_seconds, 1),
        "workers": args.workers,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    (args.out / "best_frames.json").write_text(json.dumps(result, indent=2))
    console.print(f"wrote {args.out / 'best_frames.json'}")


if __name__ == "__main__":
    main()
