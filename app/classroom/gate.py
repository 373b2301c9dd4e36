"""The classroom's hooks in the jobs routes: admitting a submission under the class limits, and who
may see or cancel a job. Kept here so the jobs router needs one import and two calls."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException
from starlette.requests import HTTPConnection

from app.api.errors import field_error
from app.classroom.limits import LimitExceeded
from app.classroom.room import Classroom, Submission
from app.training.train_config import TrainConfig


class _NoClassroom:
    def record(self, job_id: str) -> None:
        pass


def _classroom(conn: HTTPConnection) -> Classroom | None:
    return getattr(conn.app.state, "classroom", None)


def _resolved_steps(config: TrainConfig) -> int | None:
    if config.steps is not None:
        return config.steps
    try:
        from app.training.methods import resolve_config

        return resolve_config(config).steps
    except Exception:  # an invalid config: the runner refuses it with its own message
        return None


@contextmanager
def admit_job(conn: HTTPConnection, config: TrainConfig) -> Iterator[Submission | _NoClassroom]:
    """``with admit_job(request, config) as admitted: job = runner.submit(...); admitted.record(job.id)``.
    Raises the HTTP error of a broken class limit (422 naming the field, 403, or 429 + Retry-After)."""
    room = _classroom(conn)
    if room is None:
        yield _NoClassroom()
        return
    try:
        with room.submission(conn, config.model, config.method, lambda: _resolved_steps(config)) as admitted:
            yield admitted
    except LimitExceeded as exc:
        if exc.field is not None:
            raise field_error(exc.field, str(exc), getattr(config, exc.field, None)) from None
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        raise HTTPException(exc.status, str(exc), headers=headers) from None


def owner_of(conn: HTTPConnection) -> str | None:
    room = _classroom(conn)
    return room.auth.owner_of(conn) if room is not None else None


def check_view(viewer: str | None, job_owner: str | None, job_id: str) -> None:
    """404 for a job the viewer may not see (a student's job to anyone but them and the instructor)."""
    from app.classroom.access import may_view

    if not may_view(viewer, job_owner):
        raise HTTPException(404, f"no job {job_id!r}")
