"""Cells as a class lives them, on SQLite and PostgreSQL with real tiny-llama runs: stable under
concurrent asks and re-joins (and across two web processes on PostgreSQL, where the result update
reaches both), a student leaving mid-run, and two experiments in two classes at once."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from websockets.sync.client import connect

from tests.classroom.helpers import instructor, open_class, student
from tests.experiments.helpers import TINY_EXPERIMENT, create, wait_complete


def test_cells_stay_put_under_concurrent_asks_and_extra_students_get_replicates(server: str) -> None:
    teacher = instructor(server)
    code = open_class(server)
    exp = create(teacher, code, {**TINY_EXPERIMENT, "replicates": 2})["id"]
    url = f"/api/classes/{code}/experiments/{exp}/cell"
    pupils = [student(server, code, f"s{i}") for i in range(10)]
    with ThreadPoolExecutor(10) as pool:  # every student asks three times, all at once
        answers = list(
            pool.map(lambda p: p.get(url).json()["cell_id"], [p for p in pupils for _ in range(3)])
        )
    mine = [answers[i * 3 : i * 3 + 3] for i in range(10)]
    assert all(len(set(a)) == 1 for a in mine)  # each student: one cell
    assert len({a[0] for a in mine}) == 10  # nobody shares one
    cells = teacher.get(f"/api/classes/{code}/experiments/{exp}").json()["cells"]
    assert len(cells) == 10 and all(c["member_id"] for c in cells)
    assert Counter(c["value"] for c in cells) == {2: 5, 4: 5}  # extra students spread over the values
    seeds = Counter((c["value"], c["seed"]) for c in cells)
    assert all(n == 1 for n in seeds.values())  # replicate seeds differ
    again = pupils[3].post(f"/api/classes/{code}/join", json={"nickname": "s3"})
    assert again.status_code == 200 and pupils[3].get(url).json()["cell_id"] == mine[3][0]


def test_a_student_who_leaves_leaves_no_hole(server: str) -> None:
    teacher = instructor(server)
    code = open_class(server)
    ann, bob = student(server, code, "ann"), student(server, code, "bob")
    exp = create(teacher, code, {**TINY_EXPERIMENT, "fixed": {**TINY_EXPERIMENT["fixed"], "steps": 60}})
    base = f"/api/classes/{code}/experiments/{exp['id']}"
    ann_cell, bob_cell = ann.get(f"{base}/cell").json(), bob.get(f"{base}/cell").json()
    members = {m["name"]: m["id"] for m in teacher.get(f"/api/classes/{code}/dashboard").json()["students"]}
    job_id = ann.post(f"{base}/cell/start").json()["job_id"]
    deadline = time.monotonic() + 120
    while teacher.get(f"/api/jobs/{job_id}").json()["state"] == "queued" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert teacher.delete(f"/api/classes/{code}/members/{members['ann']}").status_code == 200  # mid-run
    assert teacher.delete(f"/api/classes/{code}/members/{members['bob']}").status_code == 200  # before
    cid = student(server, code, "cid")  # a newcomer takes bob's unstarted cell
    moved = teacher.post(f"{base}/cells/{bob_cell['cell_id']}/assign", json={"member_id": None})
    assert moved.status_code == 200 and moved.json()["member_id"] is None
    assert cid.get(f"{base}/cell").json()["cell_id"] == bob_cell["cell_id"]
    taken = teacher.post(f"{base}/cells/{ann_cell['cell_id']}/assign", json={"member_id": None})
    assert taken.status_code == 409 and "has started" in taken.text
    assert teacher.post(f"{base}/start").json()["started"][0]["cell_id"] == bob_cell["cell_id"]
    first = wait_complete(teacher, code, exp["id"])  # removing ann cancelled her run: shown as such
    runs = {r["cell_id"]: r for r in first["runs"]}
    assert runs[ann_cell["cell_id"]]["state"] == "cancelled" and runs[ann_cell["cell_id"]]["job_id"] == job_id
    assert "1 run(s) failed or were cancelled" in first["summary"]
    rerun = teacher.post(f"{base}/cells/{ann_cell['cell_id']}/run")  # the instructor fills the hole
    assert rerun.status_code == 201 and rerun.json()["job_id"] != job_id
    again = teacher.post(f"{base}/cells/{ann_cell['cell_id']}/run")
    assert again.status_code == 409 and "already been started" in again.text
    final = wait_complete(teacher, code, exp["id"])
    runs = {r["cell_id"]: r for r in final["runs"]}
    assert runs[ann_cell["cell_id"]]["state"] == "done" and runs[ann_cell["cell_id"]]["student"] == "ann"
    assert teacher.get(f"/api/jobs/{job_id}").json()["state"] == "cancelled"  # nothing already run is lost
    assert runs[bob_cell["cell_id"]]["state"] == "done" and runs[bob_cell["cell_id"]]["student"] == "cid"
    assert all(r["measures"]["eval_loss"] is not None for r in final["runs"])


def test_two_experiments_in_two_classes_at_once(server: str) -> None:
    teacher = instructor(server)
    codes = [open_class(server), open_class(server)]
    pupils = [student(server, code, "same-name") for code in codes]
    made = [
        create(teacher, code, {**TINY_EXPERIMENT, "values": values})
        for code, values in zip(codes, ([1], [8]), strict=True)
    ]
    for code, exp, pupil in zip(codes, made, pupils, strict=True):
        cell = pupil.get(f"/api/classes/{code}/experiments/{exp['id']}/cell").json()
        assert cell["experiment_id"] == exp["id"]
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in pupils[0].cookies.items())}
    with connect(
        server.replace("http://", "ws://") + f"/ws/classes/{codes[0]}", additional_headers=headers
    ) as ws:
        for code, exp in zip(codes, made, strict=True):
            assert teacher.post(f"/api/classes/{code}/experiments/{exp['id']}/start").status_code == 200
        finals = [wait_complete(teacher, code, exp["id"]) for code, exp in zip(codes, made, strict=True)]
        seen = set()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                message = json.loads(ws.recv(timeout=0.5))
            except TimeoutError:
                continue
            if message.get("type") == "experiment":
                seen.add(message["experiment_id"])
    assert seen == {made[0]["id"]}  # class 1's socket hears of class 1's experiment only
    assert [r["value"] for r in finals[0]["runs"]] == [1] and [r["value"] for r in finals[1]["runs"]] == [8]
    assert {r["job_id"] for r in finals[0]["runs"]}.isdisjoint({r["job_id"] for r in finals[1]["runs"]})
