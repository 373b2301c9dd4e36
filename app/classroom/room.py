"""The classroom as the app holds it (``app.state.classroom``): service, auth and hub together, plus
the check every job submission passes through and the recording of quiz answers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker

from app.classroom.auth import ClassroomAuth, StudentSeat
from app.classroom.class_rules import LimitExceeded, check_config, check_load
from app.classroom.hub import ClassHub
from app.classroom.service import Answer, ClassClosed, ClassInfo, ClassroomService, Member
from app.config import Settings
from app.identity import INSTRUCTOR_OWNER, Credentials
from app.limits.guard import TokenGuard

logger = logging.getLogger(__name__)


@dataclass
class Submission:
    """An admitted job submission: ``record(job_id)`` once the runner has queued it."""

    owner: str | None
    seat: StudentSeat | None
    room: Classroom

    def record(self, job_id: str) -> None:
        if self.seat is not None:
            self.room.service.record_run(self.seat.class_code, self.seat.member_id, job_id)
            self.room.hub.notify(self.seat.class_code, "runs")


class Classroom:
    def __init__(
        self,
        sessions: sessionmaker,
        settings: Settings,
        secret_key: str,
        guard: TokenGuard | None = None,
        hub: ClassHub | None = None,
    ) -> None:
        """``guard`` throttles wrong instructor tokens; ``hub`` (default: this process's only) carries
        "class changed" signals."""
        self.service = ClassroomService(sessions)
        self.auth = ClassroomAuth(settings.instructor_token, secret_key, guard)
        self.hub = hub or ClassHub()
        self._member_locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def seat_member(self, who: Credentials) -> tuple[ClassInfo, Member] | None:
        """The requester's class and membership, if their cookie names a seat that exists (and the
        instructor has not removed)."""
        seat = self.auth.student_seat(who)
        if seat is None:
            return None
        return self.service.seat(seat.class_code, seat.member_id)

    @contextmanager
    def submission(
        self, owner: str | None, who: Credentials, model: str, method: str, steps: int
    ) -> Iterator[Submission]:
        """Admit a job of ``owner`` (``auth.owner_of(who)``, or the instructor) or raise LimitExceeded.
        ``steps``: the job's steps, the method's default filled in. The student's lock is held until
        the block ends, so two quick clicks cannot both pass."""
        if owner == INSTRUCTOR_OWNER:
            yield Submission(owner, None, self)
            return
        seated = self.admitted_seat(who, "train")
        if seated is None:
            yield Submission(None, None, self)
            return
        seat, info, member = seated
        limits = info.limits
        check_config(limits, model, method, steps)
        with self._lock_of(member.id):
            now = time.time()
            active, recent, oldest = self.service.student_load(member.id, limits.window_s, now)
            check_load(limits, active, recent, oldest, now)
            yield Submission(seat.owner, seat, self)

    def admitted_seat(self, who: Credentials, action: str) -> tuple[StudentSeat, ClassInfo, Member] | None:
        """The rule every student action shares (training, uploads): no seat is fine while no class
        is open (None); otherwise the seat must exist and its class be open. LimitExceeded (403),
        naming ``action``, if not."""
        seat = self.auth.student_seat(who)
        if seat is None:
            if self.service.any_open():
                raise LimitExceeded(
                    f"a class is open on this server: join it at /join (or log in as the instructor at "
                    f"/login) to {action}",
                    status=403,
                )
            return None
        found = self.seat_member(who)
        if found is None:
            raise LimitExceeded("your class seat is no longer valid; join again at /join", status=403)
        info, member = found
        if info.closed:
            raise LimitExceeded(f"class {info.code} is closed", status=403)
        return seat, info, member

    def _lock_of(self, member_id: str) -> threading.Lock:
        with self._locks_lock:
            return self._member_locks.setdefault(member_id, threading.Lock())

    def record_quiz(self, who: Credentials, slug: str, graded: list[Answer]) -> bool:
        """Called after the lesson quiz is graded: a student in an open class of this lesson has the
        answers recorded (and the dashboard told). False when the requester is not such a student."""
        found = self.seat_member(who)
        if found is None:
            return False
        info, member = found
        if info.closed or info.lesson != slug:
            return False
        try:
            self.service.record_answers(info.code, member.id, graded)
        except ClassClosed:
            return False
        self.hub.notify(info.code, "answers")
        return True
