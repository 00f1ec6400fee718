"""The failure limiter: exact under concurrency, and never refusing a burst that succeeds."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from facegate.service.rate_limit import FailureLimiter, RateLimited


def _attempts(limiter: FailureLimiter, outcomes: list[bool]) -> list[str]:
    """Run one attempt per outcome on 8 threads (True = it fails); return what each got."""
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


def test_concurrent_failures_stop_at_exactly_the_limit() -> None:
    answers = _attempts(FailureLimiter(5, 60.0), [True] * 16)
    assert sorted(answers) == ["failed"] * 5 + ["limited"] * 11


def test_a_concurrent_burst_that_succeeds_is_never_refused() -> None:
    answers = _attempts(FailureLimiter(2, 60.0), [False] * 12)
    assert answers == ["passed"] * 12


def test_failures_expire_with_the_window() -> None:
    now = [0.0]
    limiter = FailureLimiter(1, 10.0, clock=lambda: now[0])
    with limiter.attempt(["key:a"]) as attempt:
        attempt.failed()
    with pytest.raises(RateLimited) as refused, limiter.attempt(["key:a"]):
        pass
    assert refused.value.over == ["key:a"]
    now[0] = 10.5
    with limiter.attempt(["key:a"]):
        pass
