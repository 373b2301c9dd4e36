"""The classroom service on a real database (SQLite, and PostgreSQL where available)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine

from app.classroom.class_rules import ClassLimits
from app.classroom.service import (
    Answer,
    ClassClosed,
    ClassFull,
    ClassroomService,
    NicknameTaken,
    UnknownClass,
)
from app.db import make_engine, make_sessionmaker
from app.jobs.state import JobState
from app.jobs.store import JobStore
from tests.utils.jobs import set_state

CONFIG = {"model": "tiny-llama", "method": "lora", "task": "tone", "steps": 5}


def test_create_and_find_by_any_spelling(service: ClassroomService) -> None:
    info = service.create_class("Week 3", "fine-tuning-llms")
    assert len(info.code) == 6 and info.code.isupper()
    spelled = info.code[:3].lower() + "-" + info.code[3:].lower() + " "
    assert service.get_class(spelled).code == info.code
    assert service.get_class(info.code).limits == ClassLimits()
    with pytest.raises(UnknownClass):
        service.get_class("ZZZZZZ")


def test_nicknames_unique_per_class_as_people_read_them(service: ClassroomService) -> None:
    a = service.create_class("A", "fine-tuning-llms")
    b = service.create_class("B", "fine-tuning-llms")
    first = service.join(a.code, "  Ada   Lovelace ")
    assert first.nickname == "Ada Lovelace" and first.number == 1
    for same in ("ada lovelace", "ＡＤＡ Lovelace", "Ada\tLovelace"):
        with pytest.raises(NicknameTaken):
            service.join(a.code, same)
    assert service.join(b.code, "Ada Lovelace").number == 1  # another class: free
    assert service.join(a.code, "Grace").number == 2
    assert [m.nickname for m in service.members(a.code)] == ["Ada Lovelace", "Grace"]
    assert service.get_class(a.code).members == 2


@pytest.mark.parametrize("bad", ["", "   ", "x" * 33, "bell\x07", "zero\u200bwidth"])
def test_bad_nicknames_refused(service: ClassroomService, bad: str) -> None:
    code = service.create_class("A", "fine-tuning-llms").code
    with pytest.raises(ValueError):
        service.join(code, bad)
    assert service.members(code) == []


def test_concurrent_joins_number_everyone_once(service: ClassroomService) -> None:
    code = service.create_class("A", "fine-tuning-llms").code
    names = [f"student-{i}" for i in range(40)] + ["twin"] * 5
    outcomes: list[object] = []

    def join(name: str) -> object:
        try:
            return service.join(code, name)
        except NicknameTaken as exc:
            return exc

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(join, names))
    members = service.members(code)
    assert len(members) == 41
    assert sorted(m.number for m in members) == list(range(1, 42))
    assert sum(isinstance(o, NicknameTaken) for o in outcomes) == 4


def test_class_full(engine: Engine) -> None:
    service = ClassroomService(make_sessionmaker(engine), max_members=2)
    code = service.create_class("A", "fine-tuning-llms").code
    service.join(code, "a")
    service.join(code, "b")
    with pytest.raises(ClassFull):
        service.join(code, "c")
    assert service.get_class(code).members == 2  # the refused join left no trace


def test_closed_class_refuses_joins_answers_and_pins(service: ClassroomService) -> None:
    code = service.create_class("A", "fine-tuning-llms").code
    member = service.join(code, "a")
    closed = service.close(code)
    assert closed.closed and service.close(code).closed_at == closed.closed_at
    with pytest.raises(ClassClosed):
        service.join(code, "b")
    with pytest.raises(ClassClosed):
        service.record_answers(code, member.id, [Answer(question_id="q1", choice_id="a", correct=True)])
    with pytest.raises(ClassClosed):
        service.pin(code, "job1")


def test_answers_replace_earlier_ones_and_reset(service: ClassroomService) -> None:
    code = service.create_class("A", "fine-tuning-llms").code
    a, b = service.join(code, "a"), service.join(code, "b")
    service.record_answers(code, a.id, [Answer(question_id="q1", choice_id="x", correct=False)])
    service.record_answers(
        code,
        a.id,
        [
            Answer(question_id="q1", choice_id="y", correct=True),
            Answer(question_id="q2", choice_id="x", correct=False),
        ],
    )
    service.record_answers(code, b.id, [Answer(question_id="q1", choice_id="x", correct=False)])
    assert sorted(service.answer_counts(code)) == [
        ("q1", "x", False, 1),
        ("q1", "y", True, 1),
        ("q2", "x", False, 1),
    ]
    assert [x.choice_id for x in service.answers_of(a.id)] == ["y", "x"]
    assert service.all_answers(code) == {a.id: {"q1": True, "q2": False}, b.id: {"q1": False}}
    assert service.member_scores(code) == {a.id: (2, 1), b.id: (1, 0)}
    assert service.reset_question(code, "q1") == 2
    assert service.answer_counts(code) == [("q2", "x", False, 1)]


def test_runs_pins_and_student_load(service: ClassroomService, job_store: JobStore) -> None:
    code = service.create_class("A", "fine-tuning-llms").code
    member = service.join(code, "a")
    for job_id in ("j1", "j2", "j3"):
        job_store.create_job(job_id, CONFIG, owner=f"student:{member.id}")
        service.record_run(code, member.id, job_id)
    set_state(job_store, "j1", JobState.RUNNING)
    set_state(job_store, "j1", JobState.DONE)
    now = time.time()
    active, recent, oldest = service.student_load(member.id, 600, now)
    assert (active, recent) == (2, 3) and oldest is not None and oldest <= now
    assert service.student_load(member.id, 600, now + 3600)[1] == 0  # the window has moved on

    job_store.create_job("pinned", CONFIG, owner="instructor")
    info = service.pin(code, "pinned")
    assert info.pinned_job_id == "pinned"
    assert service.class_of_job("pinned") == (code, None)
    assert service.class_of_job("j2") == (code, member.id)
    runs = service.runs(code)
    assert [r.job_id for r in runs][0] == "pinned" and len(runs) == 4
    assert {r.job_id: r.state for r in runs}["j1"] == "done"
    assert service.run_counts(code) == {member.id: 3}
    assert service.pin(code, None).pinned_job_id is None


def test_everything_survives_a_new_engine(database_url: str, service: ClassroomService) -> None:
    info = service.create_class("A", "fine-tuning-llms", anonymous=True, limits=ClassLimits(max_steps=7))
    member = service.join(info.code, "a")
    service.record_answers(info.code, member.id, [Answer(question_id="q1", choice_id="y", correct=True)])
    engine = make_engine(database_url)  # as after a restart: nothing shared but the database
    try:
        again = ClassroomService(make_sessionmaker(engine))
        reloaded = again.get_class(info.code)
        assert reloaded.anonymous and reloaded.limits.max_steps == 7
        assert again.seat(info.code, member.id)[1] == member
        assert again.answers_of(member.id)[0].correct
    finally:
        engine.dispose()
