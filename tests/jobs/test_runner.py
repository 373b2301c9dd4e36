"""The runner with real tiny-llama jobs: fairness between owners, time limits, stop, the event stream."""

from __future__ import annotations

from app.jobs.runner import STOPPED_REASON
from tests.jobs.conftest import wait_state as _wait
from tests.utils.jobs import LONG, TINY
from tests.utils.jobs import stored_events as _events
from tests.utils.streams import check_stream


def test_owners_take_turns_in_the_queue(make_runner) -> None:  # noqa: ANN001
    runner = make_runner()
    blocker = runner.submit(LONG, owner="alice").id
    _wait(runner, blocker, {"running"})
    a2 = runner.submit(TINY, owner="alice").id
    a3 = runner.submit(TINY, owner="alice").id
    b1 = runner.submit(TINY, owner="bob").id  # arrives last, but goes before alice's second job
    assert [runner.get(j).queue_position for j in (a2, b1, a3)] == [0, 1, 2]  # type: ignore[union-attr]
    waiting = [job.owner for job in runner.store.queue_snapshot().waiting]
    assert waiting.count("alice") == 2 and waiting.count("bob") == 1
    positions = [e["position"] for e in _events(runner, a3) if e["type"] == "queued"]
    assert [p for n, p in enumerate(positions) if n == 0 or p != positions[n - 1]] == [
        1,
        2,
    ]  # ETA updates repeat a position

    runner.cancel(blocker)
    for job_id in (a2, a3, b1):
        _wait(runner, job_id, {"done"})
    started = {j: runner.get(j).started_at for j in (a2, a3, b1)}  # type: ignore[union-attr]
    assert started[a2] < started[b1] < started[a3]
    for job_id in (blocker, a2, a3, b1):
        check_stream(_events(runner, job_id))


def test_a_queued_jobs_start_estimate_counts_the_running_jobs_measured_steps(make_runner) -> None:  # noqa: ANN001
    runner = make_runner()
    blocker = runner.submit(LONG).id
    _wait(runner, blocker, {"running"})
    while not [e for e in _events(runner, blocker) if e["type"] == "step" and e["step"] >= 6]:
        assert runner.get(blocker).state.value == "running"  # type: ignore[union-attr]
    waiting = runner.submit(TINY).id
    queued = [e for e in _events(runner, waiting) if e["type"] == "queued"][0]
    steps = [e for e in _events(runner, blocker) if e["type"] == "step"]
    pace = steps[-1]["elapsed_s"] / steps[-1]["step"]
    left = (LONG.config.steps - steps[-1]["step"]) * pace
    # Not "0 s" (the blocker's stale default estimate, 5 s + 2000 × 0.5 s, long passed in spirit):
    # the blocker's steps still to run at the pace it measured, within a busy machine's jitter.
    assert queued["position"] == 0 and queued["run_s"] > 0
    assert left / 3 < queued["eta_s"] < left * 3, (queued["eta_s"], left)
    runner.cancel(blocker)
    _wait(runner, waiting, {"done"})


def test_the_wall_time_limit_ends_a_job(make_runner) -> None:  # noqa: ANN001
    runner = make_runner(time_limit_s=2.0)
    job_id = runner.submit(LONG).id
    _wait(runner, job_id, {"failed", "done", "cancelled"})
    events = _events(runner, job_id)
    check_stream(events)
    assert events[-1]["type"] == "failed" and "limit" in events[-1]["error"]
    assert max((e["step"] for e in events if e["type"] == "step"), default=0) < LONG.config.steps


def test_stop_fails_running_jobs_and_keeps_queued_ones(make_runner) -> None:  # noqa: ANN001
    runner = make_runner()
    running = runner.submit(LONG).id
    _wait(runner, running, {"running"})
    waiting = runner.submit(LONG).id
    runner.stop()
    events = _events(runner, running)
    check_stream(events)
    assert events[-1] == {**events[-1], "type": "failed", "error": STOPPED_REASON}
    assert runner.get(waiting).state.value == "queued"  # type: ignore[union-attr]
    assert [e["type"] for e in _events(runner, waiting)] == ["queued"]


READS: list[str] = []  # in the worker process: the bases it read from disk


def count_base_reads(worker: object) -> None:
    """Runs in the worker (``pool.ask``): counts every read of base weights from disk."""
    from app.training import model_sources

    real_load = model_sources.load_from_dir

    def counting_load(spec, path):  # noqa: ANN001, ANN202
        READS.append(spec.name)
        return real_load(spec, path)

    model_sources.load_from_dir = counting_load


def base_reads(worker: object) -> list[str]:
    return list(READS)


def test_base_weights_are_read_once_and_every_job_starts_from_the_base(make_runner) -> None:  # noqa: ANN001
    runner = make_runner()
    runner.pool.ask(count_base_reads)  # the worker process reads the weights, so count there
    first, second = (runner.submit(TINY).id for _ in range(2))
    for job_id in (first, second):
        _wait(runner, job_id, {"done"})
    assert runner.pool.ask(base_reads) == [["tiny-llama"]]
    # same config and seed: the second job would see other losses had it started from the first's weights
    losses = [[e["loss"] for e in _events(runner, j) if e["type"] == "step"] for j in (first, second)]
    assert losses[0] == losses[1] and len(losses[0]) == TINY.config.steps


def test_training_workers_run_below_the_web_process_priority(make_runner) -> None:  # noqa: ANN001
    """Training takes every core it gets; at a lower OS priority it leaves the web process (requests,
    websockets, health checks) the CPU it needs on a small machine."""
    import os

    from app.jobs.executors.worker import WORKER_NICENESS
    from tests.utils.worker_probes import worker_niceness

    runner = make_runner()
    runner.pool.ask(worker_niceness)  # starts the worker
    assert runner.pool.ask(worker_niceness) == [min(19, os.nice(0) + WORKER_NICENESS)]
