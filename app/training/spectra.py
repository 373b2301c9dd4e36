"""Singular values of ΔW, effective ranks, and soft-prompt geometry.

LoRA adds ΔW = s·B·A with B (d_out × r), A (r × d_in) and s = α/r (α/√r with rsLoRA).
The d_out × d_in product is never formed:

1. QR(B)  = Q_B R_B   (Q_B: d_out × k_B orthonormal columns, R_B: k_B × r)
2. QR(Aᵀ) = Q_A R_A   (Q_A: d_in × k_A, R_A: k_A × r)
3. ΔW = Q_B (s·R_B R_Aᵀ) Q_Aᵀ, and orthonormal factors keep singular values,
   so σ(ΔW) = σ(s·R_B R_Aᵀ), a k_B × k_A matrix with k ≤ r.   Cost O(d r²).

Full fine-tuning has no factors: ΔW = W − W₀ goes through ``torch.linalg.svdvals``, all values,
whatever number is sent (a randomised truncated SVD only past ``EXACT_SVD_MAX``, its shares still
taken of the exact ‖ΔW‖²_F).
"""

from __future__ import annotations

import math
import weakref
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from app.events import LayerSpectrum, SoftPromptGeometry

ENERGY = 0.9  # effective rank: singular values holding this share of ||ΔW||_F^2
EXACT_SVD_MAX = 4096  # dense ΔW with min(d_out, d_in) up to this gets every singular value
TRUNCATED_VALUES = 256  # leading values a randomised SVD finds for larger matrices
VOCAB_POINTS = 300  # vocabulary points sent with soft-prompt geometry
PCA_FIT_POINTS = 4096  # vocabulary rows the 3D PCA is fitted on
NEAREST_TOKENS = 5


# --------------------------------------------------------------------------- singular values


def lora_singular_values(A: Tensor, B: Tensor, scale: float) -> Tensor:
    """σ(scale·B·A), descending, min(r, d_out, d_in) values; A: (r, d_in), B: (d_out, r)."""
    return lora_singular_values_batched(A.unsqueeze(0), B.unsqueeze(0), torch.tensor([scale]))[0]


def lora_singular_values_batched(A: Tensor, B: Tensor, scale: Tensor) -> Tensor:
    """Batched QR route: A (n, r, d_in), B (n, d_out, r), scale (n,) → (n, k) descending."""
    # QR in float32 (bf16/fp16 factors are upcast): twice as fast as float64 and accurate to ~1e-6
    # of σ_max; the tiny r × r core is then solved in float64.
    r_b = torch.linalg.qr(B.detach().float(), mode="r").R  # (n, k_B, r)
    r_a = torch.linalg.qr(A.detach().float().transpose(-1, -2), mode="r").R  # (n, k_A, r)
    core = r_b.double() @ r_a.double().transpose(-1, -2)  # (n, k_B, k_A)
    core = core * scale.to(torch.float64).view(-1, 1, 1)
    return torch.linalg.svdvals(core).to(torch.float32)


def dense_singular_values(delta: Tensor, top_k: int | None = None, niter: int = 4) -> Tensor:
    """σ(ΔW) descending. With ``top_k`` smaller than the matrix, a randomised truncated SVD
    (``torch.svd_lowrank``) gives the leading ``top_k`` values at O(d² k) instead of O(d³): only
    for matrices too large for the exact route (see ``dense_layer_spectrum``)."""
    delta = _as_matrix(delta)
    full = min(delta.shape)
    if top_k is None or top_k >= full // 2:
        sv = torch.linalg.svdvals(delta)
        return sv if top_k is None else sv[:top_k]
    # svd_lowrank draws from the global RNG: fork it so the training run's random stream (dropout,
    # batch order) is untouched and the estimate itself is reproducible.
    # Oversampling by 10 columns is the usual choice for a good top-k estimate.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        _, sv, _ = torch.svd_lowrank(delta, q=min(full, top_k + 10), niter=niter)
    return sv[:top_k]


