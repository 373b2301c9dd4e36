"""Ship a real ΔW for the LoRA explorer: re-run the recorded full fine-tuning run and save one matrix.

The run is repeated from ``recorded/full.jsonl``'s own configuration (same seed, batches and lr, one
torch thread as when it was recorded); the script checks that its last spectrum of the chosen layer
equals the recorded one before writing ``static/data/full-delta.json``: the layer's singular values
(all of them) and a 48 × 48 sample of ΔW (every 12th row and column), rounded to 5 significant digits.
    OMP_NUM_THREADS=1 python scripts/export_delta.py [STREAM.jsonl]    (default: recorded/full.jsonl)
"""

from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path

import torch

from app.config import get_settings
from app.events import Spectrum
from app.training.loop import TrainingRun
from app.training.models import ModelCache
from app.training.train_config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ROOT / "lessons" / "fine-tuning-llms" / "recorded" / "full.jsonl"
OUT = ROOT / "static" / "data" / "full-delta.json"
LAYER = "model.layers.15.self_attn.q_proj.weight"  # the middle block's query projection
SAMPLE = 48


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else RECORDED
    events = [json.loads(line) for line in source.read_text().splitlines()]
    config = TrainConfig(**next(e for e in events if e["type"] == "started")["config"])
    recorded = [e for e in events if e["type"] == "spectrum"][-1]
    recorded_layer = next(layer for layer in recorded["layers"] if layer["name"] == LAYER)
    cache = ModelCache(get_settings().model_dir, device="cpu")
    run = TrainingRun(config, cache=cache)
    spectra = [e for e in run.events() if isinstance(e, Spectrum)]
    layer = next(x for x in spectra[-1].layers if x.name == LAYER)
    if layer.effective_rank != recorded_layer["effective_rank"] or not math.isclose(
        layer.frobenius, recorded_layer["frobenius"], rel_tol=1e-3
    ):
        raise SystemExit(f"the re-run differs from the recording: {layer} vs {recorded_layer}")
    start = dict(cache.get(config.model).model.named_parameters())[LAYER].detach().float()
    end = dict(run.prepared.model.named_parameters())[LAYER].detach().float()
    delta = end - start
    step = delta.shape[0] // SAMPLE
    sample = delta[::step, ::step][:SAMPLE, :SAMPLE]
    values = torch.linalg.svdvals(delta.double())
    OUT.write_text(
        json.dumps(
            {
                "about": f"ΔW = W − W₀ of {LAYER} after the recorded full fine-tuning run "
                f"(lr {config.lr:g}, {config.steps} steps), written by scripts/export_delta.py",
                "layer": LAYER,
                "shape": list(delta.shape),
                "lr": config.lr,
                "steps": config.steps,
                "sample_every": step,
                "effective_rank": layer.effective_rank,
                "singular_values": [float(f"{v:.5g}") for v in values.tolist()],
                "sample": [[float(f"{v:.5g}") for v in row] for row in sample.tolist()],
            },
            separators=(",", ":"),
        )
        + "\n"
    )
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes); effective rank {layer.effective_rank}")


if __name__ == "__main__":
    main()
