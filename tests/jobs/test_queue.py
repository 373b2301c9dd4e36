from __future__ import annotations

from app.jobs.queue import DurationModel, FairQueue, eta_changed, start_times, time_left_s


def test_one_owner_is_fifo() -> None:
    queue = FairQueue()
    for job in ("a1", "a2", "a3"):
        queue.push(job, "alice")
    assert queue.order() == ["a1", "a2", "a3"]
    assert [queue.pop() for _ in range(4)] == ["a1", "a2", "a3", None]


def test_owners_take_turns_so_nobody_starves() -> None:
    queue = FairQueue()
    for job in ("a1", "a2", "a3", "a4"):
        queue.push(job, "alice")
    queue.push("b1", "bob")
    queue.push("c1", "carol")
    queue.push("b2", "bob")
    expected = ["a1", "b1", "c1", "a2", "b2", "a3", "a4"]
    assert queue.order() == expected
    assert [queue.pop() for _ in range(len(expected))] == expected


def test_order_matches_pop_after_partial_pops_and_new_owner() -> None:
    queue = FairQueue()
    for job in ("a1", "a2", "a3"):
        queue.push(job, "alice")
    assert queue.pop() == "a1"
    queue.push("b1", "bob")  # bob joins while alice is at the front again
    predicted = queue.order()
    assert predicted == ["a2", "b1", "a3"]
    assert [queue.pop() for _ in range(3)] == predicted


def test_remove_and_count() -> None:
    queue = FairQueue()
    queue.push("a1", "alice")
    queue.push("b1", None)
    queue.push("b2", None)
    assert queue.count(None) == 2 and queue.count("alice") == 1 and len(queue) == 3
    assert queue.remove("a1") and not queue.remove("a1")
    assert "a1" not in queue and "b2" in queue
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
