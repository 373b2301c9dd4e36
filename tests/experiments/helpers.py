"""Helpers of the experiment tests: a small tiny-llama experiment and waiting for its result."""

from __future__ import annotations

import time
from typing import Any

import httpx

TINY_FIXED: dict[str, Any] = {
    "model": "tiny-llama",
    "method": "lora",
    "task": "tone",
    "batch_size": 2,
    "max_new_tokens": 4,
}
TINY_EXPERIMENT: dict[str, Any] = {
    "variable": "rank",
    "values": [2, 4],
    "fixed": TINY_FIXED,
    "measures": ["eval_loss", "effective_rank", "trainable_params", "wall_s"],
    "budget_s": 3600,  # ample: on a loaded machine the calibrated overhead is ~100 s a run
}


def create(
    client: httpx.Client, code: str, body: dict[str, Any] | None = None, timeout: float = 300
) -> dict[str, Any]:
    """POST the experiment (its first use of a model/method waits for a calibration run)."""
    response = client.post(f"/api/classes/{code}/experiments", json=body or TINY_EXPERIMENT, timeout=timeout)
    assert response.status_code == 201, response.text
    return response.json()


def wait_complete(
    client: httpx.Client, code: str, experiment_id: str, timeout: float = 300
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/classes/{code}/experiments/{experiment_id}/results").json()
        if body["state"] == "complete":
            return body
        time.sleep(0.3)
    raise AssertionError(f"experiment {experiment_id} did not complete: {body}")
