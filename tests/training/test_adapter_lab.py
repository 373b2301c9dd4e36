"""The adapter lab on tiny-llama: swap answers as each job's own model, a single-job combination scores
as the job did, combined adapters load in plain peft, merging keeps the logits, and what does not fit
is refused with its reason."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import torch

from app.config import Settings
from app.events import Eval
from app.training import evaluation as ev
from app.training.adapter_lab import AdapterLab, AdapterLabError, AdapterSource, check_combination
from app.training.loop import TrainingRun
from app.training.models import ModelCache
from app.training.tasks import load_builtin_task
from app.training.train_config import TrainConfig

PROMPT = "Tell me about the sea"
# 30 steps at a high rate: tiny-llama's answers are then non-empty and differ between the two adapters
TINY = {"model": "tiny-llama", "method": "lora", "steps": 30, "lr": 3e-2, "batch_size": 2, "seq_len": 32}
TINY |= {"max_new_tokens": 6, "eval_every": 2000}


@dataclass
class Trained:
    source: AdapterSource
    answer: tuple[str, str]  # the job's own (tuned, base) answer to PROMPT
    final_eval: Eval


@pytest.fixture(scope="module")
def cache() -> ModelCache:
    return ModelCache(Settings().model_dir, "cpu")


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny-llama's matrices are too small for thread hand-offs
    yield
    torch.set_num_threads(threads)


def _train(cache: ModelCache, directory: Path, task: str, **options: object) -> Trained:
    run = TrainingRun(TrainConfig(**{**TINY, "task": task, **options}), cache=cache)
    events = list(run.events())
    assert events[-1].type == "done", events[-1]
    run.save_adapter(directory)
    assert run.resolved is not None
    trained = Trained(
        AdapterSource(directory.name, run.resolved, directory, load_builtin_task(task)),
        run.generate(PROMPT, 6),
        [e for e in events if isinstance(e, Eval)][-1],
    )
    run.release()
    return trained


@pytest.fixture(scope="module")
def jobs(cache: ModelCache, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Trained]:
    root = tmp_path_factory.mktemp("adapters")
    return {
        "tone": _train(cache, root / "tone", "tone"),
        "json": _train(cache, root / "json", "json-extract"),
        "r4": _train(cache, root / "r4", "tone", rank=4, alpha=8.0, steps=2),
    }


def test_swap_gives_each_jobs_own_answer_on_one_base(cache: ModelCache, jobs: dict[str, Trained]) -> None:
    lab = AdapterLab(cache)
    tone, json = jobs["tone"], jobs["json"]
    assert tone.answer[0] != json.answer[0], (
        "the two adapters must answer differently for this test to mean anything"
    )
    for trained in (tone, json, tone):  # back and forth: the first adapter is still there
        answer = lab.swap_generate(trained.source, PROMPT, 6)
        assert (answer.adapter, answer.tuned, answer.base) == (trained.source.name, *trained.answer)
        assert answer.switch_ms >= 0
    assert answer.load_ms == 0.0 and answer.adapters_loaded == 2  # the return to tone loaded nothing
    assert len(lab._bases) == 1  # one base served both


def test_one_job_at_weight_one_reproduces_its_eval(
    cache: ModelCache, jobs: dict[str, Trained], tmp_path: Path
) -> None:
    tone = jobs["tone"]
    result = AdapterLab(cache).combine([tone.source], [1.0], "linear", tmp_path / "one")
    score = result.scores["tone"]
    assert score.eval_loss == pytest.approx(tone.final_eval.eval_loss, abs=1e-4)
    assert score.metric == tone.final_eval.metric
    # and the base is worse on the task than the tuned adapter it is compared with
    assert result.base_scores["tone"].eval_loss > score.eval_loss
    assert result.rank == 8 and result.trainable_params == result.source_sizes["tone"][0]


@pytest.mark.parametrize(
    ("combination", "density", "rank"), [("cat", None, 16), ("ties", 0.5, 8), ("svd", None, 8)]
)
def test_combined_adapter_loads_in_plain_peft(
    cache: ModelCache,
    jobs: dict[str, Trained],
    tmp_path: Path,
    combination: str,
    density: float | None,
    rank: int,
) -> None:
    """The saved files alone (no lab) give the scores the lab reported, on both tasks."""
    from peft import PeftModel

    sources = [jobs["tone"].source, jobs["json"].source]
    result = AdapterLab(cache).combine(sources, [1.0, 0.7], combination, tmp_path / "c", density=density)
    assert result.rank == rank and set(result.scores) == {"tone", "json-extract"}
    assert sorted(p.name for p in result.directory.iterdir()) == [
        "adapter_config.json",
        "adapter_model.safetensors",
    ]
    model = PeftModel.from_pretrained(cache.get("tiny-llama").model, result.directory).eval()
    tokenizer = cache.get_tokenizer("tiny-llama")
    for task_name, score in result.scores.items():
        task = load_builtin_task(task_name)
        assert ev.eval_loss(model, tokenizer, task, 32, "cpu") == pytest.approx(score.eval_loss, abs=1e-5)
        # a combination is neither of its sources
        assert all(s[task_name].eval_loss != score.eval_loss for s in result.source_scores.values())


def test_cat_is_the_weighted_sum_of_the_updates(
    cache: ModelCache, jobs: dict[str, Trained], tmp_path: Path
) -> None:
    """cat stacks the factors: each layer's ΔW is exactly w₁ΔW₁ + w₂ΔW₂."""
    from peft import PeftModel

    sources = [jobs["tone"].source, jobs["json"].source]
    result = AdapterLab(cache).combine(sources, [1.0, -0.5], "cat", tmp_path / "cat")
    model = PeftModel.from_pretrained(cache.get("tiny-llama").model, sources[0].adapter_dir, adapter_name="a")
    model.load_adapter(sources[1].adapter_dir, adapter_name="b")
    model.load_adapter(result.directory, adapter_name="c")
    layer = model.base_model.model.model.layers[0].self_attn.q_proj
    expected = layer.get_delta_weight("a") - 0.5 * layer.get_delta_weight("b")
    torch.testing.assert_close(layer.get_delta_weight("c"), expected, atol=1e-6, rtol=1e-5)


