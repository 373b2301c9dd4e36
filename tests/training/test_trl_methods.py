"""sft and dpo through trl on the tiny random Llama: trl's loss in the loop's steps, DPO's reference is the
base with the adapter disabled, sft packs padding-free with a completion-only loss, determinism, cancel,
config errors, and adapters that reload through peft."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

from app.events import EventStamper
from app.training.loop import TrainingRun
from app.training.methods import METHODS, ConfigError, resolve_config
from app.training.models import ModelCache
from app.training.tasks import PreferenceExample, Task, load_builtin_task
from app.training.train_config import TrainConfig
from tests.utils.adapters import assert_adapter_reloads_through_peft
from tests.utils.streams import check_stream

DPO = dict(model="tiny-llama", method="dpo", task="tone-preference", max_new_tokens=2)
SFT = dict(model="tiny-llama", method="sft", task="tone", max_new_tokens=2)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> ModelCache:
    return ModelCache(tmp_path_factory.mktemp("models"), device="cpu")


def stream(run: TrainingRun, cancel_after: int | None = None) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for event in EventStamper("test").stamp_all(run.events()):
        events.append(event.model_dump())
        if cancel_after is not None and event.type == "step" and event.step == cancel_after:
            run.cancel.set()
    check_stream(events)
    return events


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


def losses(events: list[dict[str, Any]]) -> list[float]:
    return [e["loss"] for e in of_type(events, "step")]


@pytest.fixture(scope="module")
def dpo_run(cache: ModelCache) -> tuple[TrainingRun, list[dict[str, Any]]]:
    """Eight steps at a high learning rate, so the tiny model's preferences move."""
    run = TrainingRun(TrainConfig(**DPO, steps=8, lr=5e-3, eval_every=4, spectrum_every=4), cache=cache)
    return run, stream(run)


# --------------------------------------------------------------------------- dpo


def test_dpo_starts_at_ln2_and_learns_the_preference(dpo_run: tuple[TrainingRun, list]) -> None:
    """Policy = reference at the start (LoRA's B is zero), so every implicit reward is 0 and the loss
    is −log σ(0) = ln 2; training lowers the held-out DPO loss and ranks chosen above rejected."""
    run, events = dpo_run
    assert events[-1]["type"] == "done"
    values = losses(events)
    assert len(values) == 8 and all(math.isfinite(v) for v in values)
    assert values[0] == pytest.approx(math.log(2), abs=1e-5)
    evals = of_type(events, "eval")
    assert [e["step"] for e in evals] == [0, 4, 8]
    assert evals[0]["eval_loss"] == pytest.approx(math.log(2), abs=1e-5)
    assert evals[0]["metric"] == 0.0  # ties (both rewards 0) do not count as preferring chosen
    assert all(e["metric_name"] == "preference_accuracy" for e in evals)
    assert evals[-1]["eval_loss"] < evals[0]["eval_loss"] - 0.01 and evals[-1]["metric"] >= 0.75
    summary = events[-1]["summary"]
    assert summary["metric"] == evals[-1]["metric"] and summary["reward_margin"] > 0
    assert summary["reward_chosen"] > summary["reward_rejected"]
    assert run.prepared.steps.trainer.beta == run.resolved.beta  # our beta reaches trl's loss


def test_dpo_events_match_the_lora_route(dpo_run: tuple[TrainingRun, list]) -> None:
    run, events = dpo_run
    started = of_type(events, "started")[0]
    assert started["method"] == "dpo" and started["task"] == "tone-preference"
    assert (started["trainable_params"], started["total_params"]) == run.model.get_nb_trainable_parameters()
    spectra = of_type(events, "spectrum")
    assert [s["step"] for s in spectra] == [4, 8]
    n_lora = sum(1 for name, _ in run.model.named_modules() if name.endswith("lora_A"))
    assert len(spectra[-1]["layers"]) == n_lora  # only the trained adapter: no "ref" copy
    samples = of_type(events, "sample")
    assert {s["step"] for s in samples} == {0, 8} and len(samples) == 2 * len(
        load_builtin_task(DPO["task"]).sample_prompts
    )


