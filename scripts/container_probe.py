"""Drives a running ftlab server for scripts/container_check.sh, from the host or from inside the
container (standard library plus ``websockets``, which the image has through uvicorn[standard]).

  container_probe.py train  BASE OUT_DIR     a tiny-llama and a short SmolLM2 LoRA job to `done`, each
                                             streamed over the websocket (seq exact, equal to the stored
                                             events); the SmolLM2 adapter zip saved; OUT_DIR/jobs.json
  container_probe.py peft   OUT_DIR          (host) loads the saved adapter with plain peft on SmolLM2
  container_probe.py verify BASE JOBS_JSON   every saved job still `done` with the same events; one more
                                             tiny-llama job and a SmolLM2 generation (run offline)
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

TINY = {"model": "tiny-llama", "method": "lora", "task": "tone", "steps": 4, "batch_size": 2, "seq_len": 32}
SMOLLM2 = {
    "model": "smollm2-135m", "method": "lora", "task": "tone", "steps": 2, "batch_size": 1,
    "seq_len": 32, "eval_every": 2, "max_new_tokens": 2,
}  # fmt: skip
TERMINAL = {"done", "failed", "cancelled"}


def call(base: str, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 600) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        raw = response.read()
    return json.loads(raw) if response.headers.get_content_type() == "application/json" else raw


def stream(base: str, job_id: str, timeout: float = 900) -> list[dict[str, Any]]:
    """The job's events over the websocket, from seq 1 to the terminal one (the server then closes)."""
    url = base.replace("http://", "ws://") + f"/ws/jobs/{job_id}?after=0"
    events: list[dict[str, Any]] = []
    with connect(url, open_timeout=60, max_size=None) as socket:
        while not events or events[-1]["type"] not in TERMINAL:
            events.append(json.loads(socket.recv(timeout=timeout)))
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(events) + 1)), f"seq not consecutive: {seqs}"
    return events


def run_job(base: str, config: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    started = time.monotonic()
    job_id = call(base, "POST", "/api/jobs", config)["id"]
    events = stream(base, job_id)
    assert events[-1]["type"] == "done", events[-1]
    stored = call(base, "GET", f"/api/jobs/{job_id}/events?after=0")
    assert stored == events, "the websocket stream differs from the stored events"
    print(
        f"  {config['model']} job {job_id}: done, {len(events)} events in {time.monotonic() - started:.0f} s"
    )
    return job_id, events


def train(base: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    jobs = {}
    for config in (TINY, SMOLLM2):
        job_id, events = run_job(base, config)
        jobs[job_id] = events
    smollm2 = list(jobs)[-1]
    (out / "adapter.zip").write_bytes(call(base, "GET", f"/api/jobs/{smollm2}/adapter"))
    (out / "jobs.json").write_text(json.dumps({"jobs": jobs, "smollm2": smollm2}))


def load_with_peft(out: Path) -> None:
    """The downloaded adapter on the host's SmolLM2 with plain transformers + peft (no ftlab code)."""
    import zipfile

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base_dir = Path.home() / ".cache" / "ftlab" / "models" / "smollm2-135m"
    with zipfile.ZipFile(out / "adapter.zip") as archive:
        archive.extractall(out / "adapter")
    names = {p.name for p in (out / "adapter").rglob("*")}
    assert {"adapter_config.json", "adapter_model.safetensors"} <= names, names
    adapter_dir = next((out / "adapter").rglob("adapter_config.json")).parent
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir), adapter_dir)
    trained = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert trained and any(p.abs().sum() > 0 for p in trained), "the adapter's B factors are all zero"
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    with torch.no_grad():
        logits = model(**tokenizer("Hello there", return_tensors="pt")).logits
    assert torch.isfinite(logits).all()
    print(f"  peft loaded the adapter: {len(trained)} LoRA B matrices, logits {tuple(logits.shape)}")


def verify(base: str, saved_path: Path) -> None:
    saved = json.loads(saved_path.read_text())
    listed = {job["id"]: job for job in call(base, "GET", "/api/jobs")}
    for job_id, events in saved["jobs"].items():
        assert listed[job_id]["state"] == "done", listed.get(job_id)
        assert call(base, "GET", f"/api/jobs/{job_id}/events?after=0") == events, f"{job_id} events changed"
    print(f"  after the restart: {len(saved['jobs'])} jobs done, every event as before")
    run_job(base, TINY)
    answer = call(
        base, "POST", f"/api/jobs/{saved['smollm2']}/generate", {"prompt": "Hi", "max_new_tokens": 4}
    )
    print(f"  SmolLM2 generate with no network: {answer}")


def main(argv: list[str]) -> int:
    command, *args = argv
    if command == "train":
        train(args[0], Path(args[1]))
    elif command == "peft":
        load_with_peft(Path(args[0]))
    elif command == "verify":
        verify(args[0], Path(args[1]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
