"""3. Fan-out: N websocket clients on loopback watching one job, events through the real path.

The server is the real app under uvicorn (in this process); a synthetic publisher thread stands in
for training: per event it does a fixed slice of torch work (a stand-in for a training step), then
emits a valid ``step`` event exactly as the runner does (stamp → ``JobStore.append_event`` →
``Broadcaster.publish``), ending with ``done``. Clients run in separate processes (spawned) so they
do not share the server's event loop. Latency = arrival time at the client − the event's ``time``.
Publisher slowdown = wall time of the publishing loop with N clients over the same loop with none,
rounds interleaved (ABBA). The stall demo: a second server with a 16-event subscriber queue, one
client that reads nothing (4 KB receive buffer) next to healthy ones, events of ~70 KB.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import time
from typing import Any

import torch

from bench.common import (
    claimed_job,
    interleaved,
    median,
    percentile,
    print_table,
    print_targets,
    target,
    write_result,
)
from bench.fanout_clients import client_process
from bench.server import Server, running_server

PER_PROCESS = 250
TARGET_P99_MS, TARGET_SLOWDOWN = 100.0, 1.05
# The stalled client reads nothing this long: in a full run, long enough for the 400 events (~7.6 MB
# on the wire after compression) to outgrow what the kernel buffers of one loopback socket hold.
STALL_HOLD_S = {True: 8.0, False: 30.0}
STALL_QUEUE = 64  # events a subscriber may fall behind in the stall demo (the server default is 1024)


def _workload(size: int, loops: int) -> None:
    x = torch.ones(size, size)
    for _ in range(loops):
        x = torch.tanh(x @ x / size)


def calibrate(goal_s: float = 0.04, size: int = 256) -> int:
    """Matmul loops that take about ``goal_s`` now (this machine, this load)."""
    start = time.perf_counter()
    _workload(size, 20)
    per_loop = (time.perf_counter() - start) / 20
    return max(1, round(goal_s / per_loop))


def _new_job(server: Server) -> str:
    config = {"model": "bench", "method": "synthetic", "task": "fanout"}
    return claimed_job(server.state.store, server.state.runner.holder, config)


def publish(server: Server, job_id: str, events: int, loops: int, payload_layers: int = 0) -> dict[str, Any]:
    """Emit ``events`` step events (+ done) the way the runner does; returns the loop's timings."""
    from app.events import Done, EventStamper, LayerSpectrum, Spectrum, Step
    from app.live.broadcast import Message

    store, broadcaster = server.state.store, server.state.broadcaster
    stamper = EventStamper(job_id)
    # Spectrum-sized events with realistic (incompressible) digits: a constant payload would shrink
    # ~100x under permessage-deflate and never fill a stalled client's socket buffers.
    rng = random.Random(0)
    layers = [
        LayerSpectrum(
            name=f"model.layers.{i}.self_attn.q_proj",
            singular_values=sorted((rng.random() for _ in range(16)), reverse=True),
            effective_rank=8,
            frobenius=1.0,
        )
        for i in range(payload_layers)
    ]
    emit_s: list[float] = []
    start = time.perf_counter()
    for step in range(1, events + 2):
        _workload(256, loops)
        if step > events:
            event: Any = Done(summary={"steps": events})
        elif payload_layers:
            event = Spectrum(step=step, layers=layers)
        else:
            event = Step(
                step=step,
                loss=1.0 / step,
                lr=1e-3,
                grad_norm=1.0,
                tokens_per_s=100.0,
                elapsed_s=step * 0.04,
                eta_s=1.0,
                memory_bytes=1,
            )
        t0 = time.perf_counter()
        stamped = stamper.stamp(event)
        data = stamped.model_dump_json()
        store.append_event(stamped, data)
        broadcaster.publish(job_id, Message(stamped.seq, data, stamped.terminal))
        emit_s.append(time.perf_counter() - t0)
    return {"wall_s": time.perf_counter() - start, "emit_s": emit_s}


