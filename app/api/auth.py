"""Instructor login: trade the token for a signed cookie (so the dashboard works in a plain browser
tab), log out, and ask who you are."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import ClassroomDep, CredentialsDep
from app.classroom.auth import INSTRUCTOR_COOKIE, INSTRUCTOR_MAX_AGE_S, STUDENT_COOKIE
from app.classroom.dashboard import class_state

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/auth", tags=["classroom"])


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=512, description="the instructor token the server printed")


@router.post("/login")
def login(
    body: Login, request: Request, response: Response, room: ClassroomDep, who: CredentialsDep
) -> dict[str, Any]:
    # The right token always logs in; wrong ones are throttled per address (app.limits.guard says why).
    if not room.auth.token_matches(body.token.strip()):
        logger.warning("failed instructor login from %s", who.address)
        room.auth.wrong_guess(who)  # Throttled (429) past the allowance
        raise HTTPException(403, "that is not the instructor token (ftlab serve prints it at start)")
    response.set_cookie(
        INSTRUCTOR_COOKIE,
        room.auth.instructor_cookie(),
        max_age=INSTRUCTOR_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return {"instructor": True}


@router.post("/logout")
def logout(response: Response, student: bool = False) -> dict[str, Any]:
    """Forget the instructor login (and, with ``?student=true``, the class seat in this browser)."""
    response.delete_cookie(INSTRUCTOR_COOKIE)
    if student:
        response.delete_cookie(STUDENT_COOKIE)
    return {"instructor": False}


@router.get("/me")
def who_am_i(room: ClassroomDep, who: CredentialsDep) -> dict[str, Any]:
    found = room.seat_member(who)
    return {"instructor": room.auth.is_instructor(who), "student": class_state(*found) if found else None}
