"""One real class experiment on SmolLM2 (``-m slow``): the smallest plan that still measures
something — two cells (LoRA r = 2 and r = 8), ten steps each — through a served class, planned from a
real calibration run; the measures equal the runs' stored events and say what LoRA's rank does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.config import Settings
from app.experiments.measures import measures_of
from app.main import create_app
from tests.classroom.conftest import TOKEN
from tests.classroom.helpers import instructor, open_class, student
from tests.experiments.helpers import create, wait_complete
from tests.utils.server import live_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]
FIXED = {
    "model": "smollm2-135m",
    "method": "lora",
    "task": "tone",
    "steps": 10,
    "seq_len": 64,
    "batch_size": 2,
    "max_new_tokens": 8,
    "lr": 0.006,
}


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[str]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'ftlab.db'}",
        instructor_token=TOKEN,
        secret_key="smollm2-experiment",
        device="cpu",
        cpu_workers=1,
        job_time_limit_s=1800,
    )
    with live_server(create_app(settings)) as base:
        yield base


def test_a_smollm2_rank_experiment_measures_what_rank_does(sqlite_server: str) -> None:
    teacher = instructor(sqlite_server)
    code = open_class(sqlite_server)
    pupils = [student(sqlite_server, code, name) for name in ("ann", "bob")]
    body = {"variable": "rank", "values": [2, 8], "fixed": FIXED, "budget_s": 3600}
    made = create(teacher, code, body, timeout=1500)  # the server waits ≤ 600 s for its calibration run
    pace = made["plan"]["paces"]["smollm2-135m/lora"]
    assert pace["source"] == "calibration" and pace["step_s"] > 0
    assert made["plan"]["steps"] == 10 and made["plan"]["seq_len"] == 64
    base = f"/api/classes/{code}/experiments/{made['id']}"
    for pupil in pupils:
        assert pupil.post(f"{base}/cell/start").status_code == 201
    final = wait_complete(teacher, code, made["id"], timeout=3000)
    runs = {r["value"]: r for r in final["runs"]}
    for rank, run in runs.items():
        events = teacher.get(f"/api/jobs/{run['job_id']}/events").json()
        assert run["state"] == "done"
        assert run["measures"] == pytest.approx(measures_of(events)[1])
        evals = [e["eval_loss"] for e in events if e["type"] == "eval"]
        assert run["measures"]["eval_loss"] == evals[-1] < evals[0]  # ten real steps lowered it
        assert 1 <= run["measures"]["effective_rank"] <= rank  # ΔW = B·A has rank ≤ r
    assert runs[8]["measures"]["trainable_params"] == 4 * runs[2]["measures"]["trainable_params"]
    assert final["predictions"]["explanation"] and final["summary"].startswith("Held-out loss")