def _round(
    server: Server,
    clients: int,
    events: int,
    loops: int,
    stalled: bool = False,
    payload_layers: int = 0,
    hold_s: float = 8.0,
) -> dict[str, Any]:
    job_id = _new_job(server)
    url = f"{server.ws_url}/ws/jobs/{job_id}"
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    sizes = [min(PER_PROCESS, clients - i) for i in range(0, clients, PER_PROCESS)] or (
        [0] if stalled else []
    )
    processes = []
    for index, size in enumerate(sizes):
        hold = hold_s if stalled and index == 0 else None
        processes.append(ctx.Process(target=client_process, args=(url, size, hold, out), daemon=True))
    for process in processes:
        process.start()
    for _ in processes:
        assert out.get(timeout=300)[0] == "ready"
    expected = clients + (1 if stalled else 0)
    deadline = time.monotonic() + 60
    broadcaster = server.state.broadcaster
    while broadcaster.subscriber_count(job_id) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    timing = publish(server, job_id, events, loops, payload_layers)
    subscribed_at_end = broadcaster.subscriber_count(job_id)
    results = [out.get(timeout=300)[1] for _ in processes]
    for process in processes:
        process.join(30)
    readers = [c for r in results for c in r["clients"]]
    total = events + 1
    complete = sum(1 for c in readers if c["seqs"] == list(range(1, total + 1)))
    latencies = [x for c in readers for x in c.get("latencies", [])]
    stall = next((r["stalled"] for r in results if r["stalled"]), None)
    return {
        "clients": clients,
        "events": total,
        "complete_in_order": complete,
        "lost_events": clients * total - sum(len(c["seqs"]) for c in readers),
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
        "max_ms": 1000 * max(latencies) if latencies else float("nan"),
        "wall_s": timing["wall_s"],
        "emit_median_ms": 1000 * median(timing["emit_s"]),
        "subscribers_at_end": subscribed_at_end,
        "stalled": None if stall is None else {**stall, "received": len(stall["seqs"]), "seqs": None},
    }


def run(quick: bool = False) -> dict[str, Any]:
    counts = [1, 10] if quick else [1, 50, 200, 500]
    events, repeats = (10, 1) if quick else (60, 2)
    loops = calibrate()
    rows = []
    with running_server() as server:
        for n in counts:
            runs = interleaved(
                {
                    "none": lambda: _round(server, 0, events, loops),
                    "clients": lambda n=n: _round(server, n, events, loops),
                },
                repeats,
            )
            best = runs["clients"]
            rows.append(
                {
                    **{k: v for k, v in best[-1].items() if k not in ("wall_s", "emit_median_ms")},
                    "complete_in_order": min(r["complete_in_order"] for r in best),
                    "lost_events": sum(r["lost_events"] for r in best),
                    "p50_ms": median([r["p50_ms"] for r in best]),
                    "p99_ms": max(r["p99_ms"] for r in best),
                    "wall_s_clients": [r["wall_s"] for r in best],
                    "wall_s_none": [r["wall_s"] for r in runs["none"]],
                    "slowdown": median([r["wall_s"] for r in best])
                    / median([r["wall_s"] for r in runs["none"]]),
                    "emit_ms_clients": median([r["emit_median_ms"] for r in best]),
                    "emit_ms_none": median([r["emit_median_ms"] for r in runs["none"]]),
                }
            )
    print_table(
        f"fanout: {events + 1} events per round (~40 ms of torch work each), {repeats} interleaved repeats",
        [
            "clients",
            "all events in order",
            "lost",
            "p50 ms",
            "p99 ms",
            "publisher slowdown",
            "emit ms (none→N)",
        ],
        [
            [
                r["clients"],
                f"{r['complete_in_order']}/{r['clients']}",
                r["lost_events"],
                r["p50_ms"],
                r["p99_ms"],
                r["slowdown"],
                f"{r['emit_ms_none']:.2f}→{r['emit_ms_clients']:.2f}",
            ]
            for r in rows
        ],
    )
    with running_server(subscriber_queue_size=STALL_QUEUE) as server:
        healthy = 3 if quick else 10
        stall = _round(
            server,
            healthy,
            60 if quick else 400,
            loops,
            stalled=True,
            payload_layers=120,
            hold_s=STALL_HOLD_S[quick],
        )
    print_table(
        f"fanout: one stalled client (reads nothing for {STALL_HOLD_S[quick]:g} s;"
        f" subscriber queue {STALL_QUEUE} events, ~50 KB spectrum events)",
        [
            "healthy clients",
            "healthy complete",
            "p99 ms",
            "stalled got",
            "stalled close",
            "subscribers at end",
        ],
        [
            [
                stall["clients"],
                f"{stall['complete_in_order']}/{stall['clients']}",
                stall["p99_ms"],
                f"{stall['stalled']['received']}/{stall['events']}",
                stall["stalled"]["close_code"] or stall["stalled"]["error"],
                stall["subscribers_at_end"],
            ]
        ],
    )
    last = rows[-1]
    targets = [
        target(f"{last['clients']} clients: events lost", float(last["lost_events"]), 0.0),
        target(f"{last['clients']} clients: p99 latency", last["p99_ms"], TARGET_P99_MS, unit=" ms"),
        target(f"{last['clients']} clients: publisher slowdown", last["slowdown"], TARGET_SLOWDOWN, unit="x"),
        target(
            "stall: healthy clients incomplete", float(stall["clients"] - stall["complete_in_order"]), 0.0
        ),
    ]
    print_targets(targets)
    return write_result(
        "fanout", quick, {"rows": rows, "stall": stall, "targets": targets, "work_loops": loops}
    )
