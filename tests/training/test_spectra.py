"""ΔW spectra: the QR route against the dense SVD, ranks on known spectra, peft LoRA models, soft prompts."""

from __future__ import annotations

import math

import pytest
import torch

from app.events import SoftPromptGeometry
from app.training.spectra import (
    dense_layer_spectrum,
    dense_model_spectrum,
    dense_singular_values,
    effective_rank,
    entropy_rank,
    layer_spectrum,
    lora_factors,
    lora_model_spectrum,
    lora_singular_values,
    rank_energy,
    snapshot_weights,
    soft_prompt_geometry,
)


def _dense_reference(A: torch.Tensor, B: torch.Tensor, scale: float) -> torch.Tensor:
    return torch.linalg.svdvals(scale * (B.double() @ A.double()))


@pytest.mark.parametrize(
    ("d_out", "d_in", "r"),
    [
        (64, 64, 8),
        (96, 48, 4),
        (48, 96, 16),
        (32, 32, 1),
        (16, 16, 16),
        (12, 20, 32),
        (8, 40, 64),
        (200, 7, 9),
    ],
)
def test_qr_route_matches_dense_svd(d_out: int, d_in: int, r: int) -> None:
    generator = torch.Generator().manual_seed(d_out * 1000 + d_in * 10 + r)
    A = torch.randn(r, d_in, generator=generator)
    B = torch.randn(d_out, r, generator=generator)
    scale = 16.0 / r
    sv = lora_singular_values(A, B, scale)
    reference = _dense_reference(A, B, scale)
    k = min(r, d_out, d_in)
    assert sv.shape == (k,)
    assert torch.all(sv[:-1] >= sv[1:]), "descending"
    relative = (sv.double() - reference[:k]).abs().max() / reference[0]
    assert relative < 1e-4
    # the values the QR route leaves out are the zeros of a rank-≤r product
    if reference.shape[0] > k:
        assert reference[k:].max() / reference[0] < 1e-6


def test_qr_route_on_rank_deficient_factors() -> None:
    # B has rank 2 although r = 6: ΔW has rank 2, the trailing values must be ~0
    generator = torch.Generator().manual_seed(3)
    B = torch.randn(50, 2, generator=generator) @ torch.randn(2, 6, generator=generator)
    A = torch.randn(6, 40, generator=generator)
    sv = lora_singular_values(A, B, 0.5)
    reference = _dense_reference(A, B, 0.5)
    assert (sv.double() - reference[:6]).abs().max() / reference[0] < 1e-4
    assert effective_rank(sv) <= 2
    assert sv[2:].max() / sv[0] < 1e-6


def test_zero_lora_b_gives_zero_spectrum() -> None:
    # peft initialises B to zero: the first spectrum event must be all zeros, rank 0
    sv = lora_singular_values(torch.randn(4, 10), torch.zeros(12, 4), 2.0)
    assert float(sv.abs().max()) == 0.0
    layer = layer_spectrum("q", sv)
    assert layer.effective_rank == 0 and layer.entropy_rank == 0.0 and layer.frobenius == 0.0


def _matrix_with_spectrum(values: list[float], d_out: int = 30, d_in: int = 20) -> torch.Tensor:
    generator = torch.Generator().manual_seed(len(values))
    u, _ = torch.linalg.qr(torch.randn(d_out, len(values), generator=generator, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(d_in, len(values), generator=generator, dtype=torch.float64))
    return (u * torch.tensor(values, dtype=torch.float64)) @ v.T


@pytest.mark.parametrize(
    ("values", "expected_rank"),
    [
        ([1.0], 1),
        ([1.0, 1.0, 1.0, 1.0], 4),  # equal values: 3 of 4 hold 75% < 90%
        ([10.0, 1.0, 1.0], 1),  # 100 / 102 > 90%
        ([3.0, 1.0, 1.0, 1.0], 3),  # energies 9, 1, 1, 1: 9/12, 10/12, 11/12
        ([2.0, 2.0, 1.0, 0.1], 3),  # 8 / 9.01 < 90% <= 9 / 9.01
        ([3.0, 1.0, 0.0, 0.0], 1),  # 9 / 10 reaches exactly 90%
    ],
)
def test_effective_rank_of_constructed_matrices(values: list[float], expected_rank: int) -> None:
    sv = dense_singular_values(_matrix_with_spectrum(values))
    assert effective_rank(sv) == expected_rank


def test_entropy_rank_known_values() -> None:
    assert entropy_rank(torch.ones(7)) == pytest.approx(7.0)
    assert entropy_rank(torch.tensor([5.0, 0.0, 0.0])) == pytest.approx(1.0)
    # p = (2/3, 1/3): exp(-(2/3 ln 2/3 + 1/3 ln 1/3))
    expected = math.exp(-(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3)))
    assert entropy_rank(torch.tensor([2.0, 1.0])) == pytest.approx(expected)
    assert entropy_rank(torch.zeros(3)) == 0.0