def _as_matrix(delta: Tensor) -> Tensor:
    delta = delta.detach().to(torch.float32)
    return delta if delta.dim() == 2 else delta.reshape(delta.shape[0], -1)


def dense_layer_spectrum(
    name: str, delta: Tensor, max_values: int | None = None, rank: int | None = None
) -> LayerSpectrum:
    """One dense ΔW's event payload, ranks on the exact spectrum.

    Up to ``EXACT_SVD_MAX`` (SmolLM2's 576 × 1536 takes milliseconds) every singular value is
    computed; ``max_values`` only limits the list *sent*. Larger matrices get the leading values of a
    randomised SVD, and every share is still taken of the exact ‖ΔW‖²_F (the sum of squared
    entries): an effective rank the leading values do not reach is reported as a lower bound."""
    matrix = _as_matrix(delta)
    total = float(torch.linalg.matrix_norm(matrix.double()) ** 2)
    count = min(matrix.shape)
    if count <= EXACT_SVD_MAX:
        return layer_spectrum(name, torch.linalg.svdvals(matrix), max_values, rank=rank)
    wanted = max(max_values or 0, rank or 0, TRUNCATED_VALUES)
    sv = dense_singular_values(matrix, top_k=wanted)
    return layer_spectrum(name, sv, max_values, rank=rank, total_energy=total, num_values=count)


# --------------------------------------------------------------------------- ranks


def _values(sv: Tensor | Sequence[float]) -> list[float]:
    """Descending absolute values as Python floats: for the few values per layer, plain Python
    beats a dozen tiny torch ops (the whole-model spectrum runs 210 of these per event)."""
    values = sv.detach().double().abs().tolist() if isinstance(sv, Tensor) else [abs(float(v)) for v in sv]
    return sorted(values, reverse=True)


def effective_rank(
    sv: Tensor | Sequence[float], energy: float = ENERGY, total_energy: float | None = None
) -> int:
    """Smallest number of leading singular values whose squares hold ``energy`` of ‖ΔW‖²_F.

    ``total_energy`` is the exact ‖ΔW‖²_F when ``sv`` holds only the leading values; if they do not
    reach the share, the answer is ``len(sv)``, a lower bound (never a share of a truncated sum)."""
    power = [v * v for v in _values(sv)]
    total = math.fsum(power) if total_energy is None else total_energy
    if total <= 0.0:
        return 0
    # float32 singular values carry ~1e-7 relative error: a share within 1e-6 of the target counts
    target = (energy - 1e-6) * total
    running = 0.0
    for count, p in enumerate(power, start=1):
        running += p
        if running >= target:
            return count
    return len(power)


def rank_energy(sv: Tensor | Sequence[float], rank: int, total_energy: float | None = None) -> float:
    """Share of ‖ΔW‖²_F kept by the best rank-``rank`` approximation: Σ_{i≤r} σ_i² / Σ σ_i²
    (Eckart–Young: truncating the SVD is the best rank-r approximation in Frobenius norm)."""
    power = [v * v for v in _values(sv)]
    total = math.fsum(power) if total_energy is None else total_energy
    return min(1.0, math.fsum(power[:rank]) / total) if total > 0.0 else 0.0


def entropy_rank(sv: Tensor | Sequence[float]) -> float:
    """Entropy effective rank (Roy & Vetterli, 2007): exp(H(p)) with p_i = σ_i / Σσ_j.

    The normalisation is over the singular values themselves (L1), not their squares;
    a matrix with k equal non-zero singular values scores exactly k, a zero matrix 0.
    """
    values = _values(sv)
    total = math.fsum(values)
    if total <= 0.0:
        return 0.0
    return math.exp(-math.fsum(p * math.log(p) for v in values if (p := v / total) > 0.0))


