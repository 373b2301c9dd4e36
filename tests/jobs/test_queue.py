from __future__ import annotations

import itertools

from app.jobs.queue_policy import DurationModel, eta_changed, fair_order, start_times, time_left_s
from app.jobs.store import QueuedJob


class Line:
    """Jobs as the database holds them: arrival times, and each owner's latest start; ``pop`` starts
    the job ``fair_order`` puts first, as the scheduler does."""

    def __init__(self) -> None:
        self.clock = itertools.count(1)
        self.waiting: list[QueuedJob] = []
        self.last_start: dict[str | None, float] = {}

    def push(self, job_id: str, owner: str | None) -> None:
        self.waiting.append(QueuedJob(job_id, owner, float(next(self.clock)), None, "m", "lora", 1))

    def order(self) -> list[str]:
        return fair_order(self.waiting, self.last_start)

    def pop(self) -> str | None:
        order = self.order()
        if not order:
            return None
        job = next(j for j in self.waiting if j.id == order[0])
        self.waiting.remove(job)
        self.last_start[job.owner] = float(next(self.clock))
        return job.id

    def remove(self, job_id: str) -> None:
        self.waiting = [j for j in self.waiting if j.id != job_id]


def test_one_owner_is_fifo() -> None:
    queue = Line()
    for job in ("a1", "a2", "a3"):
        queue.push(job, "alice")
    assert queue.order() == ["a1", "a2", "a3"]
    assert [queue.pop() for _ in range(4)] == ["a1", "a2", "a3", None]


def test_owners_take_turns_so_nobody_starves() -> None:
    queue = Line()
    for job in ("a1", "a2", "a3", "a4"):
        queue.push(job, "alice")
    queue.push("b1", "bob")
    queue.push("c1", "carol")
    queue.push("b2", "bob")
    expected = ["a1", "b1", "c1", "a2", "b2", "a3", "a4"]
    assert queue.order() == expected
    assert [queue.pop() for _ in range(len(expected))] == expected


def test_order_matches_pop_after_partial_pops_and_new_owner() -> None:
    queue = Line()
    for job in ("a1", "a2", "a3"):
        queue.push(job, "alice")
    assert queue.pop() == "a1"
    queue.push("b1", "bob")  # bob joins while alice is at the front again
    predicted = queue.order()
    assert predicted == ["a2", "b1", "a3"]
    assert [queue.pop() for _ in range(3)] == predicted


def test_an_owner_whose_line_emptied_rejoins_at_the_back() -> None:
    queue = Line()
    queue.push("a1", "alice")
    assert queue.pop() == "a1"  # alice's line is empty now
    queue.push("b1", "bob")
    queue.push("a2", "alice")  # alice comes back after bob: she waits behind him
    assert queue.order() == ["b1", "a2"]


def test_removed_jobs_and_anonymous_jobs() -> None:
    queue = Line()
    queue.push("a1", "alice")
    queue.push("b1", None)
    queue.push("b2", None)
    queue.remove("a1")
    assert queue.order() == ["b1", "b2"]


def test_start_times_with_one_worker_add_up() -> None:
    # running job needs 10 s more; queued jobs take 5 s and 7 s
    assert start_times([10.0], [5.0, 7.0, 1.0], workers=1) == [10.0, 15.0, 22.0]


def test_start_times_with_two_workers_use_the_first_free_one() -> None:
    assert start_times([10.0], [5.0, 7.0, 1.0], workers=2) == [0.0, 5.0, 10.0]


def test_duration_model_learns_from_finished_jobs() -> None:
    model = DurationModel(load_s=5.0, step_s=0.5, smoothing=0.5)
    assert model.estimate("m", "lora", 10) == 10.0
    model.record("m", "lora", load_s=1.0, step_s=0.1)
    assert model.estimate("m", "lora", 10) == 2.0
    model.record("m", "lora", load_s=3.0, step_s=0.3)
    assert abs(model.estimate("m", "lora", 10) - 4.0) < 1e-9
    assert model.estimate("m", "full", 10) == 10.0


def test_a_loading_job_past_its_estimate_still_holds_the_worker_for_all_its_steps() -> None:
    # The reported bug: a default run writing its base samples for 6 minutes was estimated at
    # 5 s + 40 × 0.5 s, so the job behind it was told "0 s". All 40 steps are still to come.
    left = time_left_s(
        estimate_s=25.0, elapsed_s=360.0, steps=40, steps_done=0, step_s=0.5, measured_step_s=None
    )
    assert left == 20.0
    assert start_times([left], [25.0], workers=1) == [20.0]


def test_a_running_job_is_timed_by_its_own_measured_pace() -> None:
    # 11 of 40 steps done at a measured 30 s a step (a busy machine): 29 steps × 30 s are left,
    # whatever the stale 0.5 s-a-step estimate says.
    left = time_left_s(
        estimate_s=25.0, elapsed_s=700.0, steps=40, steps_done=11, step_s=0.5, measured_step_s=30.0
    )
    assert left == 29 * 30.0
    assert start_times([left], [25.0, 25.0], workers=1) == [870.0, 895.0]
    # Within its estimate and before its first step: the estimate less the time spent.
    assert time_left_s(25.0, 2.0, 40, 0, 0.5, None) == 23.0


def test_the_duration_model_adapts_to_a_running_jobs_pace() -> None:
    model = DurationModel(load_s=5.0, step_s=0.5)
    model.observe_step("smollm2-135m", "lora", 3.0)
    assert model.step_s("smollm2-135m", "lora") == 3.0
    assert model.estimate("smollm2-135m", "lora", 40) == 5.0 + 40 * 3.0
    assert model.step_s("smollm2-135m", "full") == 0.5  # other (model, method) pairs keep theirs


def test_a_waiting_job_hears_a_new_start_only_when_it_moves_enough() -> None:
    assert eta_changed(None, 0.0)
    assert not eta_changed(100.0, 105.0)  # 5 s: chatter
    assert not eta_changed(600.0, 690.0)  # 90 s of 600 s: 15 %
    assert eta_changed(600.0, 800.0)
    assert eta_changed(0.0, 870.0)


def test_the_work_after_the_last_step_holds_the_worker_too() -> None:
    # The final evaluation, samples and saving come after the last step: a job with 5 steps left at
    # 2 s a step and a measured 30 s tail frees its worker in 40 s, not 10 s.
    model = DurationModel(load_s=5.0, step_s=0.5)
    model.record("smollm2-135m", "lora", load_s=20.0, step_s=2.0, tail_s=30.0)
    assert model.tail_s("smollm2-135m", "lora") == 30.0
    assert model.estimate("smollm2-135m", "lora", 10) == 20.0 + 10 * 2.0 + 30.0
    assert model.tail_s("smollm2-135m", "full") == 0.0  # nothing measured: no tail assumed
    assert time_left_s(70.0, 30.0, 10, 5, 2.0, 2.0, tail_s=30.0) == 5 * 2.0 + 30.0
    # still loading: never less than all its steps and its tail
    assert time_left_s(70.0, 65.0, 10, 0, 2.0, None, tail_s=30.0) == 10 * 2.0 + 30.0
    model.record("smollm2-135m", "lora", load_s=20.0, step_s=2.0, tail_s=10.0)
    assert model.tail_s("smollm2-135m", "lora") == 20.0  # smoothed like the others
