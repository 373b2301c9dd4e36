"""Bookkeeping shared by the executors (local worker processes, Ray actors): which member runs
which job, which members hold which jobs' models, and what is pinned."""

from __future__ import annotations

import threading
import zlib
from typing import Generic, Protocol, TypeVar

from app.jobs.executors.tuned import NotInMemory


class Member(Protocol):
    job_id: str | None  # the job it is running; None: free
    held: set[str]  # jobs whose models it trained or rebuilt (it may have evicted some since)

    @property
    def pid(self) -> int | None: ...


M = TypeVar("M", bound=Member)


class Slots(Generic[M]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._members: list[M] = []
        self._pinned: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = False

    @property
    def started(self) -> bool:
        with self._lock:
            return bool(self._members)

    def free_slots(self) -> int:
        with self._lock:
            return sum(1 for m in self._members if m.job_id is None) if self._members else self.size

    def running(self) -> dict[str, int | None]:
        """Job id → pid of the worker running it."""
        with self._lock:
            return {m.job_id: m.pid for m in self._members if m.job_id}

    def _take_free(self, job_id: str) -> M | None:
        """A free member, now running ``job_id`` (``_lock`` held); None if all are busy or stopping."""
        member = next((m for m in self._members if m.job_id is None), None)
        if member is None or self._stopping:
            return None
        member.job_id = job_id
        member.held.add(job_id)
        return member

    def _running(self, job_id: str) -> M | None:
        with self._lock:
            return next((m for m in self._members if m.job_id == job_id), None)

    def _holder(self, job_id: str, restore: bool) -> M:
        """The member holding the job's model, else (``restore``) the least busy one, remembered."""
        with self._lock:
            member = next((m for m in self._members if job_id in m.held), None)
            if member is None and not restore:
                raise NotInMemory(f"job {job_id}'s tuned model is not held by any worker")
            if member is None:
                member = min(self._members, key=lambda m: (m.job_id is not None, len(m.held)))
                member.held.add(job_id)
            return member

    def _stable(self, key: str) -> M:
        """The same member for the same key while the pool's size holds (a replacement takes its
        predecessor's place): crc32, unlike ``hash``, is the same in every process and run."""
        with self._lock:
            if not self._members:
                raise NotInMemory("the training workers are stopping")
            return self._members[zlib.crc32(key.encode()) % len(self._members)]

    def _pin(self, job_id: str, pinned: bool) -> list[M]:
        """Remember the pin (replacements get it too); returns the members to tell."""
        with self._lock:
            (self._pinned.add if pinned else self._pinned.discard)(job_id)
            return list(self._members)

    def _finished(self, member: M, job_id: str, state: str) -> None:
        with self._lock:
            member.job_id = None
            if state != "done":  # nothing kept
                member.held.discard(job_id)
