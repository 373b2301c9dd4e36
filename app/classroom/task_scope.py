"""Whose uploaded tasks a request sees, and whether it may upload at all: the same rules as
training (a class open on the server means a seat or the instructor; a class that turned
training off, or is closed, allows no uploads either)."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from app.classroom.auth import INSTRUCTOR_OWNER, client_address
from app.classroom.limits import LimitExceeded
from app.classroom.room import Classroom


def task_scope(room: Classroom, conn: HTTPConnection) -> str | None:
    """None for the instructor (uploads shared with the class), the seat's owner for a student,
    ``address:<ip>`` for anonymous use."""
    owner = room.auth.owner_of(conn)
    if owner == INSTRUCTOR_OWNER:
        return None
    return owner or f"address:{client_address(conn)}"


def upload_scope(room: Classroom, conn: HTTPConnection) -> str | None:
    """``task_scope`` of a requester allowed to upload; LimitExceeded (403) otherwise."""
    scope = task_scope(room, conn)
    if scope is None:
        return None
    seat = room.auth.student_seat(conn)
    if seat is None:
        if room.service.any_open():
            raise LimitExceeded(
                "a class is open on this server: join it at /join (or log in as the instructor) to "
                "upload tasks",
                status=403,
            )
        return scope
    found = room.seat_member(conn)
    if found is None:
        raise LimitExceeded("your class seat is no longer valid; join again at /join", status=403)
    info, _member = found
    if info.closed:
        raise LimitExceeded(f"class {info.code} is closed", status=403)
    if not info.limits.students_can_train:
        raise LimitExceeded("students of this class watch the instructor's run; uploads are off", status=403)
    return scope
