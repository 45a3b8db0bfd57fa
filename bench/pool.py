"""Benchmark 1 (pool efficiency) and the scheduler half of 5: a real cycle through the real scheduler.

Reuses `quincena demo start` (embedded PostgreSQL, simulator, Airflow's components with LocalExecutor)
in a temporary QUINCENA_LOCAL on other ports, with the simulator's latency set here and no random 429s,
samples the simulator's in-flight requests and the scheduler's memory, then `demo stop`.
Prints one JSON line of figures.

``--latency-ms``/``--sd-ms`` set the simulated answer time (lognormal); ``--celery`` runs the same
cycle on CeleryExecutor with two workers (redis-server from the OS package, started here on its own
port; the celery provider from bench/requirements-celery.txt) — or prints why it was skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

REDIS_PORT = 16379


def celery_missing() -> str | None:
    """Why the Celery run cannot happen here, or None."""
    if shutil.which("redis-server") is None:
        return "redis-server not found (apt-get install redis-server, or `make bench-deps`)"
    try:
        import airflow.providers.celery.executors.celery_executor  # noqa: F401
    except ImportError as exc:
        return f"the celery provider does not import ({exc}): pip install -r bench/requirements-celery.txt"
    return None


def use_celery(local: Path, slots: int) -> subprocess.Popen:
    """Start redis-server on a private port; make the demo configure CeleryExecutor and two workers."""
    from quincena.devtools.demo import orchestration

    redis = subprocess.Popen(
        ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(local)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    own_settings = orchestration.airflow_settings

    def settings_with_celery(paths, settings, airflow_db_uri):
        options = own_settings(paths, settings, airflow_db_uri)
        options["core"]["executor"] = "CeleryExecutor"
        options["celery"] = {
            "broker_url": f"redis://127.0.0.1:{REDIS_PORT}/0",
            "result_backend": options["database"]["sql_alchemy_conn"].replace(
                "postgresql+psycopg", "db+postgresql+psycopg", 1
            ),
            "worker_concurrency": str(slots // 2 + 4),
        }
        return options

    orchestration.airflow_settings = settings_with_celery
    workers = {
        f"celery-worker-{n}": ["celery", "worker", "--concurrency", str(slots // 2 + 4), "--celery-hostname",
                               f"bench{n}@%h", "--skip-serve-logs"]
        for n in (1, 2)
    }  # fmt: skip
    orchestration.AIRFLOW_COMPONENTS = {**orchestration.AIRFLOW_COMPONENTS, **workers}
    orchestration.COMPONENTS = (*workers, *orchestration.COMPONENTS)
    return redis


def main(args: argparse.Namespace) -> dict:
    companies, invoices = (args.companies, args.invoices) if args.companies else ((8, 60) if args.quick else (40, 150))
    latency_ms, sd_ms = args.latency_ms, args.sd_ms if args.sd_ms is not None else args.latency_ms / 5
    tag = args.tag or f"L{latency_ms / 1000:g}s" + ("-celery" if args.celery else "")
    if args.celery and (reason := celery_missing()):
        return {"skipped": reason, "tag": tag}
    local = common.private_local(f"pool-{tag}")
    os.environ["QUINCENA_OFFPEAK_POLICY"] = "ignore"  # the benchmark runs now, whatever the hour
    from quincena.devtools import demo
    from quincena.devtools.demo import orchestration

    slots = demo.pool_slots()
    redis = use_celery(local, slots) if args.celery else None

    def argv(paths, settings):  # the demo's simulator, with the benchmark's latency and no 429s
        return [
            *demo.quincena_cli(), demo.SIMULATOR, "--host", demo.LOOPBACK, "--port", str(settings.simulator_port),
            "--keys-file", str(paths.keys_file), "--concurrency", str(slots + 4),
            "--latency-ms", str(latency_ms), "--latency-sd-ms", str(sd_ms), "--seed", "7",
        ]  # fmt: skip

    orchestration.simulator_argv = argv  # where start_simulator looks it up
    settings = demo.DemoSettings(
        companies=companies, invoices=invoices, api_port=18080, simulator_port=18765, seed=2026, cycle=common.CYCLE
    )
    # The demo's sample generator step takes its counts from the settings; the firm DB is read before stop.
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
            state = demo.wait_for_run(api, result.run_id, 3000)  # the cycle run never waits for approvals
        run_s = time.monotonic() - triggered
        tis = api.request(
            "GET", f"/dags/{demo.DAG_ID}/dagRuns/{result.run_id}/taskInstances", params={"limit": 1}
        ).json()
        waits = company_waits(local)
    finally:
        stop.set()
        demo.stop()
        if redis is not None:
            redis.terminate()
            redis.wait(10)
    window = sampler.busy_window()
    sim_stats = sampler.last_stats or {}
    sim = sampler.samples[-1] if sampler.samples else (0, 0, 0)
    calls = sim[2]
    busy_s = (window[-1][0] - window[0][0]) if len(window) > 1 else float("nan")
    occupancy = sum(v for _, v, _ in window) / (len(window) * slots) if window else 0.0
    ideal_s = calls * (latency_ms / 1000) / slots
    n_tis = tis.get("total_entries", len(tis.get("task_instances", [])))
    chart = Path(__file__).resolve().parent / f"pool_occupancy_{tag}.svg"
    executor = "CeleryExecutor, 2 workers" if args.celery else "LocalExecutor"
    title = f"requests in flight, {companies}x{invoices}, pool {slots}, L={latency_ms:.0f} ms, {executor}"
    common.svg_chart(sampler.samples, slots, title, chart)
    return {
        "tag": tag,
        "executor": executor,
        "scale": f"{companies} companies x {invoices} invoices",
        "state": state,
        "slots": slots,
        "max_in_flight": max((v for _, v, _ in sampler.samples), default=0),
        "server_max_in_flight": sim_stats.get("max_in_flight"),
        "latency_ms": latency_ms,
        "latency_sd_ms": sd_ms,
        **waits,
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


def company_waits(local: Path) -> dict:
    """Fairness, from the firm's ledger: each company's first request after the run's first request."""
    import psycopg

    uri = f"postgresql://postgres:@/quincena?host={local / 'pgdata'}"
    with psycopg.connect(uri) as conn:
        rows = conn.execute(
            "SELECT company_nit, extract(epoch FROM min(started_at) - (SELECT min(started_at) FROM api_calls)),"
            " extract(epoch FROM max(started_at) - (SELECT min(started_at) FROM api_calls))"
            " FROM api_calls GROUP BY 1"
        ).fetchall()
    if not rows:
        return {}
    first = sorted(float(r[1]) for r in rows)
    last = sorted(float(r[2]) for r in rows)
    return {
        "company_wait_median_s": first[len(first) // 2],
        "company_wait_max_s": first[-1],
        "company_last_request_median_s": last[len(last) // 2],
        "company_last_request_max_s": last[-1],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--latency-ms", type=float, default=1000.0)
    parser.add_argument("--sd-ms", type=float, default=None)
    parser.add_argument("--companies", type=int, default=0)
    parser.add_argument("--invoices", type=int, default=0)
    parser.add_argument("--celery", action="store_true")
    parser.add_argument("--tag", default="")
    print(json.dumps(main(parser.parse_args())))
