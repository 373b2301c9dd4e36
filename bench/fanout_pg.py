"""Cross-process fan-out: websocket clients spread over two web processes on one PostgreSQL, the
events published by a third process (as a training worker does: ``JobStore.emit``, which stores the
event and NOTIFYs in one transaction). Each web process hears the NOTIFY, reads the event once and
sends it to its clients. Checks: every client got every seq once, in order; latency = arrival at the
client − the event's ``time`` (stamped just before the INSERT). Needs FTLAB_TEST_POSTGRES_URL (or
FTLAB_BENCH_POSTGRES_URL).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import tempfile
import time
from typing import Any

from bench.cluster import _drop_schema, _free_port, _schema_url
from bench.common import claimed_job, percentile, print_table, target, write_result
from bench.fanout_clients import client_process
from bench.processes import start_web_process, stop_web_process

PER_PROCESS = 250
TARGET_P99_MS = 100.0
INTERVAL_S = 0.025  # one event every 25 ms: a fast tiny-llama job's step rate


def publisher(database_url: str, events: int, go: Any, out: Any) -> None:
    """Runs in its own process: owns the job (a live server lease) and emits its events."""
    from app.db import make_engine, make_sessionmaker
    from app.events import Done, Step
    from app.jobs.leases import Leases, server_lease
    from app.jobs.store import JobStore

    engine = make_engine(database_url)
    store = JobStore(make_sessionmaker(engine))
    holder = f"bench-publisher-{os.getpid()}"
    Leases(store.sessions, time.time).acquire(server_lease(holder), holder)
    config = {"model": "bench", "method": "synthetic", "task": "fanout", "steps": events}
    job_id = claimed_job(store, holder, config, node="bench-publisher")
    out.put(("ready", job_id))
    go.wait(300)
    emit_s = []
    for step in range(1, events + 2):
        time.sleep(INTERVAL_S)
        event: Any = (
            Done(summary={"steps": events})
            if step > events
            else Step(
                step=step,
                loss=1.0 / step,
                lr=1e-3,
                grad_norm=1.0,
                tokens_per_s=1.0,
                elapsed_s=step * INTERVAL_S,
                eta_s=1.0,
                memory_bytes=1,
            )
        )
        start = time.perf_counter()
        store.emit(job_id, event)
        emit_s.append(time.perf_counter() - start)
    out.put(("published", emit_s))
    engine.dispose()


def run(quick: bool = False) -> dict[str, Any]:
    base = os.environ.get("FTLAB_BENCH_POSTGRES_URL") or os.environ.get("FTLAB_TEST_POSTGRES_URL")
    if not base:
        reason = "skipped: set FTLAB_TEST_POSTGRES_URL (or FTLAB_BENCH_POSTGRES_URL)"
        print(f"\n## fanout-pg: {reason}")
        return write_result("fanout-pg", quick, {"skipped": reason})
    clients, events = (20, 20) if quick else (500, 200)
    url, schema = _schema_url(base)
    ctx = mp.get_context("spawn")
    try:
        with tempfile.TemporaryDirectory(prefix="ftlab-bench-fanout-") as data_dir:
            env = {"FTLAB_DATABASE_URL": url, "FTLAB_DATA_DIR": data_dir, "FTLAB_DEVICE": "cpu"}
            ports = [_free_port(), _free_port()]
            servers = [start_web_process(port, env) for port in ports]
            try:
                row = _round(ctx, url, ports, clients, events)
            finally:
                for server in servers:
                    stop_web_process(server)
    finally:
        _drop_schema(base, schema)
    print_table(
        f"fanout-pg: {row['events']} events from a worker process, clients over 2 web processes",
        ["clients", "all events in order", "lost", "p50 ms", "p99 ms", "max ms", "emit ms (median)"],
        [
            [
                clients,
                f"{row['complete']}/{clients}",
                row["lost"],
                row["p50_ms"],
                row["p99_ms"],
                row["max_ms"],
                row["emit_median_ms"],
            ]
        ],
    )
    targets = [
        target(f"{clients} clients: events lost", float(row["lost"]), 0.0),
        target(f"{clients} clients: p99 latency", row["p99_ms"], TARGET_P99_MS, unit=" ms"),
    ]
    return write_result("fanout-pg", quick, {**row, "targets": targets})


def _round(ctx: Any, url: str, ports: list[int], clients: int, events: int) -> dict[str, Any]:
    out, go = ctx.Queue(), ctx.Event()
    pub = ctx.Process(target=publisher, args=(url, events, go, out), daemon=True)
    pub.start()
    ready, job_id = out.get(timeout=120)
    assert ready == "ready"
    results_q = ctx.Queue()
    sizes = [min(PER_PROCESS, clients - i) for i in range(0, clients, PER_PROCESS)]
    readers = [
        ctx.Process(
            target=client_process,
            args=(f"ws://127.0.0.1:{ports[i % 2]}/ws/jobs/{job_id}", size, None, results_q),
            daemon=True,
        )
        for i, size in enumerate(sizes)
    ]
    for reader in readers:
        reader.start()
    for _ in readers:
        assert results_q.get(timeout=300)[0] == "ready"
    time.sleep(1.0)  # the servers subscribe each socket just after accepting it
    go.set()
    emit_s = out.get(timeout=600)[1]
    results = [results_q.get(timeout=600)[1] for _ in readers]
    for process in (*readers, pub):
        process.join(30)
    got = [c for r in results for c in r["clients"]]
    total = events + 1
    latencies = [x for c in got for x in c.get("latencies", [])]
    return {
        "clients": clients,
        "events": total,
        "complete": sum(1 for c in got if c["seqs"] == list(range(1, total + 1))),
        "lost": clients * total - sum(len(set(c["seqs"])) for c in got),
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
        "max_ms": 1000 * max(latencies) if latencies else float("nan"),
        "emit_median_ms": 1000 * sorted(emit_s)[len(emit_s) // 2],
    }
