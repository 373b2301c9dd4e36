"""The planner on measured paces: the grid fits the budget on the workers there are, shorter
sequences before fewer steps, the 422-worthy error with what would fit, and paces read from real
stored step events."""

from __future__ import annotations

import json

import pytest

from app.experiments.planner import MIN_STEPS, Pace, PlanError, makespan, pace_of_run, plan_grid
from app.training.train_config import TrainConfig

LORA = TrainConfig(model="smollm2-135m", method="lora", task="tone")
PACE = {("smollm2-135m", "lora"): Pace(step_s=2.0, overhead_s=20.0, slots=128 * 4, runs=3, source="history")}


def test_makespan_places_longest_first() -> None:
    assert makespan([5, 4, 3, 3, 3], 2) == 10  # 5+3+... : greedy, not the optimum (9)
    assert makespan([10], 4) == 10


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_a_grid_is_planned_within_its_budget(workers: int) -> None:
    configs = [LORA.model_copy(update={"rank": r}) for r in (1, 2, 4, 8, 16, 32, 64)]
    plan = plan_grid(configs, PACE, workers, budget_s=600)
    assert plan.runs == 7 and plan.workers == workers
    assert plan.est_total_s <= 600
    assert MIN_STEPS <= plan.steps <= 30  # lora's default steps is the most it plans
    one = 20 + plan.steps * 2.0 * plan.seq_len / 128
    assert plan.est_run_s == pytest.approx(one, abs=0.1)
    assert plan.est_total_s == pytest.approx(one * -(-7 // workers), abs=0.2)
    if plan.steps < 30:  # one more step would not have fitted
        longer = 20 + (plan.steps + 1) * 2.0 * plan.seq_len / 128
        assert longer * -(-7 // workers) > 600


def test_shorter_sequences_come_before_fewer_steps() -> None:
    configs = [LORA] * 24
    plan = plan_grid(configs, PACE, 1, budget_s=15 * 60)  # 37.5 s a run: 8 steps at 128, 17 at 64
    assert plan.seq_len == 64 and plan.steps == 17


def test_fixed_sizes_are_kept_or_refused() -> None:
    configs = [LORA] * 4
    plan = plan_grid(configs, PACE, 1, budget_s=600, fixed_steps=40, fixed_seq_len=128)
    assert (plan.steps, plan.seq_len) == (40, 128)
    with pytest.raises(PlanError) as refused:
        plan_grid(configs, PACE, 1, budget_s=300, fixed_steps=40, fixed_seq_len=128)
    assert "4 runs of 40 steps (seq_len 128)" in str(refused.value)


def test_a_grid_that_cannot_fit_names_budget_and_offers_what_would() -> None:
    configs = [LORA] * 24
    with pytest.raises(PlanError) as refused:
        plan_grid(configs, PACE, 1, budget_s=300, faster_models=lambda: ["tiny-llama"])
    error = refused.value
    assert error.field == "budget_s"
    each = 20 + MIN_STEPS * 2.0 * 64 / 128  # 30 s a run at the floor
    assert error.offers == {"budget_s": 24 * 30, "runs": 10, "workers": 1, "models": ["tiny-llama"]}
    assert f"about {each:.0f} s each" in str(error) and "raise budget_s to 720" in str(error)
    assert "smaller model (tiny-llama)" in str(error)


def test_a_pace_is_read_from_a_runs_events() -> None:
    t0 = 1000.0
    events = [
        {"type": "queued", "time": t0 - 50},
        {"type": "loading", "time": t0},
        {"type": "started", "time": t0 + 5},
    ]
    events += [
        {"type": "step", "step": s, "elapsed_s": 3.0 + 2.0 * (s - 1), "time": t0 + 8 + 2 * s}
        for s in range(1, 11)
    ]
    events += [{"type": "done", "time": t0 + 40}]
    step_s, overhead_s, slots, load_s = pace_of_run(
        {"seq_len": 64, "batch_size": 4}, [json.dumps(e) for e in events]
    )
    assert step_s == pytest.approx(2.0) and slots == 256
    assert load_s == pytest.approx(5.0)  # the worker took it (loading) until started
    assert overhead_s == pytest.approx(35 - 10 * 2.0)  # the rest after started, steps left out


def test_the_model_loads_once_per_worker_not_once_per_run() -> None:
    pace = {("smollm2-135m", "lora"): Pace(2.0, 20.0, 128 * 4, 3, "history", load_s=60.0)}
    configs = [TrainConfig(model="smollm2-135m", method="lora", task="tone", rank=r) for r in (1, 2, 4, 8)]
    plan = plan_grid(configs, pace, workers=1, budget_s=10_000, fixed_steps=10, fixed_seq_len=128)
    assert plan.est_run_s == pytest.approx(20 + 10 * 2.0)
    assert plan.est_total_s == pytest.approx(60 + 4 * (20 + 10 * 2.0))  # one load, four runs
    with pytest.raises(PlanError) as refused:  # the load counts against the budget
        plan_grid(configs, pace, workers=1, budget_s=4 * 40 + 30, fixed_steps=10, fixed_seq_len=128)
    assert refused.value.offers["budget_s"] == 60 + 4 * 40
