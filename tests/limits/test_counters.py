"""The database-backed sliding-window counter, on a fake clock (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import sessionmaker

from app.limits.counters import Rate, RateLimiter
from tests.limits.conftest import FakeClock

RATE = Rate(5, 60.0)


def test_allows_the_limit_then_refuses_with_a_retry_after(sessions: sessionmaker, clock: FakeClock) -> None:
    clock.now = 60 * 1000.0  # the start of a window
    limiter = RateLimiter(sessions, now=clock)
    verdicts = [limiter.hit("k", RATE) for _ in range(7)]
    assert [v.allowed for v in verdicts] == [True] * 5 + [False] * 2
    # 7 hits in this window: the estimate only falls under 5 once 2/7 of the next window has passed
    assert verdicts[-1].retry_after == 60 + round(60 * (1 - 5 / 7) + 0.5)
    assert limiter.hit("other", RATE).allowed  # keys are separate


def test_the_previous_window_slides_out(sessions: sessionmaker, clock: FakeClock) -> None:
    clock.now = 60 * 1000.0
    limiter = RateLimiter(sessions, now=clock)
    for _ in range(5):
        assert limiter.hit("k", RATE).allowed
    clock.advance(60)  # the next window starts: the 5 earlier hits still weigh fully
    refused = limiter.hit("k", RATE)
    assert not refused.allowed and refused.used == 6
    clock.advance(30)  # half-way: 5 * 0.5 + 1 (refused) + 1 = 4.5
    allowed = limiter.hit("k", RATE)
    assert allowed.allowed and allowed.used == 4.5
    clock.advance(120)  # two windows later nothing is left
    assert limiter.peek("k", RATE).used == 1


def test_peek_counts_nothing(sessions: sessionmaker, clock: FakeClock) -> None:
    limiter = RateLimiter(sessions, now=clock)
    for _ in range(10):
        assert limiter.peek("k", RATE).allowed
    assert limiter.hit("k", RATE).used == 1


def test_concurrent_hits_are_all_counted(sessions: sessionmaker, clock: FakeClock) -> None:
    """Several threads (like several web processes) increment one counter: none is lost."""
    clock.now = 60 * 1000.0
    limiter = RateLimiter(sessions, now=clock)
    with ThreadPoolExecutor(8) as pool:
        verdicts = list(pool.map(lambda _: limiter.hit("k", Rate(100, 60.0)), range(80)))
    assert sorted(v.used for v in verdicts) == list(range(1, 81))
