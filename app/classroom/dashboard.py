"""What the instructor's dashboard and a student's page are sent (plain dicts, JSON-ready)."""

from __future__ import annotations

from typing import Any, Protocol

from app.classroom.results import question_stats
from app.classroom.room import Classroom
from app.classroom.service import ClassInfo, Member
from app.lesson.quiz import PublicQuestion
from app.rows import UNFINISHED_STATES


class RunnerView(Protocol):  # the parts of app.jobs.runner.Runner used here
    def get(self, job_id: str) -> Any: ...
    def stats(self) -> dict[str, int]: ...


def class_state(info: ClassInfo, member: Member | None) -> dict[str, Any]:
    """A student's view of their class: never other students' names or answers."""
    state: dict[str, Any] = {
        "type": "class",
        "code": info.code,
        "title": info.title,
        "lesson": info.lesson,
        "closed": info.closed,
        "pinned_job_id": info.pinned_job_id,
        "limits": info.limits.model_dump(mode="json"),
    }
    if member is not None:
        state["me"] = {"nickname": member.nickname, "number": member.number}
    return state


def dashboard_state(
    room: Classroom, code: str, questions: list[PublicQuestion], runner: RunnerView | None
) -> dict[str, Any]:
    service = room.service
    info = service.get_class(code)
    members = service.members(code)
    scores = service.member_scores(code)
    run_counts = service.run_counts(code)
    names = {m.id: m.shown_as(info.anonymous) for m in members}
    students = [
        {
            "id": m.id,  # for the instructor's remove action
            "name": names[m.id],
            "number": m.number,
            "joined_at": m.joined_at,
            "answered": scores.get(m.id, (0, 0))[0],
            "correct": scores.get(m.id, (0, 0))[1],
            "runs": run_counts.get(m.id, 0),
        }
        for m in members
    ]
    runs = []
    for run in service.runs(code):
        position = None
        if runner is not None and run.state == "queued":
            job = runner.get(run.job_id)
            position = getattr(job, "queue_position", None)
        runs.append(
            {
                **run.model_dump(mode="json", exclude={"member_id"}),
                "who": "instructor" if run.member_id is None else names.get(run.member_id, "?"),
                "queue_position": position,
                "pinned": run.job_id == info.pinned_job_id,
            }
        )
    stats = question_stats(questions, service.answer_counts(code))
    return {
        "type": "dashboard",
        "class": {**info.model_dump(mode="json"), "closed": info.closed},
        "students": students,
        "questions": [s.model_dump(mode="json") for s in stats],
        "answers_total": sum(s.answered for s in stats),
        "runs": runs,
        "queue": runner.stats() if runner is not None else None,
        "active_runs": sum(1 for r in runs if r["state"] in UNFINISHED_STATES),
    }
