"""Tokens and signed cookies, read off real Starlette connections by the API's ``credentials`` (no app
needed), and the refusals' status codes as the API maps them."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.requests import Request

from app.api.deps import credentials
from app.api.errors import http_error
from app.classroom.auth import (
    INSTRUCTOR_COOKIE,
    STUDENT_COOKIE,
    ClassroomAuth,
    NotInstructor,
    StudentSeat,
    persistent_secret,
)
from app.config import Settings
from app.identity import Credentials, may_cancel, may_view, visible_owner_filter


def request(headers: dict[str, str] | None = None, cookies: dict[str, str] | None = None) -> Credentials:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if cookies:
        raw.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()))
    scope = {"type": "http", "method": "GET", "path": "/", "headers": raw, "query_string": b""}
    return credentials(Request(scope))


AUTH = ClassroomAuth("the-token", "secret-one")


def test_bearer_token() -> None:
    assert AUTH.instructor_status(request({"Authorization": "Bearer the-token"})) == "ok"
    assert AUTH.instructor_status(request({"Authorization": "bearer  the-token "})) == "ok"
    assert AUTH.instructor_status(request({"Authorization": "Bearer wrong"})) == "wrong"
    assert AUTH.instructor_status(request({"Authorization": "Basic the-token"})) == "wrong"
    assert AUTH.instructor_status(request()) == "missing"


def test_refusals_are_401_without_credentials_and_403_with_wrong_ones() -> None:
    with pytest.raises(NotInstructor) as missing:
        AUTH.require_instructor(request())
    answer = http_error(missing.value)
    assert answer.status_code == 401 and answer.headers == {"WWW-Authenticate": "Bearer"}  # type: ignore[union-attr]
    with pytest.raises(NotInstructor) as wrong:
        AUTH.require_instructor(request({"Authorization": "Bearer nope"}))
    assert http_error(wrong.value).status_code == 403  # type: ignore[union-attr]
    seat = AUTH.student_cookie(StudentSeat("ABCDEF", "m1"))
    with pytest.raises(NotInstructor) as student:
        AUTH.require_instructor(request(cookies={STUDENT_COOKIE: seat}))
    assert http_error(student.value).status_code == 403  # type: ignore[union-attr]


def test_instructor_cookie_is_signed_and_tied_to_the_token() -> None:
    cookie = AUTH.instructor_cookie()
    assert AUTH.is_instructor(request(cookies={INSTRUCTOR_COOKIE: cookie}))
    # Same secret, new token (a restart with a generated token): the old login no longer works.
    assert not ClassroomAuth("new-token", "secret-one").is_instructor(
        request(cookies={INSTRUCTOR_COOKIE: cookie})
    )
    # Another secret cannot have signed it; a student cookie is not an instructor cookie.
    assert not ClassroomAuth("the-token", "other").is_instructor(request(cookies={INSTRUCTOR_COOKIE: cookie}))
    student = AUTH.student_cookie(StudentSeat("ABCDEF", "m1"))
    assert AUTH.instructor_status(request(cookies={INSTRUCTOR_COOKIE: student})) == "wrong"
    tampered = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
    assert not AUTH.is_instructor(request(cookies={INSTRUCTOR_COOKIE: tampered}))


def test_student_seat_cannot_be_forged() -> None:
    cookie = AUTH.student_cookie(StudentSeat("ABCDEF", "m1"))
    assert AUTH.student_seat(request(cookies={STUDENT_COOKIE: cookie})) == StudentSeat("ABCDEF", "m1")
    assert AUTH.student_seat(request(cookies={STUDENT_COOKIE: cookie + "x"})) is None
    forged = ClassroomAuth("the-token", "guessed").student_cookie(StudentSeat("ABCDEF", "m2"))
    assert AUTH.student_seat(request(cookies={STUDENT_COOKIE: forged})) is None
    assert AUTH.student_seat(request(cookies={STUDENT_COOKIE: AUTH.instructor_cookie()})) is None


def test_job_owner_of_a_request() -> None:
    seat = AUTH.student_cookie(StudentSeat("ABCDEF", "m1"))
    login = AUTH.instructor_cookie()
    assert AUTH.owner_of(request()) is None
    assert AUTH.owner_of(request(cookies={STUDENT_COOKIE: seat})) == "student:m1"
    assert (
        AUTH.owner_of(request({"Authorization": "Bearer the-token"}, {STUDENT_COOKIE: seat})) == "instructor"
    )
    assert AUTH.owner_of(request(cookies={INSTRUCTOR_COOKIE: login})) == "instructor"
    assert AUTH.owner_of(request(cookies={INSTRUCTOR_COOKIE: login, STUDENT_COOKIE: seat})) == "student:m1"


def test_who_sees_and_cancels_which_job() -> None:
    assert may_view("student:a", "student:a") and may_view("instructor", "student:a")
    assert not may_view("student:b", "student:a") and not may_view(None, "student:a")
    assert may_view("student:b", "instructor") and may_view("student:b", None)
    assert may_cancel("student:a", "student:a") and may_cancel("instructor", "student:a")
    assert not may_cancel("student:a", "instructor") and not may_cancel("student:a", None)
    assert not may_cancel(None, "instructor") and may_cancel(None, None)
    assert visible_owner_filter("student:a") == "student:a" and visible_owner_filter("instructor") is None


def test_signing_key_survives_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FTLAB_SECRET_KEY", raising=False)
    first = persistent_secret(Settings(data_dir=tmp_path))
    assert first == persistent_secret(Settings(data_dir=tmp_path))  # a new Settings = a restart
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # readable by the owner only
    assert persistent_secret(Settings(data_dir=tmp_path, secret_key="given")) == "given"
