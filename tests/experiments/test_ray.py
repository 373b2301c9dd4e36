"""A class experiment on the Ray runner (the session's two-node loopback cluster, token auth): the plan
comes from a calibration run on Ray (Ray's own step times, never the local workers'), each cell runs
as a job on a Ray actor, the results equal the stored events, and the next experiment is planned from
the Ray runs it has measured."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.experiments.measures import measures_of
from app.experiments.planner import executor_kind
from app.rows import JobRow
from tests.classroom.conftest import TOKEN
from tests.classroom.helpers import instructor, open_class, student
from tests.experiments.helpers import TINY_EXPERIMENT, create, wait_complete
from tests.utils.server import live_server


@pytest.fixture
def ray_settings(tmp_path: Path, test_ray_address: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        instructor_token=TOKEN,
        secret_key="class-test-secret",
        device="cpu",
        cpu_workers=2,  # one actor on each of the cluster's two one-CPU nodes
        runner=test_ray_address,
        job_time_limit_s=600,
    )


@pytest.fixture
def ray_server(ray_settings: Settings) -> Iterator[str]:
    from app.main import create_app

    with live_server(create_app(ray_settings)) as base:
        yield base


def test_an_experiment_runs_on_the_ray_runner(ray_server: str, ray_settings: Settings) -> None:
    teacher = instructor(ray_server)
    code = open_class(ray_server, anonymous=True)
    pupils = [student(ray_server, code, name) for name in ("ann", "bob")]
    made = create(teacher, code, timeout=600)
    plan = made["plan"]
    assert plan["runs"] == 2 and plan["workers"] == 2
    assert plan["paces"]["tiny-llama/lora"]["source"] == "calibration"
    base = f"/api/classes/{code}/experiments/{made['id']}"
    for pupil, choice in zip(pupils, ("lower", "higher"), strict=True):
        assert pupil.get(f"{base}/cell").status_code == 200
        assert pupil.post(f"{base}/cell/prediction", json={"choice": choice}).status_code == 200
        assert pupil.post(f"{base}/cell/start").status_code == 201
    final = wait_complete(teacher, code, made["id"], timeout=600)

    engine = make_engine(ray_settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            nodes = dict(session.execute(select(JobRow.id, JobRow.node)).all())
    finally:
        engine.dispose()
    for run in final["runs"]:
        assert executor_kind(nodes[run["job_id"]]) == "ray", nodes[run["job_id"]]  # an actor ran it
        events = teacher.get(f"/api/jobs/{run['job_id']}/events").json()
        state, measures = measures_of(events)
        assert run["state"] == state == "done"
        assert run["measures"] == pytest.approx(measures)
    assert final["predictions"]["outcome"] in {"lower", "same", "higher"}

    # The calibration and the two cells ran on Ray: the next experiment is planned from that history.
    again = create(teacher, code, {**TINY_EXPERIMENT, "values": [1, 8]})
    pace = again["plan"]["paces"]["tiny-llama/lora"]
    assert pace["source"] == "history" and pace["runs"] == 3
