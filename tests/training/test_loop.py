"""The loop's promises: determinism, cancel, time limit, failures as events, validation naming the field,
fresh copies of the base per run, and an adapter that reloads through peft to the same outputs."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from pydantic import ValidationError

from app.events import EventStamper
from app.training.loop import TrainingRun
from app.training.methods import ConfigError, resolve_config
from app.training.models import ModelCache
from app.training.registry import ModelNotAvailable
from app.training.registry import spec_for as cache_spec
from app.training.train_config import TrainConfig
from tests.utils.adapters import assert_adapter_reloads_through_peft
from tests.utils.streams import check_stream

TINY = dict(model="tiny-llama", task="tone", max_new_tokens=2, eval_every=100, spectrum_every=100)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> ModelCache:
    return ModelCache(tmp_path_factory.mktemp("models"), device="cpu")


def stream(run: TrainingRun) -> list[dict[str, Any]]:
    events = [event.model_dump() for event in EventStamper("test").stamp_all(run.events())]
    check_stream(events)
    return events


def losses(events: list[dict[str, Any]]) -> list[float]:
    return [e["loss"] for e in events if e["type"] == "step"]


@pytest.mark.parametrize("method", ["lora", "prompt"])
def test_same_seed_same_losses(cache: ModelCache, method: str) -> None:
    config = TrainConfig(**TINY, method=method, steps=4, dropout=0.0)
    first = losses(stream(TrainingRun(config, cache=cache)))
    second = losses(stream(TrainingRun(config, cache=cache)))
    other = losses(stream(TrainingRun(config.model_copy(update={"seed": 1}), cache=cache)))
    assert len(first) == 4 and first == second
    assert other != first  # the seed picks the batches and the adapter's start


def test_training_lowers_the_loss(cache: ModelCache) -> None:
    """Full fine-tuning of the tiny model on tone: the loss falls well below the uniform-guess level."""
    events = stream(TrainingRun(TrainConfig(**TINY, method="full", steps=30, lr=3e-3), cache=cache))
    values = losses(events)
    assert sum(values[-5:]) / 5 < values[0] - 1.0, values
    evals = [e["eval_loss"] for e in events if e["type"] == "eval"]
    assert evals[-1] < evals[0]


def test_each_run_starts_from_the_unmodified_base(cache: ModelCache) -> None:
    name = "model.layers.0.self_attn.q_proj.weight"
    before = cache.get("tiny-llama").model.state_dict()[name].clone()
    run = TrainingRun(TrainConfig(**TINY, method="full", steps=2, lr=1e-2), cache=cache)
    stream(run)
    assert not torch.equal(run.model.state_dict()[name], before)  # the run changed its copy
    assert torch.equal(cache.get("tiny-llama").model.state_dict()[name], before)  # not the base


@pytest.mark.parametrize("method", ["lora", "prompt", "prefix"])
def test_methods_that_freeze_the_base_share_its_bytes_and_leave_it_unchanged(
    cache: ModelCache, method: str
) -> None:
    base = cache.get("tiny-llama").model  # a private copy: what the base was before
    expected = {name: tensor.clone() for name, tensor in base.state_dict().items()}
    run = TrainingRun(TrainConfig(**TINY, method=method, steps=3, lr=1e-2), cache=cache)
    events = stream(run)
    assert events[-1]["type"] == "done"
    shared = run.model.get_base_model().model.layers[0].self_attn.q_proj
    shared = getattr(shared, "base_layer", shared)  # LoRA wraps the projection
    original = cache._base(cache_spec("tiny-llama"), None).model.model.layers[0].self_attn.q_proj
    assert shared.weight.data_ptr() == original.weight.data_ptr()  # no bytes copied for this run
    after = cache.get("tiny-llama").model.state_dict()
    assert all(torch.equal(after[name], tensor) for name, tensor in expected.items())


def test_cancel_ends_between_steps(cache: ModelCache) -> None:
    cancel = threading.Event()
    run = TrainingRun(TrainConfig(**TINY, method="lora", steps=50), cache=cache, cancel=cancel)
    events: list[dict[str, Any]] = []
    for event in EventStamper("test").stamp_all(run.events()):
        events.append(event.model_dump())
        if event.type == "step" and event.step == 2:
            cancel.set()
    check_stream(events)
    assert events[-1]["type"] == "cancelled"
    assert losses(events) and len(losses(events)) == 2


def test_time_limit_fails_the_run(cache: ModelCache) -> None:
    run = TrainingRun(TrainConfig(**TINY, method="lora", steps=50), cache=cache, time_limit_s=0.001)
    events = stream(run)
    assert events[-1]["type"] == "failed" and "time limit" in events[-1]["error"]
    assert not losses(events)


def test_failures_are_events_not_exceptions(cache: ModelCache) -> None:
    bad_target = TrainConfig(**TINY, method="lora", steps=2, target_modules=["no_such_proj"])
    events = stream(TrainingRun(bad_target, cache=cache))
    assert events[-1]["type"] == "failed" and events[-1]["error"].startswith("target_modules:")
    unknown_task = stream(TrainingRun(TrainConfig(**{**TINY, "task": "nope"}, method="lora"), cache=cache))
    assert unknown_task[-1]["type"] == "failed"
    assert "tone" in unknown_task[-1]["error"] and "sentiment" in unknown_task[-1]["error"]


def test_a_missing_model_names_the_fix(tmp_path: Path) -> None:
    empty = ModelCache(tmp_path, device="cpu")
    with pytest.raises(ModelNotAvailable, match="ftlab models fetch smollm2-135m"):
        empty.get("smollm2-135m")
    events = stream(TrainingRun(TrainConfig(model="smollm2-135m", method="lora", task="tone"), cache=empty))
    assert events[-1]["type"] == "failed" and "ftlab models fetch smollm2-135m" in events[-1]["error"]


@pytest.mark.parametrize(
    ("settings", "field", "words"),
    [
        (dict(method="head"), "method", "full, lora, qlora, prompt, prefix"),
        (dict(model="minilm-l6", method="prompt", task="sentiment"), "method", "head"),
        (dict(method="nope"), "method", "valid methods: full, lora"),
        (dict(model="nope"), "model", "valid models: smollm2-135m, minilm-l6, tiny-llama"),
        (dict(method="lora", prompt_init_text="hello"), "prompt_init_text", "prompt tuning"),
        (dict(method="prompt", use_dora=True), "use_dora", "LoRA methods"),
        (dict(method="full", target_modules=["q_proj"]), "target_modules", "LoRA methods"),
        (dict(model="tiny-llama", task="sentiment"), "task", "classification"),
        (dict(method="dpo"), "task", "tone is a chat task; dpo on smollm2-135m (causal) trains on pref"),
        (dict(method="dpo", task="json-extract"), "task", "built-in: tone-preference"),
        (dict(method="lora", task="tone-preference"), "task", "for a preference task use dpo"),
        (dict(method="sft", task="tone-preference"), "task", "trains on chat tasks"),
        (dict(model="tiny-llama", method="sft", task="sentiment"), "task", "classification"),
        (dict(model="minilm-l6", method="dpo", task="sentiment"), "method", "dpo needs a causal model"),
        (dict(method="dpo", task="tone-preference", dropout=0.1), "dropout", "without dropout"),
    ],
)
def test_combinations_that_do_not_fit_name_the_field(settings: dict, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_config(TrainConfig(**settings))
    assert caught.value.field == field and words in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [
        ("steps", 0, "1"),
        ("steps", 5000, "2000"),
        ("lr", 2.0, "1"),
        ("rank", 512, "256"),
        ("seq_len", 8, "16"),
        ("batch_size", 100, "64"),
        ("num_virtual_tokens", 0, "1"),
    ],
)
def test_out_of_bounds_values_name_the_field_and_limit(field: str, value: Any, limit: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TrainConfig(**{field: value})
    (error,) = caught.value.errors()
    assert error["loc"] == (field,) and limit in error["msg"]


def test_defaults_are_filled_per_method_and_kind() -> None:
    lora = resolve_config(TrainConfig(method="lora"))
    assert lora.steps and lora.lr and lora.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"]
    encoder = resolve_config(TrainConfig(model="minilm-l6", method="lora", task="sentiment"))
    assert encoder.target_modules == ["query", "key", "value"]
    chosen = resolve_config(TrainConfig(method="lora", steps=7, lr=1e-4))
    assert (chosen.steps, chosen.lr) == (7, 1e-4)


@pytest.mark.parametrize("method", ["lora", "prefix"])
def test_saved_adapter_reloads_through_peft(cache: ModelCache, method: str, tmp_path: Path) -> None:
    run = TrainingRun(TrainConfig(**TINY, method=method, steps=3, lr=5e-2), cache=cache)
    stream(run)
    assert_adapter_reloads_through_peft(run, cache, tmp_path / method)


@pytest.mark.parametrize("method", ["lora", "full"])
def test_step_zero_results_of_the_base_are_worked_out_once_per_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """A second job on the same base gets the base's answers and step-0 evaluation from memory: the same
    events, without generating or evaluating again before its first step."""
    from app.training import evaluation

    cache = ModelCache(tmp_path, device="cpu")
    config = TrainConfig(**TINY, method=method, steps=2)
    calls = {"answer": 0, "eval_loss": 0}
    for name in calls:
        real = getattr(evaluation, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(evaluation, name, counted)

    def step_zero(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [
            (e["type"], e.get("before"), e.get("eval_loss"), e.get("metric"))
            for e in events
            if e["type"] in ("sample", "eval") and e["step"] == 0
        ]

    first = stream(TrainingRun(config, cache=cache))
    once = dict(calls)
    second = stream(TrainingRun(config, cache=cache))
    assert step_zero(second) == step_zero(first) and len(step_zero(first)) == 4  # 3 samples + 1 eval
    # the second run answered and evaluated only after training (the final eval and its samples)
    assert calls["answer"] - once["answer"] == once["answer"] - 1
    assert calls["eval_loss"] - once["eval_loss"] == once["eval_loss"] - 1
    # a method that does not start as the base (prompt tuning) still evaluates its own step 0
    prompt = stream(TrainingRun(config.model_copy(update={"method": "prompt"}), cache=cache))
    assert [e["type"] for e in prompt if e.get("step") == 0].count("eval") == 1
    cache.evict("tiny-llama")
    assert not cache._memo


@pytest.mark.parametrize("steps", [1, 2, 20, 30])
def test_every_update_has_a_positive_rate_warmup_then_cosine(steps: int) -> None:
    from app.training.loop import warmup_cosine

    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = warmup_cosine(optimizer, steps)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])  # what this update uses
        optimizer.step()
        schedule.step()
    warmup = max(1, round(0.1 * steps))
    assert all(rate > 0 for rate in rates)
    assert rates[warmup - 1] == pytest.approx(1.0)  # the peak at the end of warmup
    assert (
        rates[:warmup] == sorted(rates[:warmup]) and rates[warmup - 1 :] == sorted(rates[warmup - 1 :])[::-1]
    )


def test_step_events_report_the_rate_of_their_own_update(cache: ModelCache) -> None:
    events = stream(TrainingRun(TrainConfig(**TINY, method="lora", steps=20, lr=1e-3), cache=cache))
    rates = [e["lr"] for e in events if e["type"] == "step"]
    assert rates[0] == pytest.approx(5e-4) and rates[1] == pytest.approx(1e-3)  # warmup: 2 of 20 updates
    assert max(rates) == pytest.approx(1e-3) and rates[-1] > 0