def test_merge_keeps_the_adapters_logits(cache: ModelCache, jobs: dict[str, Trained]) -> None:
    report = AdapterLab(cache).merge_report(jobs["tone"].source, repeats=3)
    assert report.dtype == "float32" and report.base_precision == "dense"
    assert report.max_abs_logit_diff < 1e-4
    assert report.prompts == 8 and report.tokens > 8 * 5
    assert set(report.latency_ms) == {"adapter", "merged", "base"} and min(report.latency_ms.values()) > 0
    # the cache's base was not written to: a fresh copy still answers as the base did
    assert AdapterLab(cache).swap_generate(jobs["tone"].source, PROMPT, 6).base == jobs["tone"].answer[1]


def test_qlora_merges_through_a_dequantised_base(cache: ModelCache, tmp_path: Path) -> None:
    trained = _train(cache, tmp_path / "q", "tone", method="qlora", steps=2)
    report = AdapterLab(cache).merge_report(trained.source, repeats=1)
    assert report.base_precision == "nf4" and "dequantised" in report.merged_into
    assert report.max_abs_logit_diff < 1e-3  # the 4-bit kernel vs the same weights dequantised


def test_what_does_not_fit_is_refused_with_its_reason(jobs: dict[str, Trained], tmp_path: Path) -> None:
    tone, json, r4 = jobs["tone"].source, jobs["json"].source, jobs["r4"].source
    cases = [
        ([tone, r4], "linear", "ranks must be equal"),
        ([replace(tone, config=tone.config.model_copy(update={"method": "prompt"}))], "linear", "not a LoRA"),
        ([tone, replace(json, config=json.config.model_copy(update={"method": "qlora"}))], "cat", "nf4"),
        (
            [tone, replace(json, config=json.config.model_copy(update={"model": "smollm2-135m"}))],
            "cat",
            "one base",
        ),
        ([replace(tone, config=tone.config.model_copy(update={"use_dora": True}))], "cat", "DoRA"),
        ([replace(tone, config=tone.config.model_copy(update={"use_rslora": True}))], "cat", "√r"),
        ([tone, json], "mean", "unknown combination"),
    ]
    for sources, combination, reason in cases:
        with pytest.raises(AdapterLabError, match=reason):
            check_combination(sources, [1.0] * len(sources), combination)
    check_combination([tone, r4], [1.0, 1.0], "cat")  # cat takes any ranks
