"""The 1:N threshold: how strict identification must be so a stranger is rarely named.

A 1:1 threshold with false-accept rate f per comparison lets a stranger match *someone* in a
gallery of N vectors with probability 1 - (1 - f)^N (about N f): the 1:1 threshold that is
right for a key-card check names almost half of all strangers against 75 people. So identify
uses a threshold that depends on the gallery size: the impostor distance whose per-comparison
rate f gives the target false-positive identification rate (FPIR) for N vectors,
f = 1 - (1 - FPIR)^(1/N), read off a table of the impostor-distance tail measured once on
LFW (bench/open_set.py) and never more lenient than the 1:1 threshold.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from facegate.errors import SettingsError
from facegate.settings import DecideSettings

IMPOSTOR_TAIL_PATH = Path(__file__).parent.parent / "data" / "impostor_tail.json"
MIN_PAIRS_PER_POINT = 10


@dataclass(frozen=True)
class ImpostorTail:
    """Impostor-distance quantiles: at distance d[i], a fraction far[i] of impostor pairs match."""

    far: tuple[float, ...]
    distance: tuple[float, ...]
    embedder: str
    source: str
    pairs: int

    def distance_at(self, far: float) -> float:
        """Return the distance within which a fraction `far` of impostor pairs fall.

        Interpolated linearly in log10(far); below the smallest measured rate the last
        decade's slope is extended (the tail has too few pairs there to measure).
        """
        logs = np.log10(self.far)[::-1]
        dist = np.asarray(self.distance)[::-1]
        target = math.log10(max(far, 1e-12))
        if target >= logs[0]:
            return float(np.interp(target, logs, dist))
        slope = (dist[1] - dist[0]) / (logs[1] - logs[0])
        return float(dist[0] + slope * (target - logs[0]))

    def far_at(self, distance: float) -> float:
        """Return the share of impostor pairs within `distance` (the inverse of distance_at)."""
        logs = np.log10(self.far)[::-1]
        dist = np.asarray(self.distance)[::-1]
        if distance >= dist[0]:
            return float(10 ** np.interp(distance, dist, logs))
        slope = (logs[1] - logs[0]) / (dist[1] - dist[0])
        return float(10 ** (logs[0] + slope * (distance - dist[0])))

    def as_dict(self) -> dict[str, object]:
        """Return the table as JSON-ready data."""
        return {
            "embedder": self.embedder,
            "source": self.source,
            "pairs": self.pairs,
            "far": list(self.far),
            "distance": list(self.distance),
        }

    def save(self, path: Path) -> None:
        """Write the table as JSON."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path = IMPOSTOR_TAIL_PATH) -> ImpostorTail:
        """Read a table written by `save`, with a clear error when it is missing or malformed."""
        try:
            data = json.loads(path.read_text())
            return cls(
                far=tuple(float(x) for x in data["far"]),
                distance=tuple(float(x) for x in data["distance"]),
                embedder=str(data["embedder"]),
                source=str(data["source"]),
                pairs=int(data["pairs"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SettingsError(f"cannot read the impostor-distance table {path}: {exc}") from exc


def fit_impostor_tail(
    vectors: np.ndarray, source: str, embedder: str = "dlib-resnet-v1"
) -> ImpostorTail:
    """Return the impostor tail of unit vectors of distinct people (every pair is an impostor).

    Rates run from 10 % down to the smallest one still backed by MIN_PAIRS_PER_POINT pairs,
    in steps of a quarter decade.
    """
    rows = len(vectors)
    upper = np.triu_indices(rows, k=1)
    gram = vectors @ vectors.T
    dist = np.sqrt(np.clip(2.0 - 2.0 * gram[upper], 0.0, None))
    dist.sort()
    fars = [
        10 ** (-1 - i / 4)
        for i in range(40)
        if 10 ** (-1 - i / 4) * len(dist) >= MIN_PAIRS_PER_POINT
    ]
    quantiles = [float(dist[max(0, math.ceil(f * len(dist)) - 1)]) for f in fars]
    return ImpostorTail(
        far=tuple(fars),
        distance=tuple(round(q, 5) for q in quantiles),
        embedder=embedder,
        source=source,
        pairs=len(dist),
    )


def identify_threshold(vectors_enrolled: int, fpir: float, tail: ImpostorTail, cap: float) -> float:
    """Return the 1:N threshold for a gallery of this many vectors and a target FPIR (<= cap)."""
    if vectors_enrolled <= 0:
        return cap
    per_comparison = -math.expm1(math.log1p(-fpir) / vectors_enrolled)
    return min(cap, tail.distance_at(per_comparison))


@cache
def shipped_tail() -> ImpostorTail:
    """Return the impostor tail shipped with facegate (read once)."""
    return ImpostorTail.load(IMPOSTOR_TAIL_PATH)


def tail_path(model: Path) -> Path:
    """Return where a trained model's impostor table lives: beside it, .impostor.json."""
    return model.with_suffix(".impostor.json")


@lru_cache(maxsize=16)
def _table_at(path: Path, modified_ns: int) -> ImpostorTail:
    """Return the table in a file, read once per version of it (decisions call this often)."""
    return ImpostorTail.load(path)


def embedder_tail(embedder: str, model: Path | None) -> ImpostorTail | None:
    """Return the impostor table of this embedder (shipped, or beside its model), if any."""
    if model is None:
        tail = shipped_tail()
    else:
        path = tail_path(model)
        tail = _table_at(path, path.stat().st_mtime_ns) if path.is_file() else None
    return tail if tail is not None and tail.embedder == embedder else None


def threshold_for_gallery(
    settings: DecideSettings,
    vectors_enrolled: int,
    embedder: str = "dlib-resnet-v1",
    model: Path | None = None,
) -> float:
    """Return the 1:N threshold the settings ask for, for a gallery of this many vectors.

    Each embedder's distances have their own scale, so the table must be this embedder's:
    the shipped one for the shipped encoder, `MODEL.impostor.json` (written by `facegate
    train`, named by the model's hash) for a trained one. Without it, and without a fixed
    `decide.identify_threshold`, 1:N is refused, not guessed.
    """
    if settings.identify_threshold is not None:
        return settings.identify_threshold
    tail = embedder_tail(embedder, model)
    if tail is None:
        where = "shipped" if model is None else str(tail_path(model))
        raise SettingsError(
            f"1:N identify with embedder {embedder}: no impostor-distance table for it "
            f"({where}); set decide.identify_threshold, or retrain with enough dev people "
            "for `facegate train` to write one"
        )
    return identify_threshold(vectors_enrolled, settings.identify_fpir, tail, settings.threshold)


GENUINE_TABLE_PATH = Path(__file__).parent.parent / "data" / "genuine_dist.json"
GENUINE_QUANTILES = tuple(q / 200 for q in range(201))


@dataclass(frozen=True)
class GenuineTable:
    """Genuine-distance quantiles: a share q[i] of same-person pairs lie within distance d[i]."""

    quantile: tuple[float, ...]
    distance: tuple[float, ...]
    embedder: str
    source: str
    pairs: int

    def frr_at(self, threshold: float) -> float:
        """Return the share of genuine pairs farther apart than the threshold (false rejects)."""
        return float(1.0 - np.interp(threshold, self.distance, self.quantile, left=0.0, right=1.0))

    def as_dict(self) -> dict[str, object]:
        """Return the table as JSON-ready data."""
        return {
            "embedder": self.embedder,
            "source": self.source,
            "pairs": self.pairs,
            "quantile": list(self.quantile),
            "distance": list(self.distance),
        }

    def save(self, path: Path) -> None:
        """Write the table as JSON."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path = GENUINE_TABLE_PATH) -> GenuineTable:
        """Read a table written by `save`, with a clear error when it is missing or malformed."""
        try:
            data = json.loads(path.read_text())
            return cls(
                quantile=tuple(float(x) for x in data["quantile"]),
                distance=tuple(float(x) for x in data["distance"]),
                embedder=str(data["embedder"]),
                source=str(data["source"]),
                pairs=int(data["pairs"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SettingsError(f"cannot read the genuine-distance table {path}: {exc}") from exc


def fit_genuine_table(
    distances: np.ndarray, source: str, embedder: str = "dlib-resnet-v1"
) -> GenuineTable:
    """Return the genuine-distance table of same-person pair distances (every half percent)."""
    ordered = np.sort(np.asarray(distances, dtype=np.float64))
    values = np.quantile(ordered, GENUINE_QUANTILES)
    return GenuineTable(
        quantile=GENUINE_QUANTILES,
        distance=tuple(round(float(v), 5) for v in np.maximum.accumulate(values)),
        embedder=embedder,
        source=source,
        pairs=len(ordered),
    )


@cache
def shipped_genuine() -> GenuineTable | None:
    """Return the genuine-distance table shipped with facegate, or None when absent."""
    return GenuineTable.load(GENUINE_TABLE_PATH) if GENUINE_TABLE_PATH.is_file() else None
