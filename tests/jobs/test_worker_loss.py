"""A training worker killed mid-job (kill -9): that job ends `failed` 'training worker lost', the
worker is replaced, and the next queued job runs to the end."""

from __future__ import annotations

import os
import signal
import time

from app.jobs.runner import WORKER_LOST, Runner
from tests.jobs.conftest import wait_state
from tests.utils.jobs import LONG, TINY
from tests.utils.jobs import stored_events as _events
from tests.utils.streams import check_stream
from tests.utils.worker_probes import worker_pid


def _wait_for_step(runner: Runner, job_id: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not any(e["type"] == "step" for e in _events(runner, job_id)):
        assert time.monotonic() < deadline, f"job {job_id} never stepped"
        time.sleep(0.05)


def test_a_killed_worker_fails_only_its_job_and_is_replaced(make_runner) -> None:  # noqa: ANN001
    runner = make_runner()
    doomed = runner.submit(LONG, owner="alice").id
    _wait_for_step(runner, doomed)
    waiting = runner.submit(TINY, owner="bob").id
    pid = runner.pool.running()[doomed]
    assert pid is not None and pid != os.getpid()  # training runs outside the web process

    os.kill(pid, signal.SIGKILL)
    wait_state(runner, doomed, {"failed", "done", "cancelled"})
    events = _events(runner, doomed)
    check_stream(events)
    assert events[-1]["type"] == "failed" and events[-1]["error"].startswith(WORKER_LOST)
    assert "-9" in events[-1]["error"]  # the exit code names the signal

    wait_state(runner, waiting, {"failed", "done", "cancelled"})
    rest = _events(runner, waiting)
    check_stream(rest)
    assert rest[-1]["type"] == "done"
    assert runner.pool.replaced == 1 and runner.pool.ask(worker_pid) != [pid]
    assert runner.generate(waiting, "hello", 2)  # the replacement holds the new job's model


def _report_into_a_closed_pipe() -> None:
    """Child process: a worker whose web process is gone reports a step (the training thread, before
    the command thread has seen the pipe close)."""
    import multiprocessing
    import threading
    from types import SimpleNamespace

    from app.jobs.executors.protocol import StepPace
    from app.jobs.executors.worker import _ProcessWorker

    ours, theirs = multiprocessing.Pipe()
    theirs.close()  # the web process died
    worker = object.__new__(_ProcessWorker)  # only what ``send`` uses: no database, no models
    worker.conn, worker._send_lock, worker.config = ours, threading.Lock(), SimpleNamespace(name="w0")
    worker.send(StepPace("job", "tiny-llama", "lora", 1, 0.1))
    os._exit(3)  # reached only if sending into the closed pipe returned


def test_a_worker_whose_web_process_died_exits_instead_of_failing_the_job() -> None:
    """Seen in CI: the training thread's step report hit the closed pipe first, raised, and the
    job ended 'internal error' instead of the survivor's 'training server lost'. Now the worker
    process exits cleanly (0) from any thread that finds the pipe closed, and emits nothing."""
    import multiprocessing

    child = multiprocessing.get_context("spawn").Process(target=_report_into_a_closed_pipe)
    child.start()
    child.join(60)
    assert child.exitcode == 0, child.exitcode  # 1 (an uncaught BrokenPipeError) before the fix
