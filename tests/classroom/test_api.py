"""The classroom over real HTTP (uvicorn on a free port): refusals, joining, answers, the dashboard,
the CSV export, reset and close, privacy between students, and a restart."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from app.config import Settings
from app.main import create_app
from tests.classroom.conftest import LESSON
from tests.classroom.helpers import BEARER, answer_key, instructor, open_class, student
from tests.utils.server import live_server

INSTRUCTOR_ROUTES = [
    ("POST", "/api/classes", {"title": "x"}),
    ("GET", "/api/classes", None),
    ("GET", "/api/classes/{code}/dashboard", None),
    ("GET", "/api/classes/{code}/results.csv", None),
    ("PUT", "/api/classes/{code}/limits", {}),
    ("POST", "/api/classes/{code}/pin", {"job_id": None}),
    ("POST", "/api/classes/{code}/runs", {"model": "tiny-llama"}),
    ("POST", "/api/classes/{code}/questions/q1/reset", None),
    ("POST", "/api/classes/{code}/close", None),
]


def ws_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://") + path


def test_instructor_routes_refuse_everyone_else(server: str) -> None:
    code = open_class(server)
    pupil = student(server, code, "pupil")
    for method, path, body in INSTRUCTOR_ROUTES:
        url = path.format(code=code)
        anonymous = httpx.request(method, server + url, json=body, timeout=30)
        assert anonymous.status_code == 401, (url, anonymous.text)
        assert anonymous.headers["www-authenticate"] == "Bearer"
        wrong = httpx.request(
            method, server + url, json=body, headers={"Authorization": "Bearer no"}, timeout=30
        )
        assert wrong.status_code == 403, (url, wrong.text)
        assert pupil.request(method, url, json=body).status_code == 403, url
        forged = httpx.request(
            method, server + url, json=body, cookies={"ftlab_instructor": "x.y.z"}, timeout=30
        )
        assert forged.status_code == 403, url
    for path in (f"/ws/classes/{code}/dashboard", f"/ws/classes/{code}"):
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url(server, path), open_timeout=10)
        assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        cookie = "; ".join(f"{k}={v}" for k, v in pupil.cookies.items())
        connect(ws_url(server, f"/ws/classes/{code}/dashboard"), additional_headers={"Cookie": cookie})
    # The state of the class did not change through any of that.
    with instructor(server) as teacher:
        state = teacher.get(f"/api/classes/{code}").json()
    assert state["closed"] is False and state["members"] == 1 and state["pinned_job_id"] is None


def test_login_cookie_works_like_the_token(server: str) -> None:
    code = open_class(server)
    browser = httpx.Client(base_url=server, timeout=30)
    assert browser.get(f"/api/classes/{code}/dashboard").status_code == 401
    assert browser.post("/api/auth/login", json={"token": "guess"}).status_code == 403
    assert browser.post("/api/auth/login", json={"token": ""}).status_code == 422
    login = browser.post("/api/auth/login", json={"token": BEARER["Authorization"].split()[1]})
    assert login.status_code == 200
    assert (
        "httponly" in login.headers["set-cookie"].lower()
        and "samesite=lax" in login.headers["set-cookie"].lower()
    )
    assert browser.get(f"/api/classes/{code}/dashboard").status_code == 200
    assert browser.get("/api/auth/me").json()["instructor"] is True
    page = browser.get(f"/classes/{code}")
    assert page.status_code == 200 and code in page.text
    browser.post("/api/auth/logout")  # (throttling wrong tokens: tests/limits/test_token_guard.py)
    assert browser.get(f"/api/classes/{code}/dashboard").status_code == 401
    assert (
        browser.get(f"/classes/{code}", follow_redirects=False).headers["location"].startswith("/login?next=")
    )


def test_join_rules(server: str) -> None:
    code = open_class(server, title="Week <3>")
    ada = student(server, code, "Ada")
    me = ada.get("/api/classes/me").json()
    assert me["code"] == code and me["me"]["nickname"] == "Ada" and me["lesson"] == LESSON
    # Joining again from the same browser keeps the same seat.
    again = ada.post(f"/api/classes/{code.lower()}/join", json={"nickname": "Someone else"})
    assert again.status_code == 200 and again.json()["me"]["nickname"] == "Ada"
    taken = httpx.post(f"{server}/api/classes/{code}/join", json={"nickname": " ada "}, timeout=30)
    assert taken.status_code == 409 and "taken" in taken.json()["detail"]
    for bad, problem in (("", "at least 1"), ("x" * 40, "32"), ("   ", "empty")):
        response = httpx.post(f"{server}/api/classes/{code}/join", json={"nickname": bad}, timeout=30)
        assert response.status_code == 422, bad
        detail = response.json()["detail"][0]
        assert detail["loc"][-1] == "nickname" and problem in detail["msg"], detail
    assert (
        httpx.post(f"{server}/api/classes/ZZZZZZ/join", json={"nickname": "x"}, timeout=30).status_code == 404
    )
    assert (
        httpx.post(f"{server}/api/classes/%3Cb%3E/join", json={"nickname": "x"}, timeout=30).status_code
        == 422
    )
    with instructor(server) as teacher:
        assert teacher.get(f"/api/classes/{code}").json()["members"] == 1
        assert teacher.get("/join", params={"code": code}).text.count(code) >= 1


def test_answers_dashboard_csv_reset_close(server: str) -> None:
    code = open_class(server)
    key = answer_key()
    first, second = list(key)[:2]
    a, b, c = (student(server, code, name) for name in ("Ada", "=cmd|' /C calc'!A0", "Cy"))
    assert a.post(f"/api/classes/{code}/answers", json={"answers": {first: key[first][0]}}).status_code == 200
    assert b.post(
        f"/api/classes/{code}/answers", json={"answers": {first: key[first][1], second: key[second][0]}}
    ).json()
    assert c.post(f"/api/classes/{code}/answers", json={"answers": {first: key[first][1]}}).status_code == 200
    # A changed answer replaces the first one, never counts twice.
    assert (
        a.post(f"/api/classes/{code}/answers", json={"answers": {second: key[second][1]}}).status_code == 200
    )
    bad = a.post(f"/api/classes/{code}/answers", json={"answers": {"no-such-question": "a"}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == [
        "body",
        "answers",
        "no-such-question",
    ]

    with instructor(server) as teacher:
        board = teacher.get(f"/api/classes/{code}/dashboard").json()
        stats = {q["id"]: q for q in board["questions"]}
        assert stats[first]["answered"] == 3 and stats[first]["correct"] == 1
        assert (
            stats[first]["top_wrong"]["choice_id"] == key[first][1]
            and stats[first]["top_wrong"]["count"] == 2
        )
        assert stats[second]["answered"] == 2 and stats[second]["share_correct"] == 0.5
        assert board["answers_total"] == 5 and [s["name"] for s in board["students"]] == [
            "Ada",
            b_name(),
            "Cy",
        ]

        rows = list(csv.DictReader(io.StringIO(teacher.get(f"/api/classes/{code}/results.csv").text)))
        assert [r["nickname"] for r in rows] == ["Ada", "'" + b_name(), "Cy"]
        assert (rows[0]["score"], rows[0][first], rows[0][second], rows[0]["runs_started"]) == (
            "1",
            "1",
            "0",
            "0",
        )
        assert (rows[1]["score"], rows[1][first], rows[1][second]) == ("1", "0", "1")
        assert (rows[2]["score"], rows[2]["answered"], rows[2][second]) == ("0", "1", "")

        assert teacher.post(f"/api/classes/{code}/questions/{first}/reset").json()["removed"] == 3
        assert teacher.post(f"/api/classes/{code}/questions/nope/reset").status_code == 404
        board = teacher.get(f"/api/classes/{code}/dashboard").json()
        assert {q["id"]: q["answered"] for q in board["questions"]}[first] == 0
        assert board["answers_total"] == 2

        assert teacher.post(f"/api/classes/{code}/close").json()["closed"] is True
    assert a.post(f"/api/classes/{code}/answers", json={"answers": {first: key[first][0]}}).status_code == 403
    late = httpx.post(f"{server}/api/classes/{code}/join", json={"nickname": "Late"}, timeout=30)
    assert late.status_code == 403 and "closed" in late.json()["detail"]


def b_name() -> str:
    return "=cmd|' /C calc'!A0"


def test_students_see_only_their_own(server: str) -> None:
    code = open_class(server, anonymous=True)
    key = answer_key()
    question = next(iter(key))
    ada, bo = student(server, code, "Ada"), student(server, code, "Bo")
    ada.post(f"/api/classes/{code}/answers", json={"answers": {question: key[question][0]}})
    mine = ada.get(f"/api/classes/{code}/me").json()
    assert [x["question_id"] for x in mine["answers"]] == [question]
    assert bo.get(f"/api/classes/{code}/me").json()["answers"] == []
    assert "Ada" not in bo.get(f"/api/classes/{code}").text  # no roster for students
    assert bo.get(f"/api/classes/{code}/dashboard").status_code == 403
    other = open_class(server)
    assert ada.get(f"/api/classes/{other}/me").status_code == 403
    assert ada.get(f"/api/classes/{other}").status_code == 403
    with instructor(server) as teacher:  # anonymous: numbers, not nicknames, on the instructor's side
        board = teacher.get(f"/api/classes/{code}/dashboard").text
        assert "Ada" not in board and "Student 1" in board
        assert "Ada" not in teacher.get(f"/api/classes/{code}/results.csv").text


def test_dashboard_socket_sees_joins_and_answers(server: str) -> None:
    code = open_class(server)
    key = answer_key()
    question = next(iter(key))
    with connect(
        ws_url(server, f"/ws/classes/{code}/dashboard"), additional_headers=BEARER, open_timeout=10
    ) as ws:
        assert json.loads(ws.recv(timeout=10))["students"] == []
        pupil = student(server, code, "Ada")
        pupil.post(f"/api/classes/{code}/answers", json={"answers": {question: key[question][0]}})
        while True:  # snapshots arrive as things change; wait for the one with the answer in it
            board = json.loads(ws.recv(timeout=10))
            if board["answers_total"] == 1:
                break
        assert [s["name"] for s in board["students"]] == ["Ada"]
        assert {q["id"]: q["correct"] for q in board["questions"]}[question] == 1


def test_everything_survives_a_restart(settings: Settings) -> None:
    with live_server(create_app(settings)) as base:
        code = open_class(base)
        key = answer_key()
        question = next(iter(key))
        ada = student(base, code, "Ada")
        ada.post(f"/api/classes/{code}/answers", json={"answers": {question: key[question][0]}})
        cookies = dict(ada.cookies)
    with live_server(create_app(settings)) as base:  # a new process would see only the database
        again = httpx.Client(base_url=base, cookies=cookies, timeout=30)
        assert again.get("/api/classes/me").json()["me"]["nickname"] == "Ada"  # the seat still works
        assert again.get(f"/api/classes/{code}/me").json()["answers"][0]["correct"] is True
        with instructor(base) as teacher:
            board = teacher.get(f"/api/classes/{code}/dashboard").json()
        assert board["answers_total"] == 1 and board["students"][0]["name"] == "Ada"
