"""Whether a request may upload tasks: the same rules as training (a class open on the server
means a seat or the instructor; a class that turned training off, or is closed, allows no uploads
either)."""

from __future__ import annotations

from app.classroom.auth import Credentials
from app.classroom.limits import LimitExceeded
from app.classroom.room import Classroom
from app.jobs.uploads import task_scope


def upload_scope(room: Classroom, who: Credentials) -> str | None:
    """The uploader's ``task_scope`` (None: the instructor); LimitExceeded (403) if they may not."""
    scope = task_scope(room.auth.owner_of(who), who)
    if scope is None:
        return None
    seat = room.auth.student_seat(who)
    if seat is None:
        if room.service.any_open():
            raise LimitExceeded(
                "a class is open on this server: join it at /join (or log in as the instructor) to "
                "upload tasks",
                status=403,
            )
        return scope
    found = room.seat_member(who)
    if found is None:
        raise LimitExceeded("your class seat is no longer valid; join again at /join", status=403)
    info, _member = found
    if info.closed:
        raise LimitExceeded(f"class {info.code} is closed", status=403)
    if not info.limits.students_can_train:
        raise LimitExceeded("students of this class watch the instructor's run; uploads are off", status=403)
    return scope
