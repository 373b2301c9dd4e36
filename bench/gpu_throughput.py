"""Tokens/s and model-FLOPs utilisation of full, lora and qlora (``bench/gpu.sh`` runs this).

Each method's model comes from ftlab's own ``prepare`` (so qlora is the real NF4 base); the steps
are plain forward/backward/AdamW on random full-length token batches (every position is a target),
timed with the GPU synchronised. FLOPs per token, N = every parameter of the base model (SmolLM2
ties its embedding to the output head, which is a real matmul), N_a = the trainable adapter
parameters; attention-score FLOPs (~12·layers·d·T per token) are left out, as in the usual 6N rule:

- full: 6·N   (forward 2N, backward 4N: gradients of activations and of weights)
- lora / qlora: 4·N + 6·N_a   (forward 2N, backward through the frozen weights for the activations
  2N, no weight gradients for them; the adapters cost 6·N_a like any trained weight)

MFU = achieved FLOPs/s ÷ the GPU's dense bf16 peak (a table of known GPUs, or PEAK_TFLOPS).

``python -m bench.gpu_throughput [--cpu-smoke] [--batch 16 --seq 512 --steps 10]``
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import torch

PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0, "4090": 165.0}


def peak_tflops() -> float | None:
    if os.environ.get("PEAK_TFLOPS"):
        return float(os.environ["PEAK_TFLOPS"])
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name(0)
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def measure(model_name: str, method: str, batch: int, seq: int, steps: int, warmup: int) -> dict[str, Any]:
    from app.config import get_settings
    from app.training.methods import resolve_config
    from app.training.models import ModelCache
    from app.training.tasks import load_builtin_task
    from app.training.train_config import TrainConfig
    from app.training.wrapping import prepare

    task = load_builtin_task("tone")
    cfg = resolve_config(
        TrainConfig(model=model_name, method=method, steps=steps, batch_size=batch, seq_len=seq)
    )
    cache = ModelCache(get_settings().model_dir)
    p = prepare(cfg, task, cache, lambda stage, fraction: None)
    model, device = p.model, p.device
    params = [x for x in model.parameters() if x.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5)
    vocab = model.get_input_embeddings().weight.shape[0]
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, vocab, (batch, seq), generator=generator).to(device)
    model.train()

    def step() -> None:
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    for _ in range(warmup):
        step()
    sync()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    seconds = time.perf_counter() - start
    total, trainable = p.counts.total_params, p.counts.trainable_params
    base_n = total - (trainable if method != "full" else 0)
    per_token = 6 * base_n if method == "full" else 4 * base_n + 6 * trainable
    tokens_per_s = batch * seq * steps / seconds
    peak = peak_tflops()
    achieved = per_token * tokens_per_s
    return {
        "method": method,
        "model": model_name,
        "device": device,
        "dtype": str(next(model.parameters()).dtype),
        "batch": batch,
        "seq": seq,
        "steps": steps,
        "seconds": seconds,
        "tokens_per_s": tokens_per_s,
        "n_params": base_n,
        "n_trainable": trainable,
        "flops_per_token": per_token,
        "achieved_tflops": achieved / 1e12,
        "peak_tflops": peak,
        "mfu": achieved / (peak * 1e12) if peak else None,
        "peak_memory_bytes": int(torch.cuda.max_memory_allocated()) if device == "cuda" else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny-llama, tiny batch, on the CPU")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq", type=int, default=512)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.cpu_smoke:
        model, batch, seq, steps, warmup = "tiny-llama", 2, 32, 2, 1
    else:
        model, batch, seq, steps, warmup = "smollm2-135m", args.batch, args.seq, args.steps, 3
    rows = []
    for method in ("full", "lora", "qlora"):
        try:
            rows.append(measure(model, method, batch, seq, steps, warmup))
        except Exception as exc:  # e.g. bitsandbytes without its kernels here: say so, go on
            rows.append({"method": method, "error": f"{type(exc).__name__}: {exc}"})
        row = rows[-1]
        if "error" in row:
            print(f"{method:6} ERROR {row['error']}")
        else:
            mfu = f"{100 * row['mfu']:.1f}%" if row["mfu"] is not None else "n/a (no known peak)"
            print(
                f"{method:6} {row['device']} {row['dtype']:15} {row['tokens_per_s']:12,.0f} tok/s  "
                f"{row['achieved_tflops']:8.2f} TFLOP/s  MFU {mfu}"
            )
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"rows": rows, "cpu_smoke": args.cpu_smoke}, f, indent=2)


if __name__ == "__main__":
    main()
