from __future__ import annotations

from app.jobs.queue import DurationModel, FairQueue, start_times


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
