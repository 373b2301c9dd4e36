"""Every database operation of the classroom. Each method is one short transaction; thread-safe."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Sequence

from pydantic import BaseModel
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.classroom.class_rules import ClassLimits
from app.classroom.codes import clean_nickname, new_code, nickname_key, normalise_code
from app.rows import UNFINISHED_STATES, AnswerRow, ClassRow, ClassRunRow, JobRow, MemberRow

MAX_MEMBERS = 1000


class UnknownClass(KeyError):
    pass


class ClassClosed(Exception):
    pass


class NicknameTaken(Exception):
    pass


class ClassFull(Exception):
    pass


class ClassInfo(BaseModel):
    code: str
    title: str
    lesson: str
    anonymous: bool
    limits: ClassLimits
    pinned_job_id: str | None
    created_at: float
    closed_at: float | None
    members: int

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @classmethod
    def of(cls, row: ClassRow) -> ClassInfo:
        return cls(
            code=row.code,
            title=row.title,
            lesson=row.lesson,
            anonymous=row.anonymous,
            limits=ClassLimits.model_validate(row.limits),
            pinned_job_id=row.pinned_job_id,
            created_at=row.created_at,
            closed_at=row.closed_at,
            members=row.joined,
        )


class Member(BaseModel):
    id: str
    class_code: str
    nickname: str
    number: int
    joined_at: float

    def shown_as(self, anonymous: bool) -> str:
        """The name on the instructor's screen and export: hidden behind a number in anonymous mode."""
        return f"Student {self.number}" if anonymous else self.nickname

    @classmethod
    def of(cls, row: MemberRow) -> Member:
        return cls.model_validate(row, from_attributes=True)


class Answer(BaseModel):
    question_id: str
    choice_id: str
    correct: bool


class RunInfo(BaseModel):
    job_id: str
    member_id: str | None
    created_at: float
    state: str
    model: str
    method: str
    task: str
    steps: int | None