def test_dense_truncated_route_finds_top_values() -> None:
    values = [50.0, 20.0, 10.0, 5.0] + [0.01] * 40
    delta = _matrix_with_spectrum(values, 120, 100).float()
    state = torch.random.get_rng_state()
    top = dense_singular_values(delta, top_k=4)
    assert torch.allclose(top.double(), torch.tensor(values[:4], dtype=torch.float64), rtol=1e-3)
    assert torch.equal(torch.random.get_rng_state(), state), "the training run's RNG stream is untouched"
    assert torch.equal(dense_singular_values(delta, top_k=4), top)


def test_layer_spectrum_frobenius_and_truncation() -> None:
    sv = torch.tensor([4.0, 3.0, 0.5])
    layer = layer_spectrum("x", sv, max_values=2)
    assert layer.singular_values == [4.0, 3.0]
    assert layer.frobenius == pytest.approx(math.sqrt(16 + 9 + 0.25))
    assert layer.effective_rank == 2


def test_fewer_values_sent_never_changes_the_ranks() -> None:
    # 40 equal values: the top 8 hold 20 % of the energy; a truncated sum would call that 100 %
    delta = _matrix_with_spectrum([1.0] * 40, 60, 50).float()
    full, sent = dense_layer_spectrum("w", delta), dense_layer_spectrum("w", delta, max_values=8, rank=8)
    assert len(sent.singular_values) == 8 and sent.num_values == 50 and sent.exact  # min(60, 50)
    assert sent.effective_rank == full.effective_rank == 36  # ceil(0.9 · 40)
    assert sent.entropy_rank == pytest.approx(40.0, rel=1e-4)
    assert sent.rank_energy == pytest.approx(8 / 40, rel=1e-4)
    assert sent.frobenius == pytest.approx(math.sqrt(40), rel=1e-4)


def test_truncated_route_measures_shares_against_the_exact_norm(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.training.spectra as spectra

    values = [10.0, 5.0] + [1.0] * 38
    delta = _matrix_with_spectrum(values, 60, 50).float()
    exact = dense_layer_spectrum("w", delta, rank=2)
    monkeypatch.setattr(spectra, "EXACT_SVD_MAX", 10)  # force the randomised route
    monkeypatch.setattr(spectra, "TRUNCATED_VALUES", 4)
    approx = dense_layer_spectrum("w", delta, max_values=4, rank=2)
    assert not approx.exact and approx.num_values == 50 and len(approx.singular_values) == 4
    total = sum(v * v for v in values)
    assert approx.frobenius == pytest.approx(math.sqrt(total), rel=1e-4)  # the exact norm, not the top 4's
    assert approx.rank_energy == pytest.approx(exact.rank_energy, rel=1e-3) == pytest.approx(125 / total)
    assert approx.effective_rank == 4  # the 4 values reach 128/163 < 90 %: a lower bound, not a rank
    assert exact.effective_rank > 4


def test_rank_energy_is_the_best_rank_r_share() -> None:
    assert rank_energy([3.0, 4.0], 1) == pytest.approx(16 / 25)
    assert rank_energy([3.0, 4.0], 5) == 1.0
    assert rank_energy([0.0, 0.0], 1) == 0.0
    # Eckart–Young: no rank-1 matrix is closer than the truncated SVD
    generator = torch.Generator().manual_seed(4)
    delta = torch.randn(20, 15, generator=generator, dtype=torch.float64)
    u, sv, vh = torch.linalg.svd(delta, full_matrices=False)
    best = sv[0] * torch.outer(u[:, 0], vh[0])
    kept = 1 - float(torch.linalg.matrix_norm(delta - best) ** 2 / torch.linalg.matrix_norm(delta) ** 2)
    assert rank_energy(sv, 1) == pytest.approx(kept, rel=1e-9)


# --------------------------------------------------------------------------- peft models


def _tiny_llama() -> torch.nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
    )
    return LlamaForCausalLM(config)


