"""Wake-phrase benchmark on real voices only: detection, false accepts per hour, cost, latency.

(a) "activate", leave one recording out: each model is tested only on the real CS230
"activate" recordings its manifest does not list among its training phrases (activate-1 was
trained with recording 1 and is the shipped model, so it is tested on recording 2; activate-2
the other way round), laid on the two real backgrounds (background 1 was in training,
background 2 never) at random places and gains; false accepts on real non-phrase audio nobody
trained on: nicolas' 500 FSDD digits and the CS230 negatives kept out of training (4*, 5*,
recording, wissal), mixed over both backgrounds at random gains and gaps, looped several times
with fresh mixing.
(b) "nine" trained on espeak-ng only vs espeak-ng plus george, jackson and lucas: tested on
nicolas (never trained on): his 50 nines on the backgrounds; false accepts on his 450 other
digits, the held-out negatives and the backgrounds, mixed the same way. A detection counts
when it lands within trigger_train.match_tolerance_s of the phrase's end; every other
detection is a false accept.
(c) Cost, one process on one core (onnxruntime 1 thread, OMP_NUM_THREADS=1): seconds per
second of audio (real-time factor) for each cascade stage on 60 s of digital silence, of the
real backgrounds, and of continuous real speech (FSDD digits back to back); the share of
blocks that reach the VAD network and the trigger model; and the trigger model alone on
every block (no VAD in front). (d) Time from the phrase's end to the event: the stream-time
delay until the detection fires plus the compute time of the block that fired it.

    python bench/wake.py --models DIR [--loops 3] [--thresholds card,0.9,0.5] [--out DIR]

DIR is what bench/wake_models.sh wrote (DIR/activate-1, DIR/activate-2, DIR/nine-synth,
DIR/nine-real); activate-1 is the shipped model when DIR/activate-1 is missing.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from facegate.audio.cascade import Listener, WakeEvent
from facegate.audio.sources import blocks, read_wav
from facegate.audio.trigger import shipped_model
from facegate.settings import AudioSettings, TriggerTrainSettings
from facegate.training.trigger_data import RATE, trim

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACEGATE_DATA", ROOT.parent / "shared" / "datasets"))
SPEECH = DATA / "speech"
TEST_SPEAKER = "nicolas"
GAP_S = (0.6, 2.5)  # silence (background only) between inserted words
GAIN_DB = (-18.0, 0.0)  # peak level of each inserted word, dB below full scale
BACKGROUND_DB = (-6.0, 3.0)  # gain applied to each background copy
POSITIVE_INSERTIONS = 40  # per recording set and background, for the detection streams
COST_SECONDS = 60.0


@dataclass(frozen=True)
class Stream:
    """A long test recording and where each phrase in it ends (s)."""

    audio: np.ndarray
    phrase_ends: tuple[float, ...]

    @property
    def hours(self) -> float:
        """Return the stream's length in hours."""
        return len(self.audio) / RATE / 3600


def held_out(negative: Path) -> bool:
    """Return whether a CS230 negative is kept out of training (bench/wake_models.sh)."""
    return not (negative.name[0] in "123" or negative.stem in ("flute", "piano"))


def unseen(model: Path, paths: list[Path]) -> list[Path]:
    """Return the recordings that a model's manifest does not list among its training phrases."""
    manifest = json.loads(model.with_suffix(".manifest.json").read_text())
    seen = {word.get("path") for word in manifest["train"]["positives"]}
    return [p for p in paths if p.relative_to(SPEECH).as_posix() not in seen]


def load(paths: list[Path], trimmed: bool = True) -> list[np.ndarray]:
    """Return recordings at 16 kHz mono (trimmed of silence at both ends)."""
    settings, dbfs = AudioSettings(), TriggerTrainSettings().trim_dbfs
    return [trim(read_wav(p, settings), dbfs) if trimmed else read_wav(p, settings) for p in paths]


def mix(
    backgrounds: list[np.ndarray], words: list[tuple[np.ndarray, bool]], rng: np.random.Generator
) -> Stream:
    """Return the words in order, at random gaps and gains, over looped backgrounds."""
    gaps = rng.uniform(*GAP_S, size=len(words) + 1)
    total = int((gaps.sum() + sum(len(w) for w, _ in words) / RATE) * RATE) + RATE
    bed = []
    while sum(len(b) for b in bed) < total:
        b = backgrounds[int(rng.integers(len(backgrounds)))]
        bed.append(b * 10 ** (float(rng.uniform(*BACKGROUND_DB)) / 20))
    audio = np.concatenate(bed)[:total].astype(np.float32)
    ends = []
    at = int(gaps[0] * RATE)
    for (word, positive), gap in zip(words, gaps[1:], strict=True):
        peak = float(np.max(np.abs(word))) or 1.0
        audio[at : at + len(word)] += word / peak * 10 ** (float(rng.uniform(*GAIN_DB)) / 20)
        at += len(word)
        if positive:
            ends.append(at / RATE)
        at += int(gap * RATE)
    return Stream(np.clip(audio, -1, 1), tuple(ends))


