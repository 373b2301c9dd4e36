"""The calculator's shared cases: inputs and the Python answers, for the JavaScript mirror to match.

``python -m tests.utils.calculator_cases`` rewrites ``tests/fixtures/calculator_cases.json``;
``tests/lesson/test_calculators.py`` fails when the file and the calculator disagree. Memory inputs and
outputs use the JavaScript names of ``static/js/memory-math.js`` (``memory({model, precision, method,
rank, seqLen, batch, virtualTokens, checkpointing, optimizer, gpus})``), so the node test can feed them
in unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.lesson import calculators as calc

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "calculator_cases.json"
JS_NAMES = {"trainable_pct": "trainablePct"}

MEMORY_INPUTS: list[dict[str, Any]] = [
    {"model": "7", "precision": "fp32", "method": "full"},
    {"model": "7", "precision": "bf16", "method": "full"},
    {"model": "7", "precision": "bf16", "method": "lora", "rank": 16},
    {"model": "7", "precision": "fp32", "method": "lora", "rank": 8},
    {"model": "7", "precision": "bf16", "method": "qlora", "rank": 16},
    {"model": "7", "precision": "bf16", "method": "prompt", "virtualTokens": 20},
    {"model": "7", "precision": "bf16", "method": "prefix", "virtualTokens": 30},
    {"model": "70", "precision": "4bit", "method": "qlora", "rank": 16},
    {"model": "70", "precision": "bf16", "method": "full", "seqLen": 2048, "batch": 4},
    {"model": "13", "precision": "bf16", "method": "lora", "rank": 64, "seqLen": 1024},
    {"model": "1", "precision": "fp32", "method": "full", "seqLen": 256, "batch": 8},
    {"model": "0.135", "precision": "fp32", "method": "lora", "rank": 16},
    {"model": "0.135", "precision": "fp32", "method": "prompt", "virtualTokens": 20},
    {"model": "0.135", "precision": "fp32", "method": "prefix", "virtualTokens": 20},
    {"model": "0.135", "precision": "bf16", "method": "full", "seqLen": 128, "batch": 16},
    {"model": "65", "precision": "4bit", "method": "qlora", "rank": 16},
    {"model": "65", "precision": "4bit", "method": "qlora", "rank": 16, "checkpointing": True},
    {
        "model": "65",
        "precision": "4bit",
        "method": "qlora",
        "rank": 64,
        "checkpointing": True,
        "optimizer": "paged_adamw8bit",
    },
    {"model": "7", "precision": "bf16", "method": "full", "optimizer": "adamw8bit"},
    {"model": "70", "precision": "bf16", "method": "full", "checkpointing": True, "gpus": 8},
    {"model": "13", "precision": "fp32", "method": "lora", "checkpointing": True, "gpus": 2, "batch": 4},
]
ERROR_INPUTS: list[dict[str, Any]] = [
    {"model": "7", "precision": "4bit", "method": "full"},
    {"model": "7", "precision": "fp8", "method": "lora"},
    {"model": "7", "precision": "bf16", "method": "lora", "rank": 0},
    {"model": "3", "precision": "bf16", "method": "lora"},
    {"model": "7", "precision": "bf16", "method": "adapter"},
    {"model": "7", "precision": "bf16", "method": "lora", "optimizer": "sgd"},
    {"model": "7", "precision": "bf16", "method": "full", "gpus": 0},
]
LORA_INPUTS = [(4096, 4096, 16), (4096, 4096, 8), (576, 576, 16), (192, 576, 16), (8192, 1024, 64), (1, 1, 1)]


def memory_case(spec: dict[str, Any]) -> dict[str, Any]:
    est = calc.training_memory(
        calc.preset(spec["model"]),
        spec["precision"],
        spec["method"],
        rank=spec.get("rank", 16),
        seq_len=spec.get("seqLen", 512),
        batch=spec.get("batch", 1),
        virtual_tokens=spec.get("virtualTokens", 20),
        checkpointing=spec.get("checkpointing", False),
        optimizer=spec.get("optimizer", "adamw"),
        gpus=spec.get("gpus", 1),
    )
    return {JS_NAMES.get(k, k): v for k, v in est.as_dict().items()}


def error_case(spec: dict[str, Any]) -> str:
    try:
        memory_case(spec)
    except calc.CalculatorError as exc:
        return str(exc)
    raise AssertionError(f"{spec} should be refused")


def build_cases() -> dict[str, Any]:
    return {
        "about": (
            "Inputs and answers of app/lesson/calculators.py (decimal bytes). Regenerate with "
            "`python -m tests.utils.calculator_cases`; conventions are in the module's docstring."
        ),
        "defaults": {
            "rank": 16,
            "seqLen": 512,
            "batch": 1,
            "virtualTokens": 20,
            "checkpointing": False,
            "optimizer": "adamw",
            "gpus": 1,
        },  # fmt: skip
        "presets": {
            key: {
                "label": m.label,
                "params": m.params,
                "d": m.d_model,
                "layers": m.layers,
                "heads": m.heads,
                "kvDim": m.kv_dim,
            }
            for key, m in calc.PRESETS.items()
        },
        "bytesPerParam": {p: calc.bytes_per_param(p) for p in calc.PRECISIONS},
        "nf4": [
            {"input": {"blockSize": b, "doubleQuant": dq}, "bitsPerParam": calc.nf4_bits_per_param(b, dq)}
            for b, dq in ((64, True), (64, False), (128, True))
        ],
        "lora": [
            {
                "input": {"dOut": o, "dIn": i, "rank": r},
                "full": calc.dense_params(o, i),
                "lora": calc.lora_params(o, i, r),
            }
            for o, i, r in LORA_INPUTS
        ],
        "memory": [{"input": spec, "output": memory_case(spec)} for spec in MEMORY_INPUTS],
        "errors": [{"input": spec, "error": error_case(spec)} for spec in ERROR_INPUTS],
    }


def write() -> None:
    FIXTURE.write_text(json.dumps(build_cases(), indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write()
