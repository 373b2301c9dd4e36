"""Lesson content and the lesson quiz: thin routes over ``app.lesson.content``.

The quiz served to browsers carries no answers; grading happens here, and a student seated in an
open class of the lesson has the answers recorded for the instructor's dashboard.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.api.deps import AnyClassroomDep, CredentialsDep, OwnerDep, RunnerDep, StoreDep
from app.classroom.room import Classroom
from app.identity import Credentials, may_view
from app.lesson import content as lessons
from app.lesson import own_run_quiz
from app.lesson.quiz import PublicQuestion, PublicQuiz, QuizAnswerError, QuizResult

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/lessons", tags=["lessons"])

MAX_ANSWERS = 100
QUIZ_COOKIE = "ftlab_quiz"
QUIZ_COOKIE_AGE_S = 365 * 24 * 3600
QUIZ_SEED = re.compile(r"[A-Za-z0-9_-]{8,64}")
JobId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="the student's finished run")]
OwnChoiceId = Annotated[str, StringConstraints(pattern=r"^c[0-9a-f]{10}$")]
Slug = Annotated[str, Path(pattern=lessons.SLUG_PATTERN, max_length=64, description="the lesson's slug")]
AnswerId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def _answers_schema(schema: dict[str, Any]) -> None:
    """The quiz ids are static (the lessons' quiz files), so the schema names them: each question
    with its own choices, nothing else. (With several lessons it lists every lesson's questions; a
    question of another lesson is still refused, with 422 naming it.)"""
    choices: dict[str, set[str]] = {}
    for lesson in lessons.all_lessons():
        for question in lessons.get_quiz(lesson.slug).questions:
            choices.setdefault(question.id, set()).update(choice.id for choice in question.choices)
    schema.clear()
    schema.update(
        type="object",
        title="Answers",
        description="question id → the id of the chosen choice; questions left out count as unanswered",
        properties={qid: {"type": "string", "enum": sorted(ids)} for qid, ids in choices.items()},
        additionalProperties=False,
        maxProperties=MAX_ANSWERS,
    )


class QuizAnswers(BaseModel):
    """``{"answers": {question id: choice id}}``; questions left out count as unanswered."""

    model_config = ConfigDict(extra="forbid")
    answers: dict[AnswerId, AnswerId] = Field(max_length=MAX_ANSWERS, json_schema_extra=_answers_schema)


class OwnRunAnswers(BaseModel):
    """``{"answers": {question id: choice id}}`` for the questions about one's own run."""

    model_config = ConfigDict(extra="forbid")
    answers: dict[Literal[tuple(own_run_quiz.OWN_RUN_TEXT)], OwnChoiceId] = Field(  # type: ignore[valid-type]
        max_length=len(own_run_quiz.OWN_RUN_TEXT)
    )


class OwnRunQuiz(BaseModel):
    job_id: str
    questions: list[PublicQuestion]


def _lesson_or_404(slug: str) -> lessons.Lesson:
    try:
        return lessons.get_lesson(slug)
    except lessons.UnknownLessonError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("")
def list_lessons() -> list[lessons.LessonSummary]:
    return lessons.lesson_summaries()


@router.get("/{slug}")
def get_lesson(slug: Slug) -> lessons.Lesson:
    """The lesson's sections: id, title, rendered (escaped) HTML, widget ids and reading minutes."""
    return _lesson_or_404(slug)


@router.get("/{slug}/quiz")
def get_quiz(slug: Slug, request: Request, response: Response) -> PublicQuiz:
    """The questions and choices, without which choice is right or any explanation. Choices come in
    an order shuffled per student: a random key in the ``ftlab_quiz`` cookie keeps it stable."""
    _lesson_or_404(slug)
    seed = request.cookies.get(QUIZ_COOKIE, "")
    if not QUIZ_SEED.fullmatch(seed):
        seed = secrets.token_urlsafe(12)
        response.set_cookie(QUIZ_COOKIE, seed, max_age=QUIZ_COOKIE_AGE_S, httponly=True, samesite="lax")
    return lessons.public_quiz(slug, seed)


@router.post("/{slug}/quiz/answers")
def answer_quiz(slug: Slug, body: QuizAnswers, room: AnyClassroomDep, who: CredentialsDep) -> QuizResult:
    """Grade the answers: score, and per question whether it was right, why, and its section."""
    _lesson_or_404(slug)
    try:
        result = lessons.grade(slug, body.answers)
    except QuizAnswerError as exc:
        errors: list[dict[str, Any]] = [
            {"type": "value_error", "loc": ("body", "answers", qid), "msg": msg, "input": body.answers[qid]}
            for qid, msg in exc.problems
        ]
        raise RequestValidationError(errors) from None
    if room is not None:
        _record_for_class(room, who, slug, body.answers, result)
    return result


def _own_run_events(job_id: str, runner: Any, store: Any, owner: str | None) -> list[dict[str, Any]]:
    """The stored events of a run the requester may see (404 otherwise), parsed."""
    job = runner.get(job_id)
    if job is None or not may_view(owner, job.owner):
        raise HTTPException(404, f"no job {job_id!r}")
    return [json.loads(e.data) for e in store.events_after(job_id, after=0)]


@router.get("/{slug}/quiz/own-run/{job_id}")
def own_run_questions(
    slug: Slug, job_id: JobId, request: Request, runner: RunnerDep, store: StoreDep, owner: OwnerDep
) -> OwnRunQuiz:
    """Two or three questions computed from the requester's finished run (its stored events): 404 for
    a run they cannot see, 409 while it has not ended in ``done``."""
    _lesson_or_404(slug)
    events = _own_run_events(job_id, runner, store, owner)
    seed = request.cookies.get(QUIZ_COOKIE, "")
    try:
        questions = own_run_quiz.public_questions(job_id, events, seed)
    except own_run_quiz.RunNotFinished as exc:
        raise HTTPException(409, str(exc)) from None
    return OwnRunQuiz(job_id=job_id, questions=[PublicQuestion(**q) for q in questions])


@router.post("/{slug}/quiz/own-run/{job_id}/answers")
def answer_own_run(
    slug: Slug,
    job_id: JobId,
    body: OwnRunAnswers,
    runner: RunnerDep,
    store: StoreDep,
    owner: OwnerDep,
    room: AnyClassroomDep,
    who: CredentialsDep,
) -> QuizResult:
    """Grade the answers about one's own run from its stored events; a seated student's answers count
    in the class results like the lesson quiz's."""
    _lesson_or_404(slug)
    events = _own_run_events(job_id, runner, store, owner)
    try:
        given: dict[str, str] = dict(body.answers)
        result = own_run_quiz.grade_own_run(job_id, events, given)
    except own_run_quiz.RunNotFinished as exc:
        raise HTTPException(409, str(exc)) from None
    except QuizAnswerError as exc:
        errors: list[dict[str, Any]] = [
            {"type": "value_error", "loc": ("body", "answers", qid), "msg": msg, "input": given.get(qid)}
            for qid, msg in exc.problems
        ]
        raise RequestValidationError(errors) from None
    if room is not None:
        _record_for_class(room, who, slug, given, result)
    return result


def _record_for_class(
    room: Classroom, who: Credentials, slug: str, answers: dict[str, str], result: QuizResult
) -> None:
    """A seated student's answers reach the instructor's dashboard."""
    from app.classroom.quiz import graded_answers

    try:
        room.record_quiz(who, slug, graded_answers(answers, result))
    except Exception:  # the student still gets the grade; the instructor's copy is what failed
        logger.exception("could not record quiz answers for the class dashboard")
