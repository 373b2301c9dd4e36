"""Questions about a student's own run, end to end over HTTP: a seated student's finished tiny-llama
run gets questions computed from its stored events, the server grades them from those events, and
the answers count in the class dashboard; other students cannot see the run, unfinished runs have none."""

from __future__ import annotations

import time

from app.lesson.own_run_quiz import own_run_questions
from tests.classroom.conftest import LESSON
from tests.classroom.helpers import instructor, open_class, student

TINY = {"model": "tiny-llama", "method": "lora", "task": "tone", "steps": 6, "eval_every": 2}
TINY |= {"batch_size": 2, "seq_len": 32, "max_new_tokens": 4, "spectrum_every": 3}


def wait_finished(client, job_id: str, timeout: float = 300) -> str:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/api/jobs/{job_id}").json()["state"]
        if state in ("done", "failed", "cancelled"):
            return state
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish")


def test_own_run_questions_are_graded_from_events_and_counted_for_the_class(server: str) -> None:
    code = open_class(server)
    ada, bo = student(server, code, "Ada"), student(server, code, "Bo")
    job_id = ada.post("/api/jobs", json=TINY).json()["id"]
    assert wait_finished(ada, job_id) == "done"

    quiz = ada.get(f"/api/lessons/{LESSON}/quiz/own-run/{job_id}")
    assert quiz.status_code == 200, quiz.text
    served = quiz.json()["questions"]
    assert 2 <= len(served) <= 3
    events = ada.get(f"/api/jobs/{job_id}/events").json()
    truth = {q.id: q for q in own_run_questions(job_id, events)}  # the same events the server reads
    assert [q["id"] for q in served] == list(truth)
    answers = {qid: next(c.id for c in q.choices if c.correct) for qid, q in truth.items()}
    first = next(iter(answers))
    answers[first] = next(c.id for c in truth[first].choices if not c.correct)  # one wrong on purpose

    graded = ada.post(f"/api/lessons/{LESSON}/quiz/own-run/{job_id}/answers", json={"answers": answers})
    assert graded.status_code == 200, graded.text
    result = graded.json()
    assert (result["score"], result["total"]) == (len(answers) - 1, len(answers))
    started = next(e for e in events if e["type"] == "started")
    if "own-run-rank" in truth:
        explanation = next(r["explanation"] for r in result["results"] if r["id"] == "own-run-rank")
        assert f"{started['trainable_params']:,}" in explanation  # the run's own numbers

    with instructor(server) as teacher:
        stats = {q["id"]: q for q in teacher.get(f"/api/classes/{code}/dashboard").json()["questions"]}
    for qid in answers:
        assert stats[qid]["answered"] == 1 and stats[qid]["correct"] == int(qid != first), qid

    # Bo cannot see Ada's run; a bad choice id is a 422 naming the question
    assert bo.get(f"/api/lessons/{LESSON}/quiz/own-run/{job_id}").status_code == 404
    bad = ada.post(
        f"/api/lessons/{LESSON}/quiz/own-run/{job_id}/answers", json={"answers": {first: "c0000000000"}}
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "answers", first]


def test_a_run_that_did_not_finish_has_no_questions(server: str) -> None:
    code = open_class(server)
    cy = student(server, code, "Cy")
    job_id = cy.post("/api/jobs", json={**TINY, "steps": 60, "eval_every": 60}).json()["id"]
    early = cy.get(f"/api/lessons/{LESSON}/quiz/own-run/{job_id}")
    assert early.status_code == 409 and "has not finished" in early.json()["detail"]
    assert cy.post(f"/api/jobs/{job_id}/cancel").status_code == 200
    assert wait_finished(cy, job_id) == "cancelled"
    assert cy.get(f"/api/lessons/{LESSON}/quiz/own-run/{job_id}").status_code == 409
