"""A class experiment over real HTTP with real tiny-llama runs, on SQLite and PostgreSQL: planning
(and the 422 with offers), stable cells, predictions graded from the measurements, results and CSV
equal to the stored events, refusals that name the problem, and the class socket's update."""

from __future__ import annotations

import csv
import io
import json

import pytest
from websockets.sync.client import connect

from app.experiments.measures import measures_of
from app.experiments.spec import MEASURES
from tests.classroom.helpers import instructor, open_class, student
from tests.experiments.helpers import TINY_EXPERIMENT, TINY_FIXED, create, wait_complete


def test_a_class_runs_an_experiment_and_reads_the_answer(server: str) -> None:
    teacher = instructor(server)
    code = open_class(server, anonymous=True)
    pupils = [student(server, code, name) for name in ("ann", "bob", "cid")]
    made = create(teacher, code)
    plan = made["plan"]
    assert plan["runs"] == 3 and plan["workers"] == 1  # the grid of 2, and a replicate for the third student
    assert plan["steps"] >= 10 and plan["est_total_s"] <= TINY_EXPERIMENT["budget_s"]
    assert plan["paces"]["tiny-llama/lora"]["source"] == "calibration"  # a fresh server has no history
    assert len(made["cells"]) == 3  # two planned cells and a replicate seed for the third student
    exp = made["id"]
    base = f"/api/classes/{code}/experiments/{exp}"

    cells = [p.get(f"{base}/cell").json() for p in pupils]
    assert len({c["cell_id"] for c in cells}) == 3
    assert sorted((c["value"], c["seed"]) for c in cells) in (
        [(2, 0), (2, 1), (4, 0)],
        [(2, 0), (4, 0), (4, 1)],
    )
    assert pupils[0].post(f"/api/classes/{code}/join", json={"nickname": "ann"}).status_code == 200  # re-join
    assert pupils[0].get(f"{base}/cell").json()["cell_id"] == cells[0]["cell_id"]  # the same cell
    assert cells[0]["config"]["steps"] == plan["steps"] and cells[0]["config"]["seq_len"] == plan["seq_len"]

    with connect(
        server.replace("http://", "ws://") + f"/ws/classes/{code}",
        additional_headers={"Cookie": "; ".join(f"{k}={v}" for k, v in pupils[0].cookies.items())},
        open_timeout=30,
    ) as socket:
        assert pupils[0].post(f"{base}/cell/prediction", json={"choice": "lower"}).status_code == 200
        assert pupils[1].post(f"{base}/cell/prediction", json={"choice": "higher"}).status_code == 200
        bad = pupils[2].post(f"{base}/cell/prediction", json={"choice": "maybe"})
        assert bad.status_code == 422 and "choice" in bad.text
        started = pupils[0].post(f"{base}/cell/start")
        assert started.status_code == 201, started.text
        again = pupils[0].post(f"{base}/cell/start")
        assert again.status_code == 409 and "already been started" in again.text
        foreign = pupils[1].post(f"{base}/cell/start", json={"cell_id": cells[0]["cell_id"]})
        assert foreign.status_code == 403 and "not yours" in foreign.text
        everyone = teacher.post(f"{base}/start").json()["started"]
        assert sorted(s["cell_id"] for s in everyone) == sorted(c["cell_id"] for c in cells[1:])
        assert all("job_id" in s for s in everyone)
        final = wait_complete(teacher, code, exp)
        pushed = _until_complete(socket, exp)
    assert pushed["state"] == "complete" and [r["mine"] for r in pushed["runs"]].count(True) == 1
    assert "student" not in pushed["runs"][0]  # a student's view names nobody

    # every run's measures are its stored events' measures
    for run in final["runs"]:
        events = teacher.get(f"/api/jobs/{run['job_id']}/events").json()
        state, measures = measures_of(events)
        assert run["state"] == state == "done"
        assert run["measures"] == pytest.approx(measures)
        assert run["measures"]["trainable_params"] > 0 and run["measures"]["eval_loss"] > 0
        assert run["student"].startswith("Student ")  # anonymous class: numbers, not nicknames
    for entry in final["by_value"]:
        points = [r["measures"]["eval_loss"] for r in final["runs"] if r["value"] == entry["value"]]
        assert entry["n"] == len(points) and entry["mean"] == pytest.approx(sum(points) / len(points))
        assert entry["min"] == min(points) and entry["max"] == max(points)
    ranks = {r["value"]: r["measures"]["trainable_params"] for r in final["runs"]}
    assert ranks[4] == 2 * ranks[2]  # LoRA parameters grow linearly with r

    # predictions are graded against what was measured, not a key
    by_value = {e["value"]: e["mean"] for e in final["by_value"]}
    difference = (by_value[4] - by_value[2]) / abs(by_value[2])
    measured = "same" if abs(difference) <= 0.02 else "lower" if difference < 0 else "higher"
    predictions = final["predictions"]
    assert predictions["outcome"] == measured
    assert predictions["made"] == 2 and predictions["right"] == [c for c in ("lower", "higher")].count(
        measured
    )
    assert f"{by_value[4]:.4g}" in predictions["explanation"]
    mine = pupils[0].get(f"{base}/results").json()["predictions"]
    assert mine["mine"] == "lower" and mine["mine_right"] == (measured == "lower")
    late = pupils[2].post(f"{base}/cell/prediction", json={"choice": "same"})
    assert late.status_code == 409

    # the CSV: one row per run, every measure, the job id, the label the class's anonymity allows
    rows = list(csv.DictReader(io.StringIO(teacher.get(f"{base}/results.csv").text)))
    assert len(rows) == 3
    for row in rows:
        run = next(r for r in final["runs"] if r["job_id"] == row["job_id"])
        assert row["student"] == run["student"] and int(row["seed"]) == run["seed"]
        for measure in MEASURES:
            value = run["measures"][measure]
            assert (row[measure] == "") if value is None else float(row[measure]) == pytest.approx(value)
    class_csv = list(csv.DictReader(io.StringIO(teacher.get(f"/api/classes/{code}/results.csv").text)))
    column = f"prediction {exp}"
    assert sorted(r[column] for r in class_csv) == sorted(
        [
            "",
            f"lower ({'right' if measured == 'lower' else 'wrong'})",
            f"higher ({'right' if measured == 'higher' else 'wrong'})",
        ]
    )