def listen(
    model: Path, audio: np.ndarray, settings: AudioSettings
) -> tuple[list[WakeEvent], Listener]:
    """Return the detections in audio and the listener (its stage counters)."""
    listener = Listener(settings, str(model))
    events = list(listener.run(blocks(audio, settings.block_samples)))
    return events, listener


def score(events: list[WakeEvent], stream: Stream, tolerance: float) -> dict[str, float]:
    """Return detection rate, false accepts (per hour) and the phrase-end-to-event times."""
    matched: set[int] = set()
    false = 0
    delays = []
    for event in events:
        near = [
            i
            for i, e in enumerate(stream.phrase_ends)
            if abs(event.offset_s - e) <= tolerance and i not in matched
        ]
        if near:
            matched.add(near[0])
            delays.append(event.fired_s - stream.phrase_ends[near[0]] + event.latency_ms / 1000)
        else:
            false += 1
    phrases = len(stream.phrase_ends)
    return {
        "phrases": phrases,
        "detected": len(matched),
        "detection_rate": len(matched) / phrases if phrases else float("nan"),
        "false_accepts": false,
        "hours": stream.hours,
        "false_per_hour": false / stream.hours,
        "end_to_event_ms_median": float(np.median(delays) * 1000) if delays else float("nan"),
        "end_to_event_ms_p90": float(np.percentile(delays, 90) * 1000) if delays else float("nan"),
    }


def median_delay(rows: list[dict[str, float]]) -> float:
    """Return the median of the rows' median end-to-event times (NaN when none detected)."""
    values = [r["end_to_event_ms_median"] for r in rows if np.isfinite(r["end_to_event_ms_median"])]
    return float(np.median(values)) if values else float("nan")


def positives_stream(
    phrases: list[np.ndarray], background: np.ndarray, count: int, rng: np.random.Generator
) -> Stream:
    """Return `count` phrase insertions (cycling through the recordings) on one background."""
    words = [(phrases[i % len(phrases)], True) for i in range(count)]
    return mix([background], words, rng)


def negatives_stream(
    words: list[np.ndarray], backgrounds: list[np.ndarray], loops: int, rng: np.random.Generator
) -> Stream:
    """Return every non-phrase word, shuffled and mixed afresh in each loop, over backgrounds."""
    parts = []
    for _ in range(loops):
        order = rng.permutation(len(words))
        parts.append(mix(backgrounds, [(words[i], False) for i in order], rng).audio)
    return Stream(np.concatenate(parts), ())


def evaluate(
    model: Path,
    phrases: list[np.ndarray],
    others: list[np.ndarray],
    backgrounds: list[np.ndarray],
    loops: int,
    seed: int,
    threshold: float | None,
) -> dict[str, dict[str, float]]:
    """Return detection per background and false accepts on the mixed non-phrase stream."""
    settings = AudioSettings(threshold=threshold)
    tolerance = TriggerTrainSettings().match_tolerance_s
    rng = np.random.default_rng(seed)
    out = {}
    for i, background in enumerate(backgrounds, start=1):
        stream = positives_stream(phrases, background, POSITIVE_INSERTIONS, rng)
        out[f"background_{i}"] = score(listen(model, stream.audio, settings)[0], stream, tolerance)
    stream = negatives_stream(others, backgrounds, loops, rng)
    out["non_phrase"] = score(listen(model, stream.audio, settings)[0], stream, tolerance)
    both = [out["background_1"], out["background_2"]]
    out["phrase_total"] = {
        "phrases": sum(r["phrases"] for r in both),
        "detected": sum(r["detected"] for r in both),
        "detection_rate": sum(r["detected"] for r in both) / sum(r["phrases"] for r in both),
        "false_per_hour": out["non_phrase"]["false_per_hour"],
        "end_to_event_ms_median": median_delay(both),
    }
    return out