def layer_spectrum(
    name: str,
    sv: Tensor | Sequence[float],
    max_values: int | None = None,
    rank: int | None = None,
    total_energy: float | None = None,
    num_values: int | None = None,
) -> LayerSpectrum:
    """One layer's event payload; ranks, norm and the rank-``rank`` share use every value given
    (or the exact ``total_energy`` when ``sv`` is only the leading part), the list keeps ``max_values``."""
    values = _values(sv)
    shown = values if max_values is None else values[:max_values]
    exact = total_energy is None
    total = math.fsum(v * v for v in values) if exact else total_energy
    return LayerSpectrum(
        name=name,
        singular_values=[round(v, 6) for v in shown],
        effective_rank=effective_rank(values, total_energy=total),
        entropy_rank=entropy_rank(values),
        frobenius=math.sqrt(total),
        num_values=len(values) if num_values is None else num_values,
        exact=exact,
        rank=rank,
        rank_energy=None if rank is None else rank_energy(values, rank, total),
    )


# --------------------------------------------------------------------------- peft LoRA models


def lora_factors(model: nn.Module, adapter: str | None = None) -> Iterator[tuple[str, Tensor, Tensor, float]]:
    """Yield ``(module name, A, B, scale)`` for every LoRA-wrapped module of a peft model.

    A is (r, d_in) and B is (d_out, r) so that ΔW = scale·B·A in the base weight's layout (up to a
    transpose for fan-in-fan-out and embedding layers, which leaves singular values unchanged).
    ``scale`` is peft's ``scaling[adapter]``: α/r, or α/√r with rsLoRA.
    DoRA: the yielded factors give the low-rank *direction* update s·B·A; DoRA also rescales each
    output row by magnitude/‖W₀ + s·B·A‖, so its merged ΔW is not exactly s·B·A. We report the
    low-rank part, the one whose rank is bounded by r.
    """
    for name, module in _lora_modules(model):
        names = [adapter] if adapter else list(module.active_adapters)
        for key in names:
            factors = _module_factors(module, key)
            if factors is not None:
                yield (name, *factors, float(module.scaling[key]))


# model → its LoRA layers; walking ~2,500 modules costs more than the spectra, and a run's
# module tree does not change between spectrum events
_LORA_MODULES: weakref.WeakKeyDictionary[nn.Module, list[tuple[str, nn.Module]]] = weakref.WeakKeyDictionary()


def _lora_modules(model: nn.Module) -> list[tuple[str, Any]]:
    from peft.tuners.lora import LoraLayer

    if model not in _LORA_MODULES:
        _LORA_MODULES[model] = [(n, m) for n, m in model.named_modules() if isinstance(m, LoraLayer)]
    return _LORA_MODULES[model]


def _module_factors(module: Any, key: str) -> tuple[Tensor, Tensor] | None:
    if key in getattr(module, "lora_A", {}):
        return module.lora_A[key].weight, module.lora_B[key].weight
    if key in getattr(module, "lora_embedding_A", {}):
        # embedding LoRA stores A as (r, num_embeddings) and B as (d, r)
        return module.lora_embedding_A[key], module.lora_embedding_B[key]
    return None


def lora_model_spectrum(
    model: nn.Module, adapter: str | None = None, max_values: int | None = None
) -> list[LayerSpectrum]:
    """Spectra of every LoRA module; modules with equal shapes share one batched QR + SVD."""
    items = [
        (name, A, B, scale)
        for name, A, B, scale in lora_factors(model, adapter)
        if A.dim() == 2 and B.dim() == 2  # conv LoRA is out of scope
    ]
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for index, (_, A, B, _) in enumerate(items):
        groups[(tuple(A.shape), tuple(B.shape))].append(index)
    values: dict[int, Tensor] = {}
    for indices in groups.values():
        A = torch.stack([items[i][1].detach().float().cpu() for i in indices])
        B = torch.stack([items[i][2].detach().float().cpu() for i in indices])
        scale = torch.tensor([items[i][3] for i in indices])
        for i, sv in zip(indices, lora_singular_values_batched(A, B, scale), strict=True):
            values[i] = sv
    # r of each module is the row count of its A; the best rank-r share of LoRA's ΔW is 1 by construction
    return [
        layer_spectrum(
            items[i][0], values[i], max_values, rank=items[i][1].shape[0], num_values=_dims(items[i])
        )
        for i in range(len(items))
    ]