def test_dpo_reference_is_the_base_model_with_the_adapter_disabled(
    cache: ModelCache, dpo_run: tuple[TrainingRun, list]
) -> None:
    """trl keeps no reference model and no copy of the adapter: its reference log-probs, after training,
    are exactly those of a fresh, untouched base model."""
    run, _ = dpo_run
    trainer, model = run.prepared.steps.trainer, run.model
    assert trainer.ref_model is None and list(model.peft_config) == ["default"]
    batch = next(run.prepared.steps.batches(4, seed=1))

    def completion_logps(lm: Any) -> torch.Tensor:
        logits = lm(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
        tokens = logits.log_softmax(-1).gather(-1, batch["input_ids"][:, 1:, None])[..., 0]
        return (tokens * batch["completion_mask"][:, 1:]).sum(dim=1)  # (2B,): chosen half, rejected half

    model.eval()
    with torch.no_grad():
        ref_chosen, ref_rejected = trainer.compute_ref_log_probs(model, batch)
        base = completion_logps(cache.get("tiny-llama").model.eval())
        policy = completion_logps(model)
    torch.testing.assert_close(torch.cat([ref_chosen, ref_rejected]), base, atol=1e-4, rtol=0)
    assert not torch.allclose(policy, base, atol=1e-3)  # while the adapter itself has moved


def test_dpo_on_an_uploaded_preference_task(cache: ModelCache) -> None:
    pairs = [PreferenceExample(f"Question {i}?", f"Arr, matey! Answer {i}.", f"No. {i}") for i in range(12)]
    task = Task.from_examples("my-pairs", pairs)
    run = TrainingRun(TrainConfig(**{**DPO, "task": "my-pairs"}, steps=2), cache=cache, task=task)
    events = stream(run)
    assert events[-1]["type"] == "done", events[-1]
    assert of_type(events, "eval")[0]["metric_name"] == "preference_accuracy"


# --------------------------------------------------------------------------- sft


def test_sft_packs_whole_examples_padding_free_with_a_completion_only_loss(cache: ModelCache) -> None:
    run = TrainingRun(TrainConfig(**SFT, steps=1, eval_every=1), cache=cache)
    assert stream(run)[-1]["type"] == "done"
    rows, seq_len = run.prepared.steps.rows, run.resolved.seq_len
    assert any(len(row["seq_lengths"]) > 1 for row in rows)  # several examples share a row
    assert all(sum(row["seq_lengths"]) == len(row["input_ids"]) <= seq_len for row in rows)

    # the loss covers the answers (and their end of turn) only, never the prompts
    tokenizer, answers = run.tokenizer, {e.answer for e in load_builtin_task("tone").train}
    for row in rows[:10]:
        start = 0
        for length in row["seq_lengths"]:
            labels = [t for t in row["labels"][start : start + length] if t != -100]
            assert tokenizer.decode(labels).removesuffix("<|im_end|>\n") in answers
            start += length

    # a padding-free batch is one flat sequence; its loss is the mean over the examples' answer tokens,
    # each example seeing only itself (positions restart, attention stays inside the example)
    batch = next(run.prepared.steps.batches(2, seed=0))
    assert "attention_mask" not in batch and batch["input_ids"].shape[0] == 1
    model = run.model.eval()
    with torch.no_grad():
        packed = float(run.prepared.steps.loss(model, dict(batch)))
        starts = (batch["position_ids"][0] == 0).nonzero().flatten().tolist() + [batch["input_ids"].shape[1]]
        total, count = 0.0, 0
        for a, b in zip(starts, starts[1:], strict=False):
            labels = batch["labels"][:, a:b]
            n = int((labels[:, 1:] != -100).sum())
            total += float(model(input_ids=batch["input_ids"][:, a:b], labels=labels).loss) * n
            count += n
    assert len(starts) > 3 and packed == pytest.approx(total / count, rel=1e-4)


def test_sft_evaluates_like_lora(cache: ModelCache) -> None:
    """Same held-out answer-token loss and voice metric as lora (before training both are the base's)."""
    config = dict(steps=1, eval_every=1, spectrum_every=1)
    sft = of_type(stream(TrainingRun(TrainConfig(**SFT, **config), cache=cache)), "eval")
    lora = of_type(
        stream(TrainingRun(TrainConfig(**{**SFT, "method": "lora"}, **config), cache=cache)), "eval"
    )
    assert sft[0]["eval_loss"] == pytest.approx(lora[0]["eval_loss"], abs=1e-5)
    assert sft[0]["metric_name"] == lora[0]["metric_name"] == "voice"


# --------------------------------------------------------------------------- both


@pytest.mark.parametrize("settings", [DPO, SFT], ids=["dpo", "sft"])
def test_same_seed_same_losses(cache: ModelCache, settings: dict) -> None:
    config = TrainConfig(**settings, steps=3, lr=5e-3, eval_every=100, spectrum_every=100)
    first = losses(stream(TrainingRun(config, cache=cache)))
    second = losses(stream(TrainingRun(config, cache=cache)))
    other = losses(stream(TrainingRun(config.model_copy(update={"seed": 1}), cache=cache)))
    assert len(first) == 3 and first == second
    assert other != first


@pytest.mark.parametrize("settings", [DPO, SFT], ids=["dpo", "sft"])
def test_cancel_ends_between_steps(cache: ModelCache, settings: dict) -> None:
    run = TrainingRun(TrainConfig(**settings, steps=50, eval_every=100, spectrum_every=100), cache=cache)
    events = stream(run, cancel_after=2)
    assert events[-1]["type"] == "cancelled" and len(losses(events)) == 2


@pytest.mark.parametrize("settings", [DPO, SFT], ids=["dpo", "sft"])
def test_saved_adapter_reloads_through_peft(cache: ModelCache, settings: dict, tmp_path: Path) -> None:
    run = TrainingRun(TrainConfig(**settings, steps=3, lr=5e-2, eval_every=100), cache=cache)
    assert stream(run)[-1]["type"] == "done"
    assert_adapter_reloads_through_peft(run, cache, tmp_path / settings["method"])


def test_bad_target_modules_name_the_field(cache: ModelCache) -> None:
    run = TrainingRun(TrainConfig(**DPO, steps=1, target_modules=["no_such_proj"]), cache=cache)
    events = stream(run)
    assert events[-1]["type"] == "failed" and events[-1]["error"].startswith("target_modules:")


def test_defaults_and_task_kinds() -> None:
    assert METHODS["sft"].available and METHODS["dpo"].available
    assert METHODS["dpo"].task_kind == "preference" and METHODS["sft"].task_kind is None
    dpo = resolve_config(TrainConfig(method="dpo", task="tone-preference"))
    sft = resolve_config(TrainConfig(method="sft", task="tone"))
    assert dpo.target_modules == sft.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert (dpo.steps, dpo.batch_size) == (20, 2) and dpo.eval_every <= dpo.steps
    with pytest.raises(ConfigError) as caught:
        resolve_config(TrainConfig(method="dpo", task="tone"), task_kind="chat")
    assert caught.value.field == "task" and "preference" in str(caught.value)
    resolve_config(TrainConfig(method="dpo", task="uploaded-pairs"), task_kind="preference")
