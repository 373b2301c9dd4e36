"""Classes over HTTP: create (instructor), join (students, signed cookie), the student's own view,
quiz answers, the instructor's controls (limits, pin, reset, close) and the CSV export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from app.api.deps import (
    ClassGuardDep,
    ClassroomDep,
    CredentialsDep,
    Instructor,
    RunnerDep,
    StoreDep,
    SubmitterDep,
)
from app.api.errors import field_error
from app.api.params import ID_PATTERN
from app.classroom import quiz
from app.classroom.auth import STUDENT_COOKIE, STUDENT_MAX_AGE_S, StudentSeat
from app.classroom.class_rules import ClassLimits
from app.classroom.codes import CODE_PATTERN, NICKNAME_MAX, normalise_code
from app.classroom.dashboard import class_state, dashboard_state
from app.classroom.results import results_csv
from app.classroom.room import Classroom
from app.classroom.service import ClassInfo, Member, UnknownClass
from app.identity import INSTRUCTOR_OWNER, Credentials
from app.jobs.runner import Runner, SubmitResult
from app.limits.classes import Blocked
from app.training.train_config import TrainConfig

router = APIRouter(prefix="/api/classes", tags=["classroom"])

Code = Annotated[str, Path(pattern=CODE_PATTERN, description="the class's join code")]
QuestionId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


def open_class(room: Classroom, code: str) -> ClassInfo:
    info = room.service.get_class(code)  # UnknownClass: 404
    if info.closed:
        raise HTTPException(403, f"class {info.code} is closed")
    return info


# -- creating and listing (instructor) ---------------------------------------------------------
def _lesson_slugs(schema: dict[str, Any]) -> None:
    """The lessons on this server are static (the lessons folder): the schema lists them."""
    from app.lesson import content as lessons

    schema["enum"] = [lesson.slug for lesson in lessons.all_lessons()]


class NewClass(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field("Class", min_length=1, max_length=120)
    lesson: str = Field(
        "fine-tuning-llms", pattern=r"^[a-z0-9][a-z0-9-]{0,79}$", json_schema_extra=_lesson_slugs
    )
    anonymous: StrictBool = Field(False, description="hide nicknames on the instructor's screen and export")
    limits: ClassLimits = Field(default_factory=ClassLimits)


@router.post("", status_code=201, dependencies=[Instructor])
def create_class(body: NewClass, room: ClassroomDep) -> dict[str, Any]:
    try:
        quiz.questions(body.lesson)
    except KeyError:
        raise field_error("lesson", f"no lesson called {body.lesson!r}", body.lesson) from None
    info = room.service.create_class(body.title.strip() or "Class", body.lesson, body.anonymous, body.limits)
    return {**info.model_dump(mode="json"), "closed": False, "join_url": f"/join?code={info.code}"}


@router.get("", dependencies=[Instructor])
def list_classes(room: ClassroomDep) -> list[dict[str, Any]]:
    return [{**c.model_dump(mode="json"), "closed": c.closed} for c in room.service.list_classes()]


# -- students ------------------------------------------------------------------------------------
class JoinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nickname: str = Field(min_length=1, max_length=200, description=f"at most {NICKNAME_MAX} characters")


@router.post("/{code}/join", status_code=201)
def join_class(
    code: Code,
    body: JoinRequest,
    request: Request,
    response: Response,
    room: ClassroomDep,
    who: CredentialsDep,
    guard: ClassGuardDep,
) -> Any:
    address = who.address or "unknown"
    guard.admit_code_lookup(address)  # Throttled: 429 while the address guesses codes
    try:
        info = open_class(room, code)
    except UnknownClass:
        guard.wrong_code(address)
        raise
    found = room.seat_member(who)
    if found is not None and found[0].code == info.code:  # already seated here: same seat
        response.status_code = 200
        return class_state(*found)
    try:
        guard.admit_join(info.code, address)  # Throttled: 429 per address
    except Blocked as exc:
        raise HTTPException(403, str(exc)) from None
    try:  # NicknameTaken: 409, ClassFull / ClassClosed: 403 (app.api.errors)
        member = room.service.join(info.code, body.nickname)
    except ValueError as exc:
        raise field_error("nickname", str(exc), body.nickname) from None
    guard.joined(info.code, member.id, address)
    cookie = room.auth.student_cookie(StudentSeat(info.code, member.id))
    response.set_cookie(
        STUDENT_COOKIE,
        cookie,
        max_age=STUDENT_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    room.hub.notify(info.code, "members")
    return class_state(info, member)


@router.get("/me")
def my_class(room: ClassroomDep, who: CredentialsDep) -> dict[str, Any]:
    """The class of the requester's student cookie (the lesson page asks, to show the pinned run)."""
    found = room.seat_member(who)
    if found is None:
        raise HTTPException(404, "you have not joined a class (join at /join)")
    return class_state(*found)


def _member_of(who: Credentials, room: Classroom, info: ClassInfo) -> Member | None:
    found = room.seat_member(who)
    if found is None or found[0].code != info.code:
        return None
    return found[1]


@router.get("/{code}")
def get_class(code: Code, room: ClassroomDep, who: CredentialsDep) -> dict[str, Any]:
    """The instructor sees the class's settings; a member sees their own view; others nothing."""
    info = room.service.get_class(code)
    if room.auth.is_instructor(who):
        return {**class_state(info, None), "anonymous": info.anonymous, "members": info.members}
    member = _member_of(who, room, info)
    if member is None:
        room.auth.require_instructor(who)  # 401 or 403, with the reason
    return class_state(info, member)