def _dims(item: tuple[str, Tensor, Tensor, float]) -> int:
    """min(d_out, d_in) of a LoRA module's ΔW: the length of its full spectrum (all but r values are 0)."""
    return min(item[1].shape[1], item[2].shape[0])


def snapshot_weights(model: nn.Module, names: Sequence[str]) -> dict[str, Tensor]:
    """Copies of W₀ for the named parameters (full fine-tuning keeps only the layers shown)."""
    params = dict(model.named_parameters())
    missing = [n for n in names if n not in params]
    if missing:
        raise KeyError(f"no parameter named {missing[0]!r}")
    return {n: params[n].detach().float().cpu().clone() for n in names}


def dense_model_spectrum(
    model: nn.Module, initial: Mapping[str, Tensor], max_values: int | None = None, rank: int | None = None
) -> list[LayerSpectrum]:
    """Exact spectra of ΔW = W − W₀ for every parameter snapshotted in ``initial`` (``max_values``
    limits the values sent, ``rank`` adds the best rank-r share: r = the LoRA rank compared with)."""
    params = dict(model.named_parameters())
    return [
        dense_layer_spectrum(name, params[name].detach().float().cpu() - w0, max_values, rank)
        for name, w0 in initial.items()
    ]


# --------------------------------------------------------------------------- soft prompts


def soft_prompt_geometry(
    prompt_embeddings: Tensor,
    token_embeddings: Tensor,
    tokenizer: Any,
    vocab_points: int = VOCAB_POINTS,
    fit_points: int = PCA_FIT_POINTS,
    nearest: int = NEAREST_TOKENS,
    seed: int = 0,
) -> SoftPromptGeometry:
    """Where the k virtual tokens sit relative to the vocabulary.

    ``prompt_embeddings`` (k, d), ``token_embeddings`` (V, d). Norms are L2; nearest tokens by cosine
    similarity over the whole vocabulary; a 3D PCA is fitted on a seeded sample of ``fit_points`` token
    embeddings and both a ``vocab_points`` subsample and the soft prompt are projected into it. The same
    seed gives the same sample and axes every call, so successive events can be animated.
    When d differs from the embedding width (prefix tuning's per-layer key/values), there is no
    vocabulary to compare with: nearest tokens are empty and the PCA is fitted on the prompt itself.
    """
    prompt = prompt_embeddings.detach().float().cpu()
    vocab = token_embeddings.detach().float().cpu()
    norms = [round(float(n), 4) for n in prompt.norm(dim=1)]
    if prompt.shape[1] != vocab.shape[1]:
        axes, mean = _pca_axes(prompt)
        points = _project(prompt, axes, mean)
        return SoftPromptGeometry(norms=norms, nearest_tokens=[[] for _ in norms], points=points)

    frame = _vocab_frame(token_embeddings, vocab, tokenizer, vocab_points, fit_points, seed)
    return SoftPromptGeometry(
        norms=norms,
        nearest_tokens=_nearest_tokens(prompt, vocab, frame.norms, tokenizer, nearest),
        points=_project(prompt, frame.axes, frame.mean),
        vocab_points=frame.points,
        vocab_tokens=frame.tokens,
    )


@dataclass(frozen=True)
class _VocabFrame:
    key: tuple[Any, ...]
    axes: Tensor  # (d, 3)
    mean: Tensor  # (d,)
    norms: Tensor  # (V,)
    points: list[list[float]]
    tokens: list[str]


_last_frame: list[_VocabFrame] = []  # one entry: the embedding table of the run in progress