def cost(model: Path, backgrounds: list[np.ndarray], speech: list[np.ndarray]) -> dict[str, dict]:
    """Return per-stage real-time factors and pass shares on silence, background and speech."""
    n = int(COST_SECONDS * RATE)
    bed = np.concatenate(backgrounds * int(np.ceil(COST_SECONDS / 20)))[:n]
    talk = np.concatenate(speech)
    talk = np.tile(talk, n // len(talk) + 1)[:n]
    inputs = {"silence": np.zeros(n, np.float32), "background": bed, "speech": talk}
    base = AudioSettings()
    configs = {
        "cascade": base,
        "trigger_alone": base.model_copy(update={"vad": "energy", "energy_dbfs": -1000.0}),
    }
    out: dict[str, dict] = {}
    for name, audio in inputs.items():
        for config, settings in configs.items():
            listener = Listener(settings, str(model))
            start = time.perf_counter()
            for _ in listener.run(blocks(audio, settings.block_samples)):
                pass
            wall = time.perf_counter() - start
            stats = listener.stats
            out[f"{name}/{config}"] = {
                "rtf_total": wall / COST_SECONDS,
                **{f"rtf_{k}": v / COST_SECONDS for k, v in stats.seconds.items()},
                "share_to_vad": stats.loud / stats.blocks,
                "share_speech": stats.speech / stats.blocks,
                "share_to_trigger": stats.triggered / stats.blocks,
            }
    return out


def main() -> None:
    """Run the benchmark, print tables, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--loops", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--thresholds",
        type=lambda text: [None if t == "card" else float(t) for t in text.split(",")],
        default=[None, 0.9, 0.5],
        help="comma-separated thresholds ('card' = the model card's); default card,0.9,0.5",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    cs230, fsdd = SPEECH / "cs230", SPEECH / "fsdd"
    backgrounds = load(sorted((cs230 / "backgrounds").glob("*.wav")), trimmed=False)
    negatives = load([p for p in sorted((cs230 / "negatives").glob("*.wav")) if held_out(p)])
    activate_paths = sorted((cs230 / "activates").glob("*.wav"))
    test = sorted(fsdd.glob(f"*_{TEST_SPEAKER}_*.wav"))
    nines = load([p for p in test if p.name.startswith("9_")])
    digits = load([p for p in test if not p.name.startswith("9_")])
    activate_model = args.models / "activate-1" / "trigger-activate.onnx"
    if not activate_model.exists():
        activate_model = shipped_model("activate")
    fold_2 = args.models / "activate-2" / "trigger-activate.onnx"
    models = {
        "activate, trained on rec. 1": (
            activate_model,
            load(unseen(activate_model, activate_paths)),
            digits + nines + negatives,
        ),
        "activate, trained on rec. 2": (
            fold_2,
            load(unseen(fold_2, activate_paths)) if fold_2.exists() else [],
            digits + nines + negatives,
        ),
        "nine (espeak-ng only)": (
            args.models / "nine-synth" / "trigger-nine.onnx",
            nines,
            digits + negatives,
        ),
        "nine (+3 real speakers)": (
            args.models / "nine-real" / "trigger-nine.onnx",
            nines,
            digits + negatives,
        ),
    }
    results: dict[str, object] = {
        "machine": f"{platform.machine()} {platform.processor() or ''} shared 2-core".strip(),
        "test_speaker": TEST_SPEAKER,
        "loops": args.loops,
        "thresholds": ["card" if t is None else t for t in args.thresholds],
        "seed": args.seed,
    }
    console = Console()
    table = Table(title="Wake phrase on real voices (held out)")
    for col in (
        "model",
        "phrases",
        "detected bg1",
        "detected bg2",
        "non-phrase h",
        "false",
        "false/h",
        "end->event ms (median)",
    ):
        table.add_column(col, justify="right")
    for name, (model, phrases, others) in models.items():
        if not model.exists() or not phrases:
            console.print(f"[yellow]skipping {name}: {model} is missing or saw every recording")
            continue
        results[name] = {}
        for threshold in args.thresholds:
            started = time.perf_counter()
            figures = evaluate(
                model, phrases, others, backgrounds, args.loops, args.seed, threshold
            )
            figures["bench_seconds"] = {"value": time.perf_counter() - started}
            label = "card" if threshold is None else f"{threshold:.2f}"
            results[name][label] = figures
            b1, b2, neg = figures["background_1"], figures["background_2"], figures["non_phrase"]
            table.add_row(
                f"{name} @ {label}",
                str(b1["phrases"] + b2["phrases"]),
                f"{b1['detection_rate']:.1%}",
                f"{b2['detection_rate']:.1%}",
                f"{neg['hours']:.2f}",
                str(neg["false_accepts"]),
                f"{neg['false_per_hour']:.1f}",
                f"{figures['phrase_total']['end_to_event_ms_median']:.0f}",
            )
    console.print(table)
    speech = load(sorted(fsdd.glob(f"*_{TEST_SPEAKER}_*.wav")), trimmed=False)
    costs = cost(activate_model, backgrounds, speech)
    results["cost"] = costs
    table = Table(title=f"Cost per second of audio, one core ({COST_SECONDS:.0f} s each)")
    for col in ("audio/config", "RTF total", "energy", "VAD", "trigger", "to VAD", "to trigger"):
        table.add_column(col, justify="right")
    for name, row in costs.items():
        table.add_row(
            name,
            f"{row['rtf_total']:.4f}",
            f"{row['rtf_energy']:.4f}",
            f"{row['rtf_vad']:.4f}",
            f"{row['rtf_trigger']:.4f}",
            f"{row['share_to_vad']:.0%}",
            f"{row['share_to_trigger']:.0%}",
        )
    console.print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "wake.json").write_text(json.dumps(results, indent=1) + "\n")
    console.print(f"wrote {args.out / 'wake.json'}")


if __name__ == "__main__":
    main()
