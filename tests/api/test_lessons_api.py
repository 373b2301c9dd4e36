"""The lessons API on a tiny app with just its router: content, the quiz without answers, grading,
retries, 404/422 cases, and the hand-off of a seated student's answers to the classroom."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api.lessons import MAX_ANSWERS, router
from app.lesson import content as lessons

SLUG = "fine-tuning-llms"
BASE = f"/api/lessons/{SLUG}"


@pytest.fixture
def app() -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def right_answers() -> dict[str, str]:
    return {q.id: next(c.id for c in q.choices if c.correct) for q in lessons.get_quiz(SLUG).questions}


def wrong_answers() -> dict[str, str]:
    return {q.id: next(c.id for c in q.choices if not c.correct) for q in lessons.get_quiz(SLUG).questions}


def error_locs(response: Any) -> list[list[Any]]:
    return [e["loc"] for e in response.json()["detail"]]


def test_list_and_get_lesson(client: TestClient) -> None:
    listing = client.get("/api/lessons")
    assert listing.status_code == 200
    entry = next(x for x in listing.json() if x["slug"] == SLUG)
    assert entry["sections"] >= 8 and entry["minutes"] >= 1 and entry["title"]
    lesson = client.get(BASE).json()
    assert lesson["slug"] == SLUG and len(lesson["sections"]) == entry["sections"]
    for section in lesson["sections"]:
        assert set(section) == {"id", "title", "html", "widgets", "minutes", "core_words", "deeper_words"}
    lora = next(s for s in lesson["sections"] if s["id"] == "lora")
    assert "lora-explorer" in lora["widgets"] and "131,072" in lora["html"]


def test_quiz_leaks_no_answers(client: TestClient) -> None:
    response = client.get(f"{BASE}/quiz")
    assert response.status_code == 200
    quiz = response.json()
    assert len(quiz["questions"]) >= 20
    for q in quiz["questions"]:
        assert set(q) == {"id", "text", "choices", "section", "figure"}
        assert 3 <= len(q["choices"]) <= 4 and all(set(c) == {"id", "text"} for c in q["choices"])
    assert '"correct"' not in response.text and '"explanation"' not in response.text
    # No explanation text travels either.
    explanations = [q.explanation for q in lessons.get_quiz(SLUG).questions]
    assert not any(e in response.text for e in explanations)


def order(quiz: dict[str, Any]) -> list[list[str]]:
    return [[c["id"] for c in q["choices"]] for q in quiz["questions"]]


def test_choices_are_shuffled_per_student_and_stay_put(app: FastAPI, client: TestClient) -> None:
    first = client.get(f"{BASE}/quiz")
    key = first.cookies.get("ftlab_quiz")
    assert key and "httponly" in first.headers["set-cookie"].lower()
    again = client.get(f"{BASE}/quiz")  # the client sends the cookie back
    assert "set-cookie" not in again.headers and order(again.json()) == order(first.json())
    assert order(first.json()) == order(lessons.public_quiz(SLUG, key).model_dump())
    with TestClient(app) as other:  # another student: another key, another order
        assert order(other.get(f"{BASE}/quiz").json()) != order(first.json())
    # grading goes by choice id, so the shuffled order changes nothing
    graded = client.post(f"{BASE}/quiz/answers", json={"answers": right_answers()}).json()
    assert graded["score"] == graded["total"]


def test_a_malformed_quiz_cookie_is_replaced(client: TestClient) -> None:
    client.cookies.set("ftlab_quiz", "<script>")
    response = client.get(f"{BASE}/quiz")
    assert response.status_code == 200 and response.cookies.get("ftlab_quiz") not in (None, "<script>")


def test_grading_right_wrong_and_retry(client: TestClient) -> None:
    total = len(right_answers())
    wrong = client.post(f"{BASE}/quiz/answers", json={"answers": wrong_answers()})
    assert wrong.status_code == 200
    body = wrong.json()
    assert (body["score"], body["total"]) == (0, total)
    for result in body["results"]:
        assert set(result) == {"id", "correct", "answered", "answer", "explanation", "section"}
        assert result["correct"] is False and result["explanation"] and result["answered"] is True
        # After grading, a wrong answer is shown the right choice.
        assert result["answer"] == right_answers()[result["id"]]
    # Retry: the same student answers again, and the server grades afresh.
    right = client.post(f"{BASE}/quiz/answers", json={"answers": right_answers()}).json()
    assert (right["score"], right["total"]) == (total, total)
    assert all(r["correct"] for r in right["results"])
    empty = client.post(f"{BASE}/quiz/answers", json={"answers": {}}).json()
    assert empty["score"] == 0 and len(empty["results"]) == total
    assert not any(r["answered"] for r in empty["results"])  # skipped, not "wrong"


def test_unknown_lesson_is_404(client: TestClient) -> None:
    for method, path, body in (
        ("GET", "/api/lessons/no-such-lesson", None),
        ("GET", "/api/lessons/no-such-lesson/quiz", None),
        ("POST", "/api/lessons/no-such-lesson/quiz/answers", {"answers": {}}),
    ):
        response = client.request(method, path, json=body)
        assert response.status_code == 404, path
        assert "no-such-lesson" in response.json()["detail"]


def test_malformed_slug_is_422(client: TestClient) -> None:
    response = client.get("/api/lessons/Not_A_Slug!")
    assert response.status_code == 422
    assert error_locs(response) == [["path", "slug"]]


def test_unknown_question_and_choice_are_named(client: TestClient) -> None:
    answers = {**right_answers(), "no-such-question": "a", "lora-b-zero": "z"}
    response = client.post(f"{BASE}/quiz/answers", json={"answers": answers})
    assert response.status_code == 422
    locs = error_locs(response)
    assert ["body", "answers", "no-such-question"] in locs and ["body", "answers", "lora-b-zero"] in locs
    messages = " ".join(e["msg"] for e in response.json()["detail"])
    assert "no question 'no-such-question'" in messages and "no choice 'z'" in messages


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"answers": {f"q{i}": "a" for i in range(MAX_ANSWERS + 1)}}, "answers"),
        ({"answers": {"x" * 65: "a"}}, "answers"),
        ({"answers": {"lora-b-zero": "a" * 65}}, "answers"),
        ({"answers": {"lora-b-zero": 3}}, "answers"),
        ({"answers": [], "extra": 1}, "extra"),
        ({}, "answers"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(client: TestClient, body: dict, field: str) -> None:
    response = client.post(f"{BASE}/quiz/answers", json=body)
    assert response.status_code == 422
    assert any(field in loc for loc in error_locs(response)), response.json()


def test_a_seated_students_answers_reach_the_classroom(app: FastAPI, client: TestClient) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.calls: list[tuple[str, list[Any]]] = []

        def record_quiz(self, conn: Any, slug: str, graded: list[Any]) -> bool:
            self.calls.append((slug, graded))
            return True

    app.state.classroom = recorder = Recorder()
    answers = {"lora-b-zero": right_answers()["lora-b-zero"], "rlhf-purpose": wrong_answers()["rlhf-purpose"]}
    assert client.post(f"{BASE}/quiz/answers", json={"answers": answers}).status_code == 200
    [(slug, graded)] = recorder.calls
    assert slug == SLUG
    assert {(a.question_id, a.choice_id, a.correct) for a in graded} == {
        ("lora-b-zero", answers["lora-b-zero"], True),
        ("rlhf-purpose", answers["rlhf-purpose"], False),
    }


def test_a_failing_classroom_does_not_cost_the_student_the_grade(app: FastAPI, client: TestClient) -> None:
    class Broken:
        def record_quiz(self, conn: Any, slug: str, graded: list[Any]) -> bool:
            raise RuntimeError("database gone")

    app.state.classroom = Broken()
    response = client.post(f"{BASE}/quiz/answers", json={"answers": right_answers()})
    assert response.status_code == 200 and response.json()["score"] == len(right_answers())