def _randomise_lora(model: torch.nn.Module) -> None:
    # peft starts B at zero; give B values so ΔW is non-trivial
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name or "lora_A" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.1)


@pytest.mark.parametrize(
    ("use_rslora", "targets"),
    [(False, ["q_proj", "v_proj"]), (True, ["q_proj", "k_proj", "o_proj", "gate_proj", "down_proj"])],
)
def test_peft_helper_matches_get_delta_weight(use_rslora: bool, targets: list[str]) -> None:
    from peft import LoraConfig, get_peft_model

    rank, alpha = 4, 8
    config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=targets, use_rslora=use_rslora)
    model = get_peft_model(_tiny_llama(), config)
    _randomise_lora(model)

    factors = list(lora_factors(model))
    assert len(factors) == 2 * len(targets)  # two decoder layers
    expected_scale = alpha / math.sqrt(rank) if use_rslora else alpha / rank
    modules = dict(model.named_modules())
    spectra = {layer.name: layer for layer in lora_model_spectrum(model)}
    for name, A, B, scale in factors:
        assert scale == pytest.approx(expected_scale)
        delta = modules[name].get_delta_weight("default").detach()
        assert torch.allclose(scale * B @ A, delta, atol=1e-6)
        reference = torch.linalg.svdvals(delta.double())
        got = torch.tensor(spectra[name].singular_values, dtype=torch.float64)
        assert (got - reference[: got.shape[0]]).abs().max() / reference[0] < 1e-4
        assert spectra[name].frobenius == pytest.approx(float(torch.linalg.norm(delta)), rel=1e-4)


def test_peft_helper_reports_dora_low_rank_part() -> None:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj"], use_dora=True)
    model = get_peft_model(_tiny_llama(), config)
    _randomise_lora(model)
    (name, A, B, scale), *_ = list(lora_factors(model))
    layer = lora_model_spectrum(model)[0]
    reference = torch.linalg.svdvals(scale * B.double() @ A.double())
    assert layer.name == name
    assert torch.allclose(torch.tensor(layer.singular_values, dtype=torch.float64), reference[:4], rtol=1e-4)


def test_full_finetuning_spectrum_from_snapshot() -> None:
    model = _tiny_llama()
    names = ["model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight"]
    initial = snapshot_weights(model, names)
    params = dict(model.named_parameters())
    update = torch.outer(torch.arange(1.0, 33.0), torch.ones(32)) * 1e-3  # a rank-1 change
    with torch.no_grad():
        params[names[0]].add_(update)
    layers = {layer.name: layer for layer in dense_model_spectrum(model, initial)}
    assert layers[names[0]].effective_rank == 1
    assert layers[names[0]].frobenius == pytest.approx(float(torch.linalg.norm(update)), rel=1e-4)
    assert layers[names[1]].frobenius == 0.0
    with pytest.raises(KeyError):
        snapshot_weights(model, ["nope.weight"])


def test_full_run_spectrum_event_equals_svdvals_of_the_weight_change(tmp_path) -> None:  # noqa: ANN001
    """A real full fine-tuning run of the tiny model: each spectrum event's ranks equal those of
    torch.linalg.svdvals(W − W₀), and its modules are the LoRA targets of the same blocks."""
    from app.events import Spectrum
    from app.training.loop import TrainingRun
    from app.training.methods import DEFAULT_TARGETS
    from app.training.models import ModelCache
    from app.training.train_config import TrainConfig

    cache = ModelCache(tmp_path, device="cpu")
    config = TrainConfig(
        model="tiny-llama", task="tone", method="full", steps=3, lr=3e-3, rank=4,
        max_new_tokens=2, eval_every=100, spectrum_every=100,
    )  # fmt: skip
    run = TrainingRun(config, cache=cache)
    events = list(run.events())
    (spectrum,) = [e for e in events if isinstance(e, Spectrum)]
    start = dict(cache.get("tiny-llama").model.named_parameters())
    end = dict(run.prepared.model.named_parameters())
    assert {layer.name.split(".")[-2] for layer in spectrum.layers} == set(DEFAULT_TARGETS["causal"])
    for layer in spectrum.layers:
        delta = (end[layer.name].detach() - start[layer.name].detach()).double()
        reference = torch.linalg.svdvals(delta)
        assert layer.exact and layer.num_values == reference.shape[0]
        assert layer.effective_rank == effective_rank(reference) > 4
        assert layer.entropy_rank == pytest.approx(entropy_rank(reference), rel=1e-4)
        assert layer.rank == 4
        assert layer.rank_energy == pytest.approx(
            float((reference[:4] ** 2).sum() / (reference**2).sum()), rel=1e-4
        )
        assert layer.frobenius == pytest.approx(float(torch.linalg.matrix_norm(delta)), rel=1e-4)


