"""Limits that hold across seats: joins per address, the instructor blocking the address a removed
member joined from, and job submissions per address. All state in the database (any web process sees it)."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.identity import INSTRUCTOR_OWNER
from app.limits.counters import RateLimiter
from app.limits.errors import Throttled
from app.limits.policies import JOINS_PER_ADDRESS, SUBMISSIONS_PER_ADDRESS, WRONG_CODES_PER_ADDRESS
from app.rows import UNFINISHED_STATES, BlockedAddressRow, JobOriginRow, JobRow, SeatOriginRow

# Queued or running jobs per address: a class behind one NAT address shares this, so it is sized for
# a class whose students each have a job waiting; anonymous use (no seat) gets a personal-size cap.
MAX_ACTIVE_PER_ADDRESS = 60
MAX_ACTIVE_ANONYMOUS_PER_ADDRESS = 20  # the compare view queues one job per method at once


EVERY_ADDRESS = "*"  # a blocked-address row for it: joining is locked for everyone


class Blocked(PermissionError):
    """The instructor blocked this address (answered with 403)."""


class ClassGuard:
    def __init__(self, sessions: sessionmaker, limiter: RateLimiter, now: Callable[[], float] = time.time):
        self._sessions, self.limiter, self._now = sessions, limiter, now

    # -- joining --------------------------------------------------------------------------------
    def admit_join(self, class_code: str, address: str) -> None:
        """Before a join: Blocked for a blocked address, Throttled past JOINS_PER_ADDRESS."""
        with self._sessions() as session:
            if session.get(BlockedAddressRow, (class_code, EVERY_ADDRESS)) is not None:
                raise Blocked(f"the instructor of class {class_code} has locked joining for now")
            if session.get(BlockedAddressRow, (class_code, address)) is not None:
                raise Blocked(f"the instructor of class {class_code} has blocked joins from your address")
        self.limiter.require(f"join:{address}", JOINS_PER_ADDRESS, "joins from your address")

    def lock_joining(self, class_code: str, locked: bool) -> None:
        """Refuse every join to this class (locked) or no longer (addresses blocked one by one stay)."""
        with self._sessions.begin() as session:
            row = session.get(BlockedAddressRow, (class_code, EVERY_ADDRESS))
            if locked and row is None:
                session.add(
                    BlockedAddressRow(class_code=class_code, address=EVERY_ADDRESS, blocked_at=self._now())
                )
            elif not locked and row is not None:
                session.delete(row)

    def reset_joins(self, address: str) -> None:
        """Clear the address's join window: once a flood's seats are gone, the class joins at once."""
        self.limiter.reset(f"join:{address}")

    def origin(self, member_id: str) -> str | None:
        with self._sessions() as session:
            row = session.get(SeatOriginRow, member_id)
            return row.address if row else None

    def admit_code_lookup(self, address: str) -> None:
        """Before looking a join's code up: Throttled while the address is past WRONG_CODES_PER_ADDRESS."""
        verdict = self.limiter.peek(f"wrong-code:{address}", WRONG_CODES_PER_ADDRESS)
        if not verdict.allowed:
            raise Throttled(
                f"too many unknown class codes from your address ({WRONG_CODES_PER_ADDRESS.describe()}); "
                f"try again in {verdict.retry_after} s",
                verdict.retry_after,
            )

    def wrong_code(self, address: str) -> None:
        self.limiter.hit(f"wrong-code:{address}", WRONG_CODES_PER_ADDRESS)

    def joined(self, class_code: str, member_id: str, address: str) -> None:
        with self._sessions.begin() as session:
            session.merge(SeatOriginRow(member_id=member_id, class_code=class_code, address=address))

    # -- blocking -------------------------------------------------------------------------------
    def block_origin(self, class_code: str, member_id: str) -> str | None:
        """Refuse joins to this class from the address ``member_id`` joined from (when the instructor
        removes them and asks for it). Returns that address (None if unknown)."""
        with self._sessions.begin() as session:
            origin = session.get(SeatOriginRow, member_id)
            if origin is None:
                return None
            session.merge(
                BlockedAddressRow(class_code=class_code, address=origin.address, blocked_at=self._now())
            )
            return origin.address

    # -- jobs -----------------------------------------------------------------------------------
    def admit_job(self, owner: str | None, address: str | None) -> None:
        """Before queueing a job of anyone but the instructor: Throttled past the per-address rate."""
        if owner != INSTRUCTOR_OWNER:
            key = f"submit:{address or 'unknown'}"
            self.limiter.require(key, SUBMISSIONS_PER_ADDRESS, "jobs from your address")

    def record_job_in(self, session: Session, job_id: str, owner: str | None, address: str | None) -> None:
        """Inside the transaction that queues ``job_id`` (one the store serialises with every other
        submission, so the count and the insert cannot interleave with another's): Throttled past the
        per-address number of queued/running jobs (it holds across every seat behind the address),
        else the job's origin is recorded."""
        address = address or "unknown"
        if owner != INSTRUCTOR_OWNER:
            cap = MAX_ACTIVE_PER_ADDRESS if owner else MAX_ACTIVE_ANONYMOUS_PER_ADDRESS
            active = self._active_jobs(session, address, anonymous_only=owner is None)
            if active >= cap:
                who = "anonymous jobs" if owner is None else "jobs"
                message = f"{active} {who} from your address are queued or running; the limit is {cap}"
                raise Throttled(message, 30)
        session.add(JobOriginRow(job_id=job_id, address=address, owner=owner, created_at=self._now()))

    @staticmethod
    def _active_jobs(session: Session, address: str, anonymous_only: bool) -> int:
        query = (
            select(func.count())
            .select_from(JobOriginRow)
            .join(JobRow, JobRow.id == JobOriginRow.job_id)
            .where(JobOriginRow.address == address, JobRow.state.in_(UNFINISHED_STATES))
        )
        if anonymous_only:
            query = query.where(JobOriginRow.owner.is_(None))
        return int(session.scalar(query) or 0)
