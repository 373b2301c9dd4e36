"""Helpers of the classroom API tests: the instructor's client, a student's client, the answer key."""

from __future__ import annotations

from typing import Any

import httpx

from app.lesson import content as lessons
from tests.classroom.conftest import LESSON, TOKEN

BEARER = {"Authorization": f"Bearer {TOKEN}"}


def instructor(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers=BEARER, timeout=30)


def open_class(base: str, **body: Any) -> str:
    with instructor(base) as client:
        response = client.post("/api/classes", json=body)
        assert response.status_code == 201, response.text
        return response.json()["code"]


def student(base: str, code: str, nickname: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    response = client.post(f"/api/classes/{code}/join", json={"nickname": nickname})
    assert response.status_code == 201, response.text
    return client


def answer_key(slug: str = LESSON) -> dict[str, tuple[str, str]]:
    """question id → (a right choice id, a wrong choice id), from the server-side quiz."""
    key = {}
    for question in lessons.get_quiz(slug).questions:
        right = next(c.id for c in question.choices if c.correct)
        wrong = next(c.id for c in question.choices if not c.correct)
        key[question.id] = (right, wrong)
    return key