class ClassroomService:
    def __init__(self, sessions: sessionmaker, max_members: int = MAX_MEMBERS) -> None:
        self._sessions = sessions
        self.max_members = max_members

    # -- classes ------------------------------------------------------------------------------
    def create_class(
        self, title: str, lesson: str, anonymous: bool = False, limits: ClassLimits | None = None
    ) -> ClassInfo:
        limits_json = (limits or ClassLimits()).model_dump(mode="json")
        for _ in range(20):  # a collision needs ~30k open classes to be likely; retry anyway
            row = ClassRow(
                code=new_code(),
                title=title,
                lesson=lesson,
                anonymous=anonymous,
                limits=limits_json,
                joined=0,
                created_at=time.time(),
            )
            try:
                with self._sessions.begin() as session:
                    session.add(row)
                    session.flush()
                    return ClassInfo.of(row)
            except IntegrityError:
                continue
        raise RuntimeError("could not find a free join code")

    def get_class(self, code: str) -> ClassInfo:
        with self._sessions() as session:
            return ClassInfo.of(self._class(session, code))

    def list_classes(self, limit: int = 100) -> list[ClassInfo]:
        query = select(ClassRow).order_by(ClassRow.created_at.desc()).limit(limit)
        with self._sessions() as session:
            return [ClassInfo.of(row) for row in session.scalars(query)]

    def any_open(self) -> bool:
        with self._sessions() as session:
            return (
                session.scalar(select(ClassRow.code).where(ClassRow.closed_at.is_(None)).limit(1)) is not None
            )

    def close(self, code: str) -> ClassInfo:
        with self._sessions.begin() as session:
            row = self._class(session, code)
            row.closed_at = row.closed_at or time.time()
            return ClassInfo.of(row)

    def set_limits(self, code: str, limits: ClassLimits) -> ClassInfo:
        with self._sessions.begin() as session:
            row = self._open_class(session, code)
            row.limits = limits.model_dump(mode="json")
            return ClassInfo.of(row)

    def pin(self, code: str, job_id: str | None) -> ClassInfo:
        with self._sessions.begin() as session:
            row = self._open_class(session, code)
            row.pinned_job_id = job_id
            if job_id is not None and session.get(ClassRunRow, job_id) is None:
                session.add(
                    ClassRunRow(job_id=job_id, class_code=row.code, member_id=None, created_at=time.time())
                )
            return ClassInfo.of(row)

    # -- members ------------------------------------------------------------------------------
    def join(self, code: str, nickname: str) -> Member:
        """A new member; NicknameTaken if the (normalised) nickname is in use in the class."""
        nickname = clean_nickname(nickname)
        key = nickname_key(nickname)
        try:
            with self._sessions.begin() as session:
                row = self._open_class(session, code)
                taken = select(MemberRow.id).where(
                    MemberRow.class_code == row.code, MemberRow.nickname_key == key
                )
                if session.scalar(taken) is not None:
                    raise NicknameTaken(nickname)
                # Numbering through an UPDATE of the class row serialises joins of one class.
                number = session.scalar(
                    update(ClassRow)
                    .where(ClassRow.code == row.code)
                    .values(joined=ClassRow.joined + 1)
                    .returning(ClassRow.joined)
                )
                if number is None or number > self.max_members:
                    raise ClassFull(f"the class is full ({self.max_members} students)")
                member = MemberRow(
                    id=secrets.token_hex(8),
                    class_code=row.code,
                    nickname=nickname,
                    nickname_key=key,
                    number=number,
                    joined_at=time.time(),
                )
                session.add(member)
                session.flush()
                return Member.of(member)
        except IntegrityError:  # a concurrent join took the nickname between the check and the insert
            raise NicknameTaken(nickname) from None

    def seat(self, code: str, member_id: str) -> tuple[ClassInfo, Member] | None:
        """A member and their class in one query (every student request asks this)."""
        query = (
            select(ClassRow, MemberRow)
            .join(MemberRow, MemberRow.class_code == ClassRow.code)
            .where(MemberRow.id == member_id, ClassRow.code == normalise_code(code))
            .where(MemberRow.removed_at.is_(None))  # a removed seat's cookie names no one
        )
        with self._sessions() as session:
            row = session.execute(query).first()
            return (ClassInfo.of(row[0]), Member.of(row[1])) if row else None

    def remove_member(self, code: str, member_id: str) -> Member | None:
        """The instructor removes a seat: it stops working at once (every process reads the row);
        the member's answers and runs stay. None if the class has no such (present) member."""
        with self._sessions.begin() as session:
            row = session.get(MemberRow, member_id)
            if row is None or row.class_code != normalise_code(code) or row.removed_at is not None:
                return None
            row.removed_at = time.time()
            return Member.of(row)

    def members(self, code: str, include_removed: bool = False) -> list[Member]:
        """The class's members in join order (those the instructor removed only when asked: the
        results keep their answers)."""
        query = select(MemberRow).where(MemberRow.class_code == normalise_code(code))
        if not include_removed:
            query = query.where(MemberRow.removed_at.is_(None))
        query = query.order_by(MemberRow.number)
        with self._sessions() as session:
            return [Member.of(row) for row in session.scalars(query)]

    # -- answers ------------------------------------------------------------------------------
    def record_answers(self, code: str, member_id: str, answers: Iterable[Answer]) -> int:
        """Store a member's answers; a question answered before gets the new answer."""
        answers = list(answers)
        if not answers:
            return 0
        for attempt in range(3):
            try:
                with self._sessions.begin() as session:
                    row = self._open_class(session, code)
                    self._write_answers(session, row.code, member_id, answers)
                return len(answers)
            except IntegrityError:  # the same student submitting twice at once: the retry updates
                if attempt == 2:
                    raise
        return 0

    @staticmethod
    def _write_answers(session: Session, code: str, member_id: str, answers: Sequence[Answer]) -> None:
        ids = [a.question_id for a in answers]
        existing = {
            row.question_id: row
            for row in session.scalars(
                select(AnswerRow).where(AnswerRow.member_id == member_id, AnswerRow.question_id.in_(ids))
            )
        }
        now = time.time()
        for answer in answers:
            row = existing.get(answer.question_id)
            if row is None:
                row = AnswerRow(member_id=member_id, question_id=answer.question_id, class_code=code)
                session.add(row)
            row.choice_id, row.correct, row.answered_at = answer.choice_id, answer.correct, now

    def answers_of(self, member_id: str) -> list[Answer]:
        query = select(AnswerRow).where(AnswerRow.member_id == member_id).order_by(AnswerRow.question_id)
        with self._sessions() as session:
            return [
                Answer(question_id=r.question_id, choice_id=r.choice_id, correct=r.correct)
                for r in session.scalars(query)
            ]

    def answer_counts(self, code: str) -> list[tuple[str, str, bool, int]]:
        """(question, choice, correct, how many students) for every answer given in the class."""
        query = (
            select(AnswerRow.question_id, AnswerRow.choice_id, AnswerRow.correct, func.count())
            .where(AnswerRow.class_code == normalise_code(code))
            .group_by(AnswerRow.question_id, AnswerRow.choice_id, AnswerRow.correct)
        )
        with self._sessions() as session:
            return [(q, c, bool(ok), int(n)) for q, c, ok, n in session.execute(query)]

    def member_scores(self, code: str) -> dict[str, tuple[int, int]]:
        """member id → (questions answered, answered correctly), counted by the database."""
        query = (
            select(AnswerRow.member_id, func.count(), func.sum(case((AnswerRow.correct, 1), else_=0)))
            .where(AnswerRow.class_code == normalise_code(code))
            .group_by(AnswerRow.member_id)
        )
        with self._sessions() as session:
            return {str(m): (int(n), int(ok or 0)) for m, n, ok in session.execute(query)}

    def all_answers(self, code: str) -> dict[str, dict[str, bool]]:
        """member id → question id → correct."""
        query = select(AnswerRow.member_id, AnswerRow.question_id, AnswerRow.correct).where(
            AnswerRow.class_code == normalise_code(code)
        )
        out: dict[str, dict[str, bool]] = {}
        with self._sessions() as session:
            for member_id, question_id, correct in session.execute(query):
                out.setdefault(member_id, {})[question_id] = bool(correct)
        return out

    def reset_question(self, code: str, question_id: str) -> int:
        with self._sessions.begin() as session:
            row = self._class(session, code)
            result = session.execute(
                delete(AnswerRow).where(
                    AnswerRow.class_code == row.code, AnswerRow.question_id == question_id
                )
            )
            return int(result.rowcount or 0)

    # -- runs ---------------------------------------------------------------------------------
    def record_run(self, code: str, member_id: str | None, job_id: str) -> None:
        with self._sessions.begin() as session:
            session.add(
                ClassRunRow(
                    job_id=job_id,
                    class_code=normalise_code(code),
                    member_id=member_id,
                    created_at=time.time(),
                )
            )

    def runs(self, code: str, member_id: str | None = None, limit: int = 200) -> list[RunInfo]:
        query = (
            select(ClassRunRow, JobRow)
            .join(JobRow, JobRow.id == ClassRunRow.job_id)
            .where(ClassRunRow.class_code == normalise_code(code))
            .order_by(ClassRunRow.created_at.desc())
            .limit(limit)
        )
        if member_id is not None:
            query = query.where(ClassRunRow.member_id == member_id)
        with self._sessions() as session:
            return [
                RunInfo(
                    job_id=run.job_id,
                    member_id=run.member_id,
                    created_at=run.created_at,
                    state=job.state,
                    model=job.model,
                    method=job.method,
                    task=job.task,
                    steps=(job.config or {}).get("steps"),
                )
                for run, job in session.execute(query)
            ]

    def run_counts(self, code: str) -> dict[str, int]:
        """member id → jobs started (students only)."""
        query = (
            select(ClassRunRow.member_id, func.count())
            .where(ClassRunRow.class_code == normalise_code(code), ClassRunRow.member_id.is_not(None))
            .group_by(ClassRunRow.member_id)
        )
        with self._sessions() as session:
            return {str(m): int(n) for m, n in session.execute(query)}

    def class_of_job(self, job_id: str) -> tuple[str, str | None] | None:
        """(class code, member id or None for the instructor) of a job started in a class."""
        with self._sessions() as session:
            run = session.get(ClassRunRow, job_id)
            return (run.class_code, run.member_id) if run else None

    def student_load(self, member_id: str, window_s: float, now: float) -> tuple[int, int, float | None]:
        """(queued or running jobs, jobs started in the last ``window_s``, the oldest of those's start)."""
        with self._sessions() as session:
            active = session.scalar(
                select(func.count())
                .select_from(ClassRunRow)
                .join(JobRow, JobRow.id == ClassRunRow.job_id)
                .where(ClassRunRow.member_id == member_id, JobRow.state.in_(UNFINISHED_STATES))
            )
            recent, oldest = session.execute(
                select(func.count(), func.min(ClassRunRow.created_at)).where(
                    ClassRunRow.member_id == member_id, ClassRunRow.created_at > now - window_s
                )
            ).one()
        return int(active or 0), int(recent or 0), oldest

    # -- helpers ------------------------------------------------------------------------------
    @staticmethod
    def _class(session: Session, code: str) -> ClassRow:
        row = session.get(ClassRow, normalise_code(code))
        if row is None:
            raise UnknownClass(code)
        return row

    def _open_class(self, session: Session, code: str) -> ClassRow:
        row = self._class(session, code)
        if row.closed_at is not None:
            raise ClassClosed(f"class {row.code} is closed")
        return row