# --------------------------------------------------------------------------- soft prompts


class _IdTokenizer:
    def decode(self, ids: list[int]) -> str:
        return f"t{ids[0]}"


def test_soft_prompt_geometry_nearest_tokens_and_pca() -> None:
    generator = torch.Generator().manual_seed(0)
    vocab = torch.randn(1000, 16, generator=generator)
    prompt = torch.stack([vocab[7] * 3.0, vocab[42] + 0.01 * torch.randn(16, generator=generator)])
    geometry = soft_prompt_geometry(prompt, vocab, _IdTokenizer(), vocab_points=50, fit_points=500)

    assert isinstance(geometry, SoftPromptGeometry)
    assert geometry.nearest_tokens[0][0] == "t7"  # cosine ignores the scaling by 3
    assert geometry.nearest_tokens[1][0] == "t42"
    assert geometry.norms[0] == pytest.approx(float(vocab[7].norm() * 3), rel=1e-3)
    assert len(geometry.points) == 2 and all(len(p) == 3 for p in geometry.points)
    assert len(geometry.vocab_points) == 50 and len(geometry.vocab_tokens) == 50
    # same seed, same axes: the picture does not jump between events
    again = soft_prompt_geometry(prompt, vocab, _IdTokenizer(), vocab_points=50, fit_points=500)
    assert again.points == geometry.points and again.vocab_tokens == geometry.vocab_tokens


def test_soft_prompt_geometry_projects_into_vocab_pca() -> None:
    # vocabulary spread along 3 known directions: PCA must recover their span
    generator = torch.Generator().manual_seed(1)
    basis, _ = torch.linalg.qr(torch.randn(24, 3, generator=generator))
    coords = torch.randn(800, 3, generator=generator) * torch.tensor([5.0, 3.0, 1.0])
    vocab = coords @ basis.T
    prompt = torch.tensor([[2.0, 0.0, 0.0]]) @ basis.T
    geometry = soft_prompt_geometry(prompt, vocab, _IdTokenizer(), vocab_points=10, fit_points=800)
    point = torch.tensor(geometry.points[0])
    # the projected norm equals the distance from the (near-zero) vocabulary mean
    assert float(point.norm()) == pytest.approx(float((prompt[0] - vocab.mean(0)).norm()), rel=1e-2)


def test_soft_prompt_geometry_for_prefix_vectors_without_vocab_space() -> None:
    prefix = torch.randn(5, 40)
    geometry = soft_prompt_geometry(prefix, torch.randn(100, 16), _IdTokenizer())
    assert geometry.nearest_tokens == [[]] * 5
    assert len(geometry.points) == 5 and geometry.vocab_points == []


def test_soft_prompt_geometry_vocab_frame_follows_in_place_changes() -> None:
    # the vocabulary frame is cached per embedding table; an in-place update must invalidate it
    generator = torch.Generator().manual_seed(2)
    vocab = torch.randn(400, 12, generator=generator)
    prompt = torch.randn(3, 12, generator=generator)
    before = soft_prompt_geometry(prompt, vocab, _IdTokenizer(), vocab_points=20, fit_points=400)
    with torch.no_grad():
        vocab.mul_(2.0)
    after = soft_prompt_geometry(prompt, vocab, _IdTokenizer(), vocab_points=20, fit_points=400)
    fresh = soft_prompt_geometry(prompt, vocab.clone(), _IdTokenizer(), vocab_points=20, fit_points=400)
    assert after.vocab_points == fresh.vocab_points != before.vocab_points
    assert after.vocab_points[0][0] == pytest.approx(2 * before.vocab_points[0][0], rel=1e-3, abs=1e-3)
