"""Every causal method on the tiny random Llama: the event stream, the counts, the adapter, the spectra.

These run the real loop, peft and bitsandbytes end to end; only the model is tiny (and untrained).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from app.events import EventStamper
from app.training.loop import TrainingRun
from app.training.models import ModelCache
from app.training.train_config import TrainConfig
from tests.utils.streams import check_stream

CAUSAL_METHODS = ("full", "lora", "qlora", "prompt", "prefix", "sft", "dpo")
LORA_LIKE = ("lora", "qlora", "sft", "dpo")
TASK_OF = {"dpo": "tone-preference"}  # dpo trains on preference pairs; every other method on tone
METRIC_OF = {"dpo": "preference_accuracy"}
SHORT = dict(model="tiny-llama", task="tone", steps=3, eval_every=2, spectrum_every=2, max_new_tokens=4)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> ModelCache:
    return ModelCache(tmp_path_factory.mktemp("models"), device="cpu")


def run_events(cache: ModelCache, **settings: Any) -> tuple[TrainingRun, list[dict[str, Any]]]:
    run = TrainingRun(TrainConfig(**{**SHORT, **settings}), cache=cache)
    events = [event.model_dump() for event in EventStamper("test").stamp_all(run.events())]
    return run, events


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


@pytest.fixture(scope="module")
def runs(cache: ModelCache) -> dict[str, tuple[TrainingRun, list[dict[str, Any]]]]:
    """One short run per method, shared by the tests below (each run takes a second or two)."""
    return {
        method: run_events(cache, method=method, task=TASK_OF.get(method, "tone"))
        for method in CAUSAL_METHODS
    }


@pytest.mark.parametrize("method", CAUSAL_METHODS)
def test_stream_is_valid_and_in_order(runs: dict, method: str) -> None:
    run, events = runs[method]
    check_stream(events)
    assert events[-1]["type"] == "done", events[-1]
    types = [e["type"] for e in events]
    assert types[0] == "loading" and types.index("started") < types.index("step")
    assert [e["step"] for e in of_type(events, "step")] == [1, 2, 3]
    assert [e["step"] for e in of_type(events, "eval")] == [0, 2, 3]
    samples = of_type(events, "sample")
    prompts = len(samples) // 2
    assert prompts >= 1 and {s["step"] for s in samples} == {0, 3}
    assert all(s["before"] == s["after"] for s in samples[:prompts])  # before training: the base answer
    summary = events[-1]["summary"]
    assert summary["steps"] == 3 and summary["final_loss"] == of_type(events, "step")[-1]["loss"]
    assert summary["final_eval_loss"] == of_type(events, "eval")[-1]["eval_loss"]
    assert summary["metric_name"] == METRIC_OF.get(method, "voice") and 0.0 <= summary["metric"] <= 1.0
    for step in of_type(events, "step"):
        assert step["loss"] > 0 and step["grad_norm"] >= 0 and step["memory_bytes"] > 0


@pytest.mark.parametrize("method", CAUSAL_METHODS)
def test_counts_are_peft_and_torch_counts(runs: dict, method: str) -> None:
    run, events = runs[method]
    started = of_type(events, "started")[0]
    model = run.model
    if method == "full":
        params = list(model.parameters())
        expected = (sum(p.numel() for p in params), sum(p.numel() for p in params))
    else:
        expected = model.get_nb_trainable_parameters()
    assert (started["trainable_params"], started["total_params"]) == tuple(expected)
    assert started["trainable_pct"] == pytest.approx(100 * expected[0] / expected[1])
    trainable_now = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable_now == started["trainable_params"]


def test_lora_count_matches_the_formula(runs: dict) -> None:
    """r·(d_in + d_out) for every wrapped projection: q, k, v, o of each block by default."""
    run, events = runs["lora"]
    rank = of_type(events, "started")[0]["config"]["rank"]
    base = run.model.get_base_model()
    wrapped = [
        m for name, m in base.named_modules() if name.endswith(("q_proj", "k_proj", "v_proj", "o_proj"))
    ]
    assert len(wrapped) == 4 * base.config.num_hidden_layers
    expected = sum(rank * (m.in_features + m.out_features) for m in wrapped)
    assert of_type(events, "started")[0]["trainable_params"] == expected


def test_prompt_count_is_k_times_width(runs: dict) -> None:
    run, events = runs["prompt"]
    started = of_type(events, "started")[0]
    width = run.model.get_input_embeddings().weight.shape[1]
    assert started["trainable_params"] == started["config"]["num_virtual_tokens"] * width


@pytest.mark.parametrize("method", ["lora", "qlora", "prompt", "prefix", "sft", "dpo"])
def test_adapter_bytes_equal_the_saved_file(runs: dict, method: str, tmp_path: Path) -> None:
    run, events = runs[method]
    directory = run.save_adapter(tmp_path / method)
    saved = directory / "adapter_model.safetensors"
    assert (directory / "adapter_config.json").is_file()
    assert of_type(events, "started")[0]["adapter_bytes"] == saved.stat().st_size
    tensors = load_file(saved)
    assert sum(t.numel() for t in tensors.values()) == of_type(events, "started")[0]["trainable_params"]


def test_full_has_no_adapter_file(runs: dict, tmp_path: Path) -> None:
    run, events = runs["full"]
    with pytest.raises(NotImplementedError, match="no adapter"):
        run.save_adapter(tmp_path / "full")
    started = of_type(events, "started")[0]
    assert started["adapter_bytes"] == 4 * started["trainable_params"]  # float32 on the CPU


def test_qlora_base_is_really_4bit(runs: dict) -> None:
    import bitsandbytes as bnb

    run, _ = runs["qlora"]
    layers = [m for name, m in run.model.named_modules() if name.endswith("q_proj.base_layer")]
    assert layers and all(isinstance(m, bnb.nn.Linear4bit) for m in layers)
    assert all(m.weight.quant_state.quant_type == "nf4" for m in layers)
    assert all(m.weight.dtype == torch.uint8 for m in layers)  # packed: two 4-bit values a byte


@pytest.mark.parametrize("method", CAUSAL_METHODS)
def test_spectrum_events_fit_the_method(runs: dict, method: str) -> None:
    run, events = runs[method]
    spectra = of_type(events, "spectrum")
    assert spectra
    last = spectra[-1]
    if method in ("prompt", "prefix"):
        assert [s["step"] for s in spectra] == [0, 2, 3]
        geometry = last["soft_prompt"]
        k = of_type(events, "started")[0]["config"]["num_virtual_tokens"]
        assert len(geometry["norms"]) == k and all(len(p) == 3 for p in geometry["points"])
        return
    assert [s["step"] for s in spectra] == [2, 3] and last["layers"]
    if method in LORA_LIKE:
        n_lora = sum(1 for name, _ in run.model.named_modules() if name.endswith("lora_A"))
        rank = of_type(events, "started")[0]["config"]["rank"]
        assert len(last["layers"]) == n_lora
        assert all(len(layer["singular_values"]) == rank for layer in last["layers"])
    for layer in last["layers"]:
        values = layer["singular_values"]
        assert values == sorted(values, reverse=True) and values[0] > 0  # ΔW moved from zero


@pytest.mark.parametrize("method", CAUSAL_METHODS)
def test_generate_gives_tuned_and_base_answers(runs: dict, method: str) -> None:
    run, events = runs[method]
    first = of_type(events, "sample")[0]
    tuned, base = run.generate(first["prompt"], max_new_tokens=4)
    assert isinstance(tuned, str) and base == first["before"]  # greedy: the base answers as it did at step 0
