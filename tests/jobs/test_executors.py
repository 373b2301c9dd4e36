"""One executor interface: the local pool and the Ray pool implement every member of
``protocol.Executor`` with the same signature, take the same ``report`` callback, and the runner
gets its executor from ``make_executor`` without asking which kind it is."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from app.jobs.executors import make_executor
from app.jobs.executors.local import WorkerPool
from app.jobs.executors.protocol import EventStored, Executor, JobFinished, JobLost, StepPace
from app.jobs.executors.ray_actors import RayPool  # Ray itself is imported only when a pool starts

MEMBERS = [name for name in vars(Executor) if not name.startswith("_")]


def _parameters(fn: object) -> list[tuple[str, object]]:
    return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]  # type: ignore[arg-type]


def test_the_protocol_lists_the_executor_calls() -> None:
    assert {"dispatch", "cancel", "call", "ask", "ask_one", "pin", "stop", "running", "free_slots"} <= set(
        MEMBERS
    )


@pytest.mark.parametrize("executor", [WorkerPool, RayPool], ids=["local", "ray"])
@pytest.mark.parametrize("member", [m for m in MEMBERS if callable(vars(Executor)[m])])
def test_both_executors_implement_each_call_alike(executor: type, member: str) -> None:
    assert _parameters(getattr(executor, member)) == _parameters(getattr(Executor, member))


def test_both_executors_take_the_same_report_callback() -> None:
    local = list(inspect.signature(WorkerPool.__init__).parameters)[1:4]
    ray = list(inspect.signature(RayPool.__init__).parameters)[1:4]
    assert local == ray == ["size", "config", "report"]


def test_the_runner_does_not_branch_on_the_executor() -> None:
    """``runner.py`` names no executor class: ``make_executor`` chooses, once."""
    source = (Path(__file__).resolve().parents[2] / "app/jobs/runner.py").read_text(encoding="utf-8")
    names = {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}
    assert "make_executor" in names
    assert not names & {"WorkerPool", "RayPool"}


def test_make_executor_gives_the_local_pool_without_starting_it(tmp_path: Path) -> None:
    from app.jobs.executors.worker import WorkerConfig

    config = WorkerConfig("t", "sqlite://", tmp_path, "cpu", tmp_path, None, 1, True)
    reports: list[object] = []
    executor = make_executor("local", 2, config, reports.append)
    assert isinstance(executor, WorkerPool) and not executor.started and executor.free_slots() == 2


def test_reports_are_plain_frozen_values() -> None:
    """They cross a pipe (pickle) or Ray: plain dataclasses, equal by value, immutable."""
    import pickle

    for report in (
        EventStored("j", 1, "{}", False),
        StepPace("j", "tiny-llama", "lora", 5, 2.5),
        JobFinished("j", "done", 1.0, 0.5),
        JobLost("j", "training worker lost"),
    ):
        assert pickle.loads(pickle.dumps(report)) == report
        with pytest.raises(AttributeError):
            report.job_id = "other"  # type: ignore[misc]
    assert StepPace("j", "m", "lora", 4, 2.0).step_s == 0.5
