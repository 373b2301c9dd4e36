"""Whether a request may upload tasks: the same rules as training (a class open on the server
means a seat or the instructor; a class that turned training off, or is closed, allows no uploads
either)."""

from __future__ import annotations

from app.classroom.class_rules import LimitExceeded
from app.classroom.room import Classroom
from app.identity import Credentials, task_scope


def upload_scope(room: Classroom, who: Credentials) -> str | None:
    """The uploader's ``task_scope`` (None: the instructor); LimitExceeded (403) if they may not."""
    scope = task_scope(room.auth.owner_of(who), who)
    if scope is None:
        return None
    seated = room.admitted_seat(who, "upload tasks")
    if seated is None:
        return scope
    _seat, info, _member = seated
    if not info.limits.students_can_train:
        raise LimitExceeded("students of this class watch the instructor's run; uploads are off", status=403)
    return scope
