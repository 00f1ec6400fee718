"""The failure limiter: exact under concurrency, never refusing a burst that succeeds, on both
backends, and shared by two `serve` workers on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest
from edge_centre import Centre
from service_server import TEST_CONFIG

from facegate.edge.ruler import template_body
from facegate.service.failures import FailureStore, open_failure_store
from facegate.service.rate_limit import FailureLimiter, RateLimited
from facegate.settings import Settings
from facegate.stores import open_event_log, open_key_store
from facegate.stream.ruling import TrackEvidence


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], FailureStore]]:
    """Return a per-thread opener of one failure store, on each backend."""
    target = str(tmp_path / "f.db")
    if request.param == "postgres":
        target = request.getfixturevalue("postgres").database()
    local = threading.local()

    def store() -> FailureStore:
        if not hasattr(local, "store"):
            local.store = open_failure_store(target, Settings())
        return local.store

    yield store


def _attempts(limiter: FailureLimiter, outcomes: list[bool]) -> list[str]:
    """Run one attempt per outcome on its own thread (True = it fails); return what each got."""
    start = threading.Barrier(len(outcomes))

    def one(fails: bool) -> str:
        start.wait()
        try:
            with limiter.attempt(["key:a", "door:x"]) as attempt:
                time.sleep(0.02)  # the decision takes a while, so attempts overlap
                if fails:
                    attempt.failed()
        except RateLimited:
            return "limited"
        return "failed" if fails else "passed"

    with ThreadPoolExecutor(len(outcomes)) as pool:
        return list(pool.map(one, outcomes))


def test_concurrent_failures_stop_at_exactly_the_limit(stores: Callable[[], FailureStore]) -> None:
    answers = _attempts(FailureLimiter(stores, 5, 60.0), [True] * 16)
    assert sorted(answers) == ["failed"] * 5 + ["limited"] * 11


def test_a_concurrent_burst_that_succeeds_is_never_refused(
    stores: Callable[[], FailureStore],
) -> None:
    answers = _attempts(FailureLimiter(stores, 2, 60.0), [False] * 12)
    assert answers == ["passed"] * 12


def test_failures_expire_with_the_window_and_dead_attempts_go_stale(
    stores: Callable[[], FailureStore],
) -> None:
    now = [1000.0]
    limiter = FailureLimiter(stores, 1, 10.0, stale_s=30.0, clock=lambda: now[0])
    with limiter.attempt(["key:a"]) as attempt:
        attempt.failed()
    with pytest.raises(RateLimited) as refused, limiter.attempt(["key:a"]):
        pass
    assert refused.value.over == ["key:a"]
    assert limiter.blocked(["key:a", "key:b"]) == ["key:a"]
    now[0] = 1010.5
    with limiter.attempt(["key:a"]):
        pass
    stores().reserve(["key:c"], 1, now[0] - 10.0, now[0] - 30.0, now[0])  # then its worker died
    assert not stores().reserve(["key:c"], 1, now[0] - 10.0, now[0] - 30.0, now[0]).ids
    now[0] += 31.0
    with limiter.attempt(["key:c"]):
        pass


def test_recorded_failures_count_at_their_own_time(stores: Callable[[], FailureStore]) -> None:
    now = [1000.0]
    limiter = FailureLimiter(stores, 2, 10.0, clock=lambda: now[0])
    limiter.record(["key:q", "door:y"], 985.0)  # a queued event from before the window
    limiter.record(["key:q", "door:y"], 995.0)
    assert limiter.blocked(["key:q", "door:y"]) == []
    limiter.record(["key:q", "door:y"], 999.0)
    assert limiter.blocked(["key:q", "door:y", "door:z"]) == ["key:q", "door:y"]
    with pytest.raises(RateLimited), limiter.attempt(["door:y"]):
        pass


def test_two_workers_share_one_failure_limit(tmp_path: Path, postgres) -> None:
    url = postgres.database()
    with open_key_store(url, Settings()) as store:
        _, token = store.create("door", ["door"])
    limit = 4
    config = TEST_CONFIG + f"\n[doors]\nrate_limit_failures = {limit}\n"
    server = Centre(tmp_path, url, config, workers=2)
    server.start()
    rng = np.random.default_rng(1)

    def probe(track: int) -> int:
        vector = rng.normal(size=128)
        evidence = TrackEvidence("front", track, True, False, {}, {}, 5, 10.0)
        body = template_body(vector / np.linalg.norm(vector), "dlib-resnet-v1", evidence)
        headers = {"Authorization": f"Bearer {token}"}
        reply = httpx.post(
            server.url + "/v1/templates/decide", json=body, headers=headers, timeout=60
        )
        return reply.status_code

    try:
        assert server.proc is not None
        workers = [c for c in psutil.Process(server.proc.pid).children() if "python" in c.name()]
        assert len(workers) >= 2, [c.cmdline() for c in workers]
        with ThreadPoolExecutor(12) as pool:  # each worker alone would admit `limit` failures
            codes = list(pool.map(probe, range(12)))
    finally:
        server.stop()
    assert sorted(codes) == [200] * limit + [429] * (12 - limit), codes
    with open_event_log(url, Settings()) as events:
        reasons = sorted(e.reason or "" for e in events.query(door="front"))
    assert reasons == ["rate_limited"] * (12 - limit) + ["unknown"] * limit