def _until_complete(socket, experiment_id: str) -> dict:  # noqa: ANN001
    while True:
        message = json.loads(socket.recv(timeout=60))
        if message.get("type") == "experiment" and message["experiment_id"] == experiment_id:
            if message["results"]["state"] == "complete":
                return message["results"]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"variable": "rnak"}, "variable", "unknown field 'rnak'"),
        ({"values": [2, 999]}, "values[1]", "rank = 999"),
        ({"fixed": {**TINY_FIXED, "colour": "red"}}, "fixed", "unknown field 'colour'"),
        ({"fixed": {**TINY_FIXED, "method": "full"}}, "method", "not allowed in this class"),
        ({"preset": "nope", "variable": None, "values": None}, "preset", "no experiment preset 'nope'"),
    ],
)
def test_bad_experiments_are_refused_naming_the_field(
    server: str, change: dict, field: str, words: str
) -> None:
    teacher = instructor(server)
    code = open_class(server)
    body = {k: v for k, v in {**TINY_EXPERIMENT, **change}.items() if v is not None}
    answer = teacher.post(f"/api/classes/{code}/experiments", json=body, timeout=300)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"][0]
    assert detail["loc"][-1] == field and words in detail["msg"]


def test_an_experiment_that_cannot_fit_says_what_would(server: str) -> None:
    teacher = instructor(server)
    code = open_class(server)
    create(teacher, code, {**TINY_EXPERIMENT, "values": [1, 2]})  # calibrates tiny-llama/lora
    # 96 runs of 500 steps: over 30 s at any tiny-llama pace (a warm worker runs a 10-step run in 0.3 s)
    fixed = {**TINY_EXPERIMENT["fixed"], "steps": 500}
    body = {**TINY_EXPERIMENT, "fixed": fixed, "values": list(range(1, 13)), "replicates": 8, "budget_s": 30}
    answer = teacher.post(f"/api/classes/{code}/experiments", json=body, timeout=300)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"][0]
    assert detail["loc"][-1] == "budget_s"
    assert "96 runs of 500 steps" in detail["msg"] and "raise budget_s to" in detail["msg"]
    offers = detail["ctx"]["offers"]
    assert offers["budget_s"] > 30 and 0 <= offers["runs"] < 96


def test_a_method_the_class_refuses_is_offered_as_limits_then_planned(server: str) -> None:
    teacher = instructor(server)
    code = open_class(server)
    before = teacher.get(f"/api/classes/{code}").json()["limits"]
    body = {**TINY_EXPERIMENT, "variable": "method", "values": ["lora", "full", "prompt"]}
    body["fixed"] = {k: v for k, v in TINY_FIXED.items() if k != "method"}
    answer = teacher.post(f"/api/classes/{code}/experiments", json=body, timeout=300)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"][0]
    assert detail["loc"][-1] == "method"
    assert "runs method full, not allowed in this class; allow it" in detail["msg"], detail["msg"]
    offers = detail["ctx"]["offers"]
    assert offers["allow"] == ["full"]  # LoRA and prompt tuning are allowed by default
    assert offers["limits"] == {**before, "allowed_methods": [*before["allowed_methods"], "full"]}
    assert teacher.put(f"/api/classes/{code}/limits", json=offers["limits"]).status_code == 200
    made = create(teacher, code, body)
    assert made["plan"]["runs"] == 3 and len(made["cells"]) == 3


def test_an_experiment_of_another_class_is_not_found(server: str) -> None:
    teacher = instructor(server)
    first, second = open_class(server), open_class(server)
    exp = create(teacher, first, {**TINY_EXPERIMENT, "values": [1]})["id"]
    pupil = student(server, second, "eve")
    assert teacher.get(f"/api/classes/{second}/experiments/{exp}/results").status_code == 404
    answer = pupil.get(f"/api/classes/{second}/experiments/{exp}/cell")
    assert answer.status_code == 404 and exp in answer.text
    outsider = pupil.get(f"/api/classes/{first}/experiments/{exp}/cell")
    assert outsider.status_code == 403 and "not a student of class" in outsider.text
    assert teacher.get(f"/api/classes/{first}/experiments/{exp}/cell").status_code == 403
