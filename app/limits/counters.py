"""Sliding-window rate limits kept in the database.

Each key has a counter per fixed window (``floor(now / window_s)``), incremented with one atomic
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (SQLite ≥ 3.35 and PostgreSQL), so two web processes
counting the same key never lose a hit. The rate over the last ``window_s`` seconds is estimated as
the current window's count plus the previous window's, weighted by how much of it still overlaps
(the "sliding window counter"): two rows per key, no per-request log, and no burst of twice the
limit at a window boundary as a plain fixed window allows.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import sessionmaker

from app.limits.errors import Throttled
from app.rows import RateCounterRow

Clock = Callable[[], float]
CLEANUP_EVERY = 500  # on average, one hit in this many deletes expired rows


@dataclass(frozen=True)
class Rate:
    """At most ``limit`` events per ``window_s`` seconds."""

    limit: int
    window_s: float

    def describe(self) -> str:
        return f"{self.limit} per {self.window_s:g} s"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    used: float  # the estimated number of events in the last window, this one included
    retry_after: int  # seconds until the estimate falls under the limit again (0 when allowed)


class RateLimiter:
    def __init__(self, sessions: sessionmaker, now: Clock = time.time) -> None:
        self._sessions = sessions
        self._now = now
        self._insert = None

    def hit(self, key: str, rate: Rate) -> Verdict:
        """Count one event for ``key`` and say whether it is within ``rate``. Refused events count
        too: a client that keeps hammering stays refused until it slows down."""
        now = self._now()
        window = math.floor(now / rate.window_s)
        with self._sessions() as session, session.begin():
            current = session.execute(self._increment(key, window, now + 2 * rate.window_s)).scalar_one()
            previous = session.execute(
                select(RateCounterRow.count).where(
                    RateCounterRow.key == key, RateCounterRow.window == window - 1
                )
            ).scalar_one_or_none()
            if random.random() < 1 / CLEANUP_EVERY:
                session.execute(delete(RateCounterRow).where(RateCounterRow.expires_at < now))
        return _verdict(rate, now, window, current, previous or 0)

    def require(self, key: str, rate: Rate, what: str) -> None:
        """``hit``, raising Throttled ("too many <what> (<rate>); try again in N s") when refused."""
        verdict = self.hit(key, rate)
        if not verdict.allowed:
            raise Throttled(
                f"too many {what} ({rate.describe()}); try again in {verdict.retry_after} s",
                verdict.retry_after,
            )

    def reset(self, key: str) -> None:
        """Forget every event counted for ``key`` (the instructor clearing a flood's window)."""
        with self._sessions.begin() as session:
            session.execute(delete(RateCounterRow).where(RateCounterRow.key == key))

    def peek(self, key: str, rate: Rate) -> Verdict:
        """The verdict an event now would get, without counting one."""
        now = self._now()
        window = math.floor(now / rate.window_s)
        with self._sessions() as session:
            rows = session.execute(
                select(RateCounterRow.window, RateCounterRow.count).where(
                    RateCounterRow.key == key, RateCounterRow.window.in_((window - 1, window))
                )
            ).all()
        counts = {w: c for w, c in rows}
        return _verdict(rate, now, window, counts.get(window, 0) + 1, counts.get(window - 1, 0))

    def _increment(self, key: str, window: int, expires_at: float):  # noqa: ANN202
        if self._insert is None:
            dialect = self._sessions.kw["bind"].dialect.name
            self._insert = postgres_insert if dialect == "postgresql" else sqlite_insert
        statement = self._insert(RateCounterRow).values(
            key=key, window=window, count=1, expires_at=expires_at
        )
        return statement.on_conflict_do_update(
            index_elements=[RateCounterRow.key, RateCounterRow.window],
            set_={"count": RateCounterRow.count + 1},
        ).returning(RateCounterRow.count)


def _verdict(rate: Rate, now: float, window: int, current: int, previous: int) -> Verdict:
    into_window = now / rate.window_s - window  # 0..1: how far the current window has run
    used = current + previous * (1.0 - into_window)
    if used <= rate.limit:
        return Verdict(True, used, 0)
    # The estimate falls as the previous window slides out; when the current window alone is over,
    # it has to become the previous one and slide out far enough itself.
    if previous and current <= rate.limit:
        wait = (used - rate.limit) / previous * rate.window_s
    else:
        wait = (1.0 - into_window + 1.0 - rate.limit / current) * rate.window_s
    return Verdict(False, used, max(1, math.ceil(wait)))
