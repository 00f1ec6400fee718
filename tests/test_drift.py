"""Drift statistics: PSI and KS on known distributions, and the report over generated weeks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from facegate.errors import SettingsError
from facegate.monitor.drift import compare_feature, drift_report, drift_windows, psi
from facegate.monitor.events import EventLog
from facegate.monitor.simulate import Shift, simulate
from facegate.settings import DriftSettings, load_settings

T0 = datetime(2024, 5, 6, tzinfo=UTC)
RNG = np.random.default_rng(0)
SAME = RNG.normal(0, 1, 5000), RNG.normal(0, 1, 5000)


def test_psi_is_small_for_the_same_distribution_and_grows_with_the_shift() -> None:
    reference = SAME[0]
    assert psi(reference, SAME[1], 10) < 0.02
    half = psi(reference, RNG.normal(0.5, 1, 5000), 10)
    one = psi(reference, RNG.normal(1.0, 1, 5000), 10)
    assert 0.15 < half < 0.4 < one
    assert psi(reference, reference, 10) == pytest.approx(0.0)


def test_psi_handles_ties_and_values_outside_the_reference() -> None:
    reference = np.array([100.0] * 50 + [120.0] * 50)
    assert np.isfinite(psi(reference, np.full(80, 300.0), 10))
    assert psi(reference, np.full(80, 300.0), 10) > 1.0


def test_compare_feature_flags_only_a_shift() -> None:
    settings = DriftSettings()
    same = compare_feature("brightness", *SAME, settings)
    assert not same.flagged and same.reason == "stable"
    assert same.ks is not None and same.ks < 0.05
    moved = compare_feature("brightness", SAME[0], SAME[1] - 1.0, settings)
    assert moved.flagged and "PSI" in moved.reason and "KS" in moved.reason
    assert moved.histogram is not None and len(moved.histogram["edges"]) == 21
    few = compare_feature("brightness", SAME[0], SAME[1][:5], settings)
    assert not few.flagged and few.psi is None and "too few" in few.reason


def test_windows_follow_now_or_a_fixed_reference() -> None:
    now = T0 + timedelta(days=8)
    ref_since, ref_until, since, until = drift_windows(now, DriftSettings())
    assert (until, since) == (now, now - timedelta(hours=24))
    assert (ref_until, ref_since) == (since, since - timedelta(days=7))
    fixed = DriftSettings(reference_since="2024-05-06", reference_until="2024-05-08T00:00:00Z")
    assert drift_windows(now, fixed)[:2] == (T0, T0 + timedelta(days=2))
    with pytest.raises(SettingsError, match="go together"):
        load_settings(environ={}, drift={"reference_since": "2024-05-06"})


def test_report_flags_the_shifted_features(tmp_path: Path) -> None:
    shift = Shift(brightness=-35, blur=0.45, face_scale=0.7, distance=0.06)
    with EventLog(tmp_path / "events.db") as log:
        log.append_many(simulate("front", T0, 7, seed=1))
        log.append_many(simulate("front", T0 + timedelta(days=7), 1, seed=2, shift=shift))
        log.append_many(simulate("back", T0, 8, seed=3))
        now = T0 + timedelta(days=8)
        front = drift_report(log, DriftSettings(), now, "front")
        back = drift_report(log, DriftSettings(), now, "back")
    assert set(front.flagged) >= {"brightness", "sharpness", "focus", "face_px"}
    assert back.flagged == []
    data = front.as_dict()
    assert data["flagged"] == front.flagged
    assert {f["feature"] for f in data["features"]} == set(DriftSettings().features)
