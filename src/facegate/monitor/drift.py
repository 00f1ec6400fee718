"""Drift: has what the camera sees shifted? A recent window against a reference, per feature.

Features: the face quality the loop logs with each decision (brightness, sharpness, focus,
face size in pixels) and the decision's distance. Each is compared with the population
stability index (PSI, over quantile bins of the reference) and the two-sample Kolmogorov-
Smirnov test (statistic D and its p-value); a feature is flagged when PSI reaches psi_max, or
D reaches ks_max with p below ks_alpha.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from scipy.stats import ks_2samp

from facegate.access_event import to_utc
from facegate.monitor.events import EventLog
from facegate.monitor.table import EventTable, load_table
from facegate.settings import DriftSettings

PSI_FLOOR = 1e-4  # share given to an empty bin, so an empty bin costs a finite amount
HISTOGRAM_BINS = 20


def psi(reference: np.ndarray, recent: np.ndarray, bins: int) -> float:
    """Return the population stability index of recent against reference.

    Bins are the reference's quantiles (ties merged), open at both ends;
    PSI = sum over bins of (recent share - reference share) * ln(recent share / reference share).
    """
    inner = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_share = np.bincount(np.searchsorted(inner, reference, "right"), minlength=inner.size + 1)
    new_share = np.bincount(np.searchsorted(inner, recent, "right"), minlength=inner.size + 1)
    p = np.maximum(ref_share / reference.size, PSI_FLOOR)
    q = np.maximum(new_share / recent.size, PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


@dataclass(frozen=True)
class FeatureDrift:
    """One feature compared across the two windows (statistics None when too few values)."""

    feature: str
    reference_n: int
    recent_n: int
    reference_median: float | None
    recent_median: float | None
    psi: float | None
    ks: float | None
    ks_p: float | None
    flagged: bool
    reason: str
    histogram: dict[str, list[float]] | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the comparison as a JSON-ready dict."""
        return asdict(self)


def _median(values: np.ndarray) -> float | None:
    """Return the median, None for no values."""
    return float(np.median(values)) if values.size else None


def shared_histogram(reference: np.ndarray, recent: np.ndarray) -> dict[str, list[float]]:
    """Return both windows' shares over common bins (1st to 99th percentile of both)."""
    both = np.concatenate([reference, recent])
    lo, hi = np.percentile(both, [1, 99])
    hi = hi if hi > lo else lo + 1.0
    edges = np.linspace(lo, hi, HISTOGRAM_BINS + 1)
    shares = [np.histogram(np.clip(v, lo, hi), edges)[0] / v.size for v in (reference, recent)]
    return {
        "edges": [round(float(e), 4) for e in edges],
        "reference": [round(float(x), 4) for x in shares[0]],
        "recent": [round(float(x), 4) for x in shares[1]],
    }


def compare_feature(
    feature: str, reference: np.ndarray, recent: np.ndarray, settings: DriftSettings
) -> FeatureDrift:
    """Return PSI, KS and the flag of one feature's reference and recent values."""
    medians = {"reference_median": _median(reference), "recent_median": _median(recent)}
    sizes = {"reference_n": int(reference.size), "recent_n": int(recent.size)}
    if min(reference.size, recent.size) < settings.min_samples:
        reason = (
            f"too few values ({recent.size} recent, {reference.size} reference; "
            f"needs {settings.min_samples} in each window)"
        )
        return FeatureDrift(
            feature, **sizes, **medians, psi=None, ks=None, ks_p=None, flagged=False, reason=reason
        )
    index = psi(reference, recent, settings.bins)
    test = ks_2samp(reference, recent)
    statistic, p_value = float(test.statistic), float(test.pvalue)
    reasons = []
    if index >= settings.psi_max:
        reasons.append(f"PSI {index:.3f} >= {settings.psi_max}")
    if statistic >= settings.ks_max and p_value < settings.ks_alpha:
        reasons.append(f"KS {statistic:.3f} >= {settings.ks_max} (p {p_value:.1e})")
    return FeatureDrift(
        feature,
        **sizes,
        **medians,
        psi=index,
        ks=statistic,
        ks_p=p_value,
        flagged=bool(reasons),
        reason="; ".join(reasons) or "stable",
        histogram=shared_histogram(reference, recent),
    )


@dataclass(frozen=True)
class DriftReport:
    """Every feature's comparison of the recent window with the reference window."""

    door: str | None
    reference_since: datetime
    reference_until: datetime
    recent_since: datetime
    recent_until: datetime
    features: list[FeatureDrift]

    @property
    def flagged(self) -> list[str]:
        """Return the names of the features that shifted."""
        return [f.feature for f in self.features if f.flagged]

    def as_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return {
            "door": self.door,
            "reference": {
                "since": self.reference_since.isoformat(),
                "until": self.reference_until.isoformat(),
            },
            "recent": {
                "since": self.recent_since.isoformat(),
                "until": self.recent_until.isoformat(),
            },
            "flagged": self.flagged,
            "features": [f.as_dict() for f in self.features],
        }


def drift_windows(now: datetime, settings: DriftSettings) -> tuple[datetime, ...]:
    """Return reference since, reference until, recent since, recent until (until exclusive)."""
    recent_since = now - timedelta(hours=settings.recent_hours)
    if settings.reference_since is not None and settings.reference_until is not None:
        reference = (to_utc(settings.reference_since), to_utc(settings.reference_until))
    else:
        reference = (recent_since - timedelta(days=settings.reference_days), recent_since)
    return (*reference, recent_since, now)


def compare_tables(
    reference: EventTable, recent: EventTable, settings: DriftSettings
) -> list[FeatureDrift]:
    """Return the comparison of every configured feature."""
    return [
        compare_feature(name, reference.feature(name), recent.feature(name), settings)
        for name in settings.features
    ]


def drift_report(
    log: EventLog, settings: DriftSettings, now: datetime, door: str | None = None
) -> DriftReport:
    """Return the drift report of one door (None: all doors) at time now."""
    ref_since, ref_until, recent_since, recent_until = drift_windows(to_utc(now), settings)
    reference = load_table(log, ref_since, ref_until, door)
    recent = load_table(log, recent_since, recent_until, door)
    return DriftReport(
        door=door,
        reference_since=ref_since,
        reference_until=ref_until,
        recent_since=recent_since,
        recent_until=recent_until,
        features=compare_tables(reference, recent, settings),
    )
