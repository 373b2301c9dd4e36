"""2. Spectra: the QR route (``lora_singular_values``) against ``torch.linalg.svdvals`` of the dense
(α/r)·B·A, and the whole spectrum event of a LoRA model on every linear layer.

Factors are random (A ~ N(0, 1/d), B ~ N(0, 0.01²)), float32, on the CPU. The dense route's time
includes forming the d×d product. Difference: max over i of |σ_i(QR) − σ_i(dense)| / σ_i(dense).
For the whole model, the dense route is timed on one module of each distinct shape and extrapolated
to the model's module count (forming ~210 dense matrices and decomposing each would take minutes).
"""

from __future__ import annotations

import time
from typing import Any

import torch

from bench.common import median, print_table, print_targets, target, timed, write_result

ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
TARGET_SPEEDUP, TARGET_DIFF, TARGET_EVENT_MS = 1000.0, 1e-4, 50.0


def _factors(d: int, r: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(r, d, generator=g) / d**0.5  # (r, d_in)
    B = torch.randn(d, r, generator=g) * 0.01  # (d_out, r)
    return A, B


def _dense(A: torch.Tensor, B: torch.Tensor, scale: float) -> torch.Tensor:
    return torch.linalg.svdvals(scale * (B @ A))  # (d, d) formed: the route the QR one avoids


def compare(d: int, r: int, qr_repeats: int, dense_repeats: int, alpha: float = 16.0) -> dict[str, Any]:
    from app.training.spectra import lora_singular_values

    A, B = _factors(d, r)
    scale = alpha / r
    qr_times, dense_times = [], []
    qr_sv = dense_sv = None
    for index in range(max(qr_repeats, dense_repeats)):  # alternate the two routes
        if index < dense_repeats:
            seconds, dense_sv = timed(lambda: _dense(A, B, scale))
            dense_times.append(seconds)
        for _ in range(max(1, qr_repeats // max(1, dense_repeats)) if index < dense_repeats else 1):
            seconds, qr_sv = timed(lambda: lora_singular_values(A, B, scale))
            qr_times.append(seconds)
    assert qr_sv is not None and dense_sv is not None
    k = qr_sv.numel()
    truth = dense_sv[:k].double()
    diff = float(((qr_sv.double() - truth).abs() / truth).max())
    qr_ms, dense_ms = 1000 * median(qr_times), 1000 * median(dense_times)
    return {
        "d": d,
        "r": r,
        "qr_ms": qr_ms,
        "dense_ms": dense_ms,
        "speedup": dense_ms / qr_ms,
        "max_rel_diff": diff,
        "qr_repeats": len(qr_times),
        "dense_repeats": len(dense_times),
    }


def whole_model(name: str, rank: int, repeats: int) -> dict[str, Any]:
    """The spectrum event of a LoRA model on every linear layer (random B so ΔW ≠ 0)."""
    from peft import LoraConfig, get_peft_model

    from app.config import get_settings
    from app.events import Spectrum
    from app.training.models import ModelCache
    from app.training.spectra import dense_singular_values, lora_factors, lora_model_spectrum

    model = ModelCache(get_settings().model_dir, "cpu").get(name).model
    model = get_peft_model(model, LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=ALL_LINEAR))
    torch.manual_seed(0)
    with torch.no_grad():
        for _, _, B, _ in lora_factors(model):
            B.normal_(0, 0.01)

    def event() -> str:
        start = time.perf_counter()
        spectrum = Spectrum(step=1, layers=lora_model_spectrum(model, max_values=64))
        spectrum.compute_ms = 1000 * (time.perf_counter() - start)
        return spectrum.model_dump_json()

    first_s, _ = timed(event)  # the first call also walks the module tree once (cached per model)
    times, sizes = [], []
    for _ in range(repeats):
        seconds, data = timed(event)
        times.append(seconds)
        sizes.append(len(data))
    compute_s = [timed(lambda: lora_model_spectrum(model, max_values=64))[0] for _ in range(repeats)]
    # dense route: one module per distinct shape, timed, extrapolated by how many share that shape
    shapes: dict[tuple[int, int], list[Any]] = {}
    for _, A, B, scale in lora_factors(model):
        shapes.setdefault((B.shape[0], A.shape[1]), []).append((A, B, scale))
    dense_total, dense_rows = 0.0, []
    for (d_out, d_in), members in shapes.items():
        A, B, scale = members[0]
        seconds, _ = timed(
            lambda A=A, B=B, scale=scale: dense_singular_values(scale * (B.detach() @ A.detach()))
        )
        dense_total += seconds * len(members)
        dense_rows.append({"shape": [d_out, d_in], "modules": len(members), "dense_ms_each": 1000 * seconds})
    modules = sum(len(m) for m in shapes.values())
    return {
        "model": name,
        "rank": rank,
        "modules": modules,
        "event_ms": 1000 * median(times),
        "event_first_ms": 1000 * first_s,
        "compute_ms": 1000 * median(compute_s),
        "event_bytes": median(sizes),
        "dense_extrapolated_ms": 1000 * dense_total,
        "dense_speedup": dense_total / median(times),
        "dense_by_shape": dense_rows,
        "repeats": repeats,
    }


def run(quick: bool = False) -> dict[str, Any]:
    dims, ranks = ([256, 576], [4]) if quick else ([576, 1024, 4096], [4, 16, 64])
    rows = []
    for d in dims:
        for r in ranks:
            dense_repeats = 1 if d >= 4096 or quick else 3
            rows.append(compare(d, r, qr_repeats=9, dense_repeats=dense_repeats))
    print_table(
        "spectra: QR route vs dense svdvals of (α/r)·B·A (float32, CPU)",
        ["d", "r", "QR ms", "dense ms", "speed-up", "max rel diff"],
        [[x["d"], x["r"], x["qr_ms"], x["dense_ms"], x["speedup"], x["max_rel_diff"]] for x in rows],
    )
    model_name = "tiny-llama" if quick else "smollm2-135m"
    model = whole_model(model_name, rank=8, repeats=3 if quick else 9)
    print_table(
        f"spectra: whole spectrum event, {model_name} LoRA r=8 on every linear layer",
        [
            "modules",
            "event ms",
            "first event ms",
            "compute ms",
            "event KB",
            "dense ms (extrapolated)",
            "speed-up",
        ],
        [
            [
                model["modules"],
                model["event_ms"],
                model["event_first_ms"],
                model["compute_ms"],
                model["event_bytes"] / 1000,
                model["dense_extrapolated_ms"],
                model["dense_speedup"],
            ]
        ],
    )
    targets = []
    key = next((x for x in rows if x["d"] == 4096 and x["r"] == 16), None)
    if key:
        targets.append(target("d=4096 r=16 speed-up", key["speedup"], TARGET_SPEEDUP, ">=", "x"))
        targets.append(target("d=4096 r=16 max rel diff", key["max_rel_diff"], TARGET_DIFF))
    targets.append(target("worst max rel diff (all d, r)", max(x["max_rel_diff"] for x in rows), TARGET_DIFF))
    if model_name == "smollm2-135m":
        targets.append(target("smollm2 spectrum event", model["event_ms"], TARGET_EVENT_MS, unit=" ms"))
    print_targets(targets)
    return write_result("spectra", quick, {"rows": rows, "whole_model": model, "targets": targets})