def _vocab_frame(
    source: Tensor, vocab: Tensor, tokenizer: Any, vocab_points: int, fit_points: int, seed: int
) -> _VocabFrame:
    """PCA axes, norms and sampled points of the vocabulary. Prompt and prefix tuning freeze the
    embedding table, so these are computed once per run (keyed on the tensor's storage, its version
    counter, which in-place updates bump, and a row checksum) instead of on every spectrum event."""
    # storage address and version alone could match a new table allocated where a freed one was:
    # a checksum of ~64 spread-out rows makes a stale hit practically impossible, at ~0.1 ms
    checksum = float(vocab[:: max(1, vocab.shape[0] // 64)].double().sum())
    key = (source.data_ptr(), tuple(source.shape), source._version, checksum, vocab_points, fit_points, seed)
    if _last_frame and _last_frame[0].key == key:
        return _last_frame[0]
    order = torch.randperm(vocab.shape[0], generator=torch.Generator().manual_seed(seed))
    axes, mean = _pca_axes(vocab[order[:fit_points]])
    shown = order[:vocab_points]
    frame = _VocabFrame(
        key=key,
        axes=axes,
        mean=mean,
        norms=torch.linalg.vector_norm(vocab, dim=1).clamp_min(1e-12),
        points=_project(vocab[shown], axes, mean),
        tokens=[_token_text(tokenizer, int(i)) for i in shown],
    )
    _last_frame[:] = [frame]
    return frame


def _nearest_tokens(
    prompt: Tensor, vocab: Tensor, vocab_norms: Tensor, tokenizer: Any, k: int
) -> list[list[str]]:
    # cosine = dot / (|p| |v|); dividing the (k, V) dots is cheaper than normalising the (V, d) table
    # (V, d) @ (d, k) runs ~2x faster on CPU than (k, d) @ (d, V) with a transposed view
    sims = (vocab @ nn.functional.normalize(prompt, dim=1).T).T / vocab_norms  # (k, V)
    top = sims.topk(min(k, vocab.shape[0]), dim=1).indices
    return [[_token_text(tokenizer, int(i)) for i in row] for row in top]


def _token_text(tokenizer: Any, token_id: int) -> str:
    return tokenizer.decode([token_id]) if tokenizer is not None else str(token_id)


def _pca_axes(x: Tensor) -> tuple[Tensor, Tensor]:
    """Top-3 principal axes (d, 3) and the mean, from the eigenvectors of the d × d covariance
    (4× faster than an SVD of the n × d sample). SVD/eigen signs are arbitrary and the picture must
    not flip between events: each axis is turned so its largest-magnitude coordinate is positive."""
    mean = x.mean(dim=0)
    centred = x - mean
    if centred.shape[0] < centred.shape[1]:
        # few wide rows (prefix tuning: 8 × 11,520): a d × d eigenproblem would take minutes; the
        # thin SVD of the sample gives the same axes at O(n² d)
        _, _, vh = torch.linalg.svd(centred.double(), full_matrices=False)  # vh: (n, d), descending
        axes = vh[:3].T.float()  # (d, ≤3), largest variance first
    else:
        _, vectors = torch.linalg.eigh((centred.T @ centred).double())  # ascending eigenvalues
        axes = vectors[:, -3:].flip(1).float()  # (d, ≤3), largest variance first
    signs = torch.sign(axes.gather(0, axes.abs().argmax(dim=0, keepdim=True)))
    axes = axes * torch.where(signs == 0, torch.ones_like(signs), signs)
    if axes.shape[1] < 3:  # fewer than 3 dimensions: pad with zero axes
        axes = torch.cat([axes, axes.new_zeros(axes.shape[0], 3 - axes.shape[1])], dim=1)
    return axes, mean


def _project(x: Tensor, axes: Tensor, mean: Tensor) -> list[list[float]]:
    coords = (x - mean) @ axes  # (n, 3)
    return [[round(v, 4) for v in row] for row in coords.tolist()]
