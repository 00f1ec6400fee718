"""Early decisions: a clear deny needs no liveness, a clear unlock still does, frames embed once."""

from __future__ import annotations

import numpy as np
import pytest
from test_loop_cadence import run_loop

from facegate import api
from facegate.gallery import SQLiteGallery
from facegate.settings import Settings, load_settings
from facegate.stream.early import VectorCache, early_ruling, is_clear
from facegate.stream.ruling import Ruling
from facegate.stream.scene import head_crop

THRESHOLD = 0.36


def ruling(decision: str, reason: str, person: str | None, distance: float | None) -> Ruling:
    """Return a ruling at the test threshold."""
    return Ruling(decision, reason, person, distance, THRESHOLD, 1)


def test_clear_means_the_margin_on_the_match_side() -> None:
    assert is_clear(ruling("deny", "unknown", None, THRESHOLD + 0.1), 0.1, 0.05)
    assert not is_clear(ruling("deny", "unknown", None, THRESHOLD + 0.09), 0.1, 0.05)
    assert is_clear(ruling("unlock", "granted", "Ann", THRESHOLD - 0.05), 0.1, 0.05)
    assert not is_clear(ruling("unlock", "granted", "Ann", THRESHOLD - 0.04), 0.1, 0.05)
    assert is_clear(ruling("deny", "unknown", None, None), 0.1, 0.05)  # nobody enrolled


def test_a_clear_deny_is_taken_whatever_liveness_says() -> None:
    stranger = ruling("deny", "unknown", None, 0.6)
    assert early_ruling(stranger, False, 0.1, 0.05) == stranger
    refused = ruling("deny", "not_allowed", "Ann", 0.1)  # recognised, not let in here
    assert early_ruling(refused, False, 0.1, 0.05) == refused
    # a close stranger, or a refused name near the threshold, waits for more frames
    assert early_ruling(ruling("deny", "unknown", None, 0.42), False, 0.1, 0.05) is None
    assert early_ruling(ruling("deny", "not_allowed", "Ann", 0.33), False, 0.1, 0.05) is None


def test_a_clear_unlock_waits_for_liveness() -> None:
    match = ruling("unlock", "granted", "Ann", 0.1)
    assert early_ruling(match, False, 0.1, 0.05) is None
    assert early_ruling(match, True, 0.1, 0.05) == match
    assert early_ruling(ruling("unlock", "granted", "Ann", 0.33), True, 0.1, 0.05) is None
    assert early_ruling(ruling("retry", "retry", None, 0.38), True, 0.0, 0.0) is None


def test_vector_cache_embeds_each_item_once_and_forgets_dropped_ones() -> None:
    calls: list[int] = []

    def embed(items: list[np.ndarray]) -> np.ndarray:
        calls.append(len(items))
        return np.stack([item * 2 for item in items])

    a, b, c = (np.full(2, v, np.float32) for v in (1.0, 2.0, 3.0))
    cache: VectorCache[np.ndarray] = VectorCache()
    assert cache.vectors([a, b], embed).tolist() == [[2, 2], [4, 4]]
    assert cache.vectors([c, a], embed).tolist() == [[6, 6], [2, 2]]
    assert calls == [2, 1]  # a was not embedded again
    cache.vectors([c], embed)
    assert cache.vectors([b, c], embed).tolist() == [[4, 4], [6, 6]]
    assert calls == [2, 1, 1]  # b was dropped, so it was embedded anew


@pytest.fixture(scope="module")
def stranger_gallery(tmp_path_factory: pytest.TempPathFactory) -> SQLiteGallery:
    """Return a gallery holding only Grace Hopper: the demo's walker is a clear stranger."""
    store = SQLiteGallery(tmp_path_factory.mktemp("early") / "g.db")
    api.enroll(store, "Grace Hopper", [np.array(head_crop("Grace Hopper"))], "test: demo photo")
    return store


def _early(on: bool) -> Settings:
    """Return the default settings with early decisions on or off."""
    settings = load_settings(environ={})
    return settings.model_copy(
        update={"loop": settings.loop.model_copy(update={"early_decide": on})}
    )


def test_a_clear_stranger_is_denied_before_liveness_could_let_anyone_in(
    stranger_gallery: SQLiteGallery,
) -> None:
    settings = _early(True)
    early, usual = (run_loop(None, stranger_gallery, s) for s in (settings, _early(False)))
    walker, later = early.events[0], usual.events[0]  # Eileen Collins, not enrolled here
    assert walker.decision == "deny" and walker.reason == "unknown"
    assert walker.distance >= walker.threshold + settings.loop.early_deny_margin
    assert early.stream_latency[walker.track] < settings.liveness.min_seconds
    assert later.decision == "deny" and walker.track == later.track
    assert usual.stream_latency[later.track] >= settings.liveness.min_seconds
    # the enrolled Grace Hopper is still let in only live; the replay of Eileen stays out
    for run in (early, usual):
        assert [e.person for e in run.events if e.decision == "unlock"] == ["Grace Hopper"]
        assert all(e.liveness["live"] for e in run.events if e.decision == "unlock")