@router.get("/{code}/me")
def my_seat(code: Code, room: ClassroomDep, who: CredentialsDep) -> dict[str, Any]:
    """A student's own answers and runs, and nobody else's."""
    info = room.service.get_class(code)
    member = _member_of(who, room, info)
    if member is None:
        raise HTTPException(403, f"you are not a student of class {info.code}")
    return {
        **class_state(info, member),
        "answers": [a.model_dump() for a in room.service.answers_of(member.id)],
        "runs": [r.model_dump(mode="json") for r in room.service.runs(info.code, member_id=member.id)],
    }


class AnswersRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, str] = Field(max_length=200, description="question id → choice id")


@router.post("/{code}/answers")
def answer_quiz(code: Code, body: AnswersRequest, room: ClassroomDep, who: CredentialsDep) -> dict[str, Any]:
    """The class's lesson quiz, graded and recorded (the lesson page's quiz records too)."""
    found = room.seat_member(who)
    if found is None or found[0].code != normalise_code(code):
        room.service.get_class(code)
        raise HTTPException(403, f"join class {normalise_code(code)} first (at /join)")
    info, member = found
    if info.closed:
        raise HTTPException(403, f"class {info.code} is closed")
    try:
        result, graded = quiz.grade(info.lesson, body.answers)
    except ValueError as exc:  # unknown question or choice ids: nothing graded, nothing recorded
        problems = getattr(exc, "problems", None) or [("", str(exc))]
        raise RequestValidationError(
            [
                {"type": "value_error", "loc": ("body", "answers", q), "msg": m, "input": None}
                for q, m in problems
            ]
        ) from None
    room.service.record_answers(info.code, member.id, graded)
    room.hub.notify(info.code, "answers")
    return result


# -- the instructor's controls -----------------------------------------------------------------------
@router.get("/{code}/dashboard", dependencies=[Instructor])
def dashboard(code: Code, room: ClassroomDep, runner: RunnerDep) -> dict[str, Any]:
    info = room.service.get_class(code)
    return dashboard_state(room, info.code, quiz.questions(info.lesson), runner)


@router.put("/{code}/limits", dependencies=[Instructor])
def set_limits(code: Code, limits: ClassLimits, room: ClassroomDep) -> dict[str, Any]:
    info = open_class(room, code)
    info = room.service.set_limits(info.code, limits)
    room.hub.notify(info.code, "limits")
    return info.limits.model_dump(mode="json")


class PinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job_id: str | None = Field(pattern=ID_PATTERN, description="null unpins")


@router.post("/{code}/pin", dependencies=[Instructor])
def pin_run(code: Code, body: PinRequest, room: ClassroomDep, store: StoreDep, runner: RunnerDep) -> dict:
    info = open_class(room, code)
    if body.job_id is not None and store.get_job(body.job_id) is None:
        raise field_error("job_id", f"no job {body.job_id!r}", body.job_id)
    return class_state(_pin(room, runner, info, body.job_id), None)


@router.post("/{code}/runs", status_code=201, dependencies=[Instructor])
def start_pinned_run(
    code: Code, config: TrainConfig, room: ClassroomDep, runner: RunnerDep, submitter: SubmitterDep
) -> SubmitResult:
    """Start a run as the instructor and pin it: every student's page follows it."""
    info = open_class(room, code)
    result = submitter.submit(config, INSTRUCTOR_OWNER)
    _pin(room, runner, info, result.id)
    return result


def _pin(room: Classroom, runner: Runner, info: ClassInfo, job_id: str | None) -> ClassInfo:
    """Pin ``job_id`` (None: unpin) for the class, its tuned model kept for the "try it" prompts."""
    if info.pinned_job_id and info.pinned_job_id != job_id:
        runner.pin(info.pinned_job_id, False)
    if job_id is not None:
        runner.pin(job_id)
    info = room.service.pin(info.code, job_id)
    room.hub.notify(info.code, "pin")
    room.hub.notify(info.code, "runs")
    return info


@router.post("/{code}/questions/{question_id}/reset", dependencies=[Instructor])
def reset_question(code: Code, question_id: QuestionId, room: ClassroomDep) -> dict[str, Any]:
    info = room.service.get_class(code)
    if question_id not in {q.id for q in quiz.questions(info.lesson)}:
        raise HTTPException(404, f"no question {question_id!r} in the quiz of {info.lesson!r}")
    removed = room.service.reset_question(info.code, question_id)
    room.hub.notify(info.code, "answers")
    return {"question_id": question_id, "removed": removed}


@router.post("/{code}/close", dependencies=[Instructor])
def close_class(code: Code, room: ClassroomDep) -> dict[str, Any]:
    info = room.service.close(room.service.get_class(code).code)
    room.hub.notify(info.code, "closed")
    return {**info.model_dump(mode="json"), "closed": True}


@router.get("/{code}/results.csv", dependencies=[Instructor], response_class=Response)
def results(code: Code, room: ClassroomDep, request: Request) -> Response:
    info = room.service.get_class(code)
    service = room.service
    experiments = getattr(request.app.state, "experiments", None)  # predictions join the export
    body = results_csv(
        quiz.questions(info.lesson),
        service.members(info.code, include_removed=True),
        service.all_answers(info.code),
        service.run_counts(info.code),
        info.anonymous,
        experiments.predictions_by_member(info.code) if experiments is not None else None,
    )
    headers = {"Content-Disposition": f'attachment; filename="ftlab-class-{info.code}-results.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
