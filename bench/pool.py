"""Benchmark 1 (pool efficiency) and the scheduler half of 5: a real cycle through the real scheduler.

Reuses `quincena demo start` (embedded PostgreSQL, simulator, Airflow's components with LocalExecutor)
in a temporary QUINCENA_LOCAL on other ports, with the simulator's latency set here and no random 429s,
samples the simulator's in-flight requests and the scheduler's memory, then `demo stop`.
Prints one JSON line of figures.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common


def main(quick: bool) -> dict:
    companies, invoices = (8, 60) if quick else (40, 150)
    latency_ms = 1000.0
    local = common.private_local("pool")
    from quincena.devtools import demo
    from quincena.devtools.demo import orchestration

    slots = demo.pool_slots()
    per_task = 4

    def argv(paths, settings):  # the demo's simulator, with the benchmark's latency and no 429s
        return [
            *demo.quincena_cli(), demo.SIMULATOR, "--host", demo.LOOPBACK, "--port", str(settings.simulator_port),
            "--keys-file", str(paths.keys_file), "--concurrency", str(slots + 4),
            "--latency-ms", str(latency_ms), "--latency-sd-ms", str(latency_ms / 5), "--seed", "7",
        ]  # fmt: skip

    orchestration.simulator_argv = argv  # where start_simulator looks it up
    settings = demo.DemoSettings(
        companies=companies, invoices=invoices, api_port=18080, simulator_port=18765, seed=2026, cycle=common.CYCLE
    )
    stats_url = f"{settings.simulator_url}/admin/stats"
    sampler = common.InFlightSampler(lambda: requests.get(stats_url, timeout=2).json(), interval_s=0.2)
    sched_rss: list[int] = []
    stop = threading.Event()

    def watch_scheduler() -> None:
        import psutil

        paths = demo.DemoPaths.default()
        while not stop.is_set():
            managed = demo.read_managed(paths, "airflow-scheduler")
            if managed:
                with contextlib.suppress(psutil.Error):
                    sched_rss.append(psutil.Process(managed.pid).memory_info().rss)
            stop.wait(1)

    watcher = threading.Thread(target=watch_scheduler, daemon=True)
    began = time.monotonic()
    try:
        # start() returns once the run is triggered; sampling starts before the first request.
        result = demo.start(settings, wait=False)
        watcher.start()
        triggered = time.monotonic()
        with sampler:
            password = demo.admin_password(demo.DemoPaths.default())
            api = demo.AirflowApi(settings.api_url, "admin", password)
            state = demo.wait_for_run(api, result.run_id, 3000, approve=True)
        run_s = time.monotonic() - triggered
        tis = api.request(
            "GET", f"/dags/{demo.DAG_ID}/dagRuns/{result.run_id}/taskInstances", params={"limit": 1000}
        ).json()
    finally:
        stop.set()
        demo.stop()
    window = sampler.busy_window()
    sim = sampler.samples[-1] if sampler.samples else (0, 0, 0)
    calls = sim[2]
    busy_s = (window[-1][0] - window[0][0]) if len(window) > 1 else float("nan")
    occupancy = sum(v for _, v, _ in window) / (len(window) * slots) if window else 0.0
    ideal_s = calls * (latency_ms / 1000) / slots
    n_tis = tis.get("total_entries", len(tis.get("task_instances", [])))
    chart = Path(__file__).resolve().parent / "pool_occupancy.svg"
    title = f"requests in flight, {companies}x{invoices}, pool {slots}, L={latency_ms:.0f} ms"
    common.svg_chart(sampler.samples, slots, title, chart)
    return {
        "scale": f"{companies} companies x {invoices} invoices",
        "state": state,
        "slots": slots,
        "slots_per_task": per_task,
        "latency_ms": latency_ms,
        "calls": calls,
        "busy_s": busy_s,
        "run_s": run_s,
        "setup_s": triggered - began,
        "calls_per_s": calls / busy_s if busy_s else 0.0,
        "efficiency": (calls / busy_s) / (slots / (latency_ms / 1000)) if busy_s else 0.0,
        "efficiency_whole_run": (calls / run_s) / (slots / (latency_ms / 1000)),
        "ideal_s": ideal_s,
        "occupancy": occupancy,
        "task_instances": n_tis,
        "s_per_task_instance": run_s / n_tis if n_tis else float("nan"),
        "scheduler_rss_mb_max": max(sched_rss) / 2**20 if sched_rss else float("nan"),
        "chart": str(chart.relative_to(common.REPO)),
        "text_chart": common.text_chart(sampler.samples, slots, 20),
        "local": str(local),
    }


if __name__ == "__main__":
    print(json.dumps(main("--quick" in sys.argv)))
