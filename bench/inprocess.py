"""Benchmarks 2 (cost), 3 (storm loss), the direct half of 5 (scale) and 6 (off-peak), in-process.

Each runs on its own embedded PostgreSQL in a temporary QUINCENA_LOCAL:
``python bench/inprocess.py cost|cost2|storm|scale|offpeak [--quick]`` prints one JSON line of figures.

``cost2``, ``scale`` and ``offpeak`` run the DAG's own steps (``cycle.plan_batches``, ``schedule_lanes``,
``classify_lane``) with the ``deepseek`` pool emulated by one process per lane, all started together:
the Airflow scheduler's own overhead is measured by pool.py, not here.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

BEFORE = date(2026, 11, 16)
PRICED_AT = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)  # one off-peak moment for both sides
MODEL = "deepseek-v4-flash"


def _setup(name: str, companies: int, invoices: int, **knobs):
    common.private_local(name)
    common.fresh_database()
    logging.getLogger().setLevel(logging.WARNING)
    from quincena.core import config
    from quincena.devtools import sample
    from quincena.devtools.simulator import start_simulator
    from quincena.ingest import inbox as ingest

    sim = start_simulator(**{"latency_ms": 5, "latency_sd_ms": 0, "concurrency": 16, "seed": 3, **knobs})
    common.use_simulator(sim)
    made = sample.generate(
        companies=companies, invoices=invoices, inbox=config.inbox_dir(), seed=11, period=common.CYCLE
    )
    nits = [c.nit for c in made]
    t = time.monotonic()
    for nit in nits:
        ingest.ingest_company(nit, config.inbox_dir())
    return sim, nits, time.monotonic() - t


def _usd(tokens: dict) -> float:
    from deepseek_provider.pricing import PriceTable

    from quincena.core import config

    prices = PriceTable.from_file(config.include_dir() / "prices.json")
    cost, _ = prices.cost(
        MODEL, tokens.get("prompt_cache_hit", 0), tokens.get("prompt_cache_miss", 0), tokens.get("completion", 0),
        PRICED_AT,
    )  # fmt: skip
    return float(cost)


def _ours(nits: list[str], companies_at_once: int = 1) -> None:
    from quincena.classify import classifier
    from quincena.deepseek.store import pipeline_hook

    def one(nit: str) -> None:
        classifier.CompanyClassifier(nit, common.CYCLE, pipeline_hook(), common.settings()).run(BEFORE)

    with ThreadPoolExecutor(companies_at_once) as pool:
        list(pool.map(one, nits))


def _plan_lanes(nits: list[str], cycle_id: str, period_end: str, slots: int) -> list[dict]:
    """The DAG's planning steps: each company's batches (cycle.plan_batches), the fair queue and the lanes
    (cycle.schedule_lanes)."""
    from quincena.core import db, periods
    from quincena.pipeline import cycle

    start, end = periods.cycle_bounds(cycle_id)
    db.execute("cycle_start", {"cycle_id": cycle_id, "period_start": start, "period_end": end})
    targets = [
        {**common.target(nit), "cycle_id": cycle_id, "period_end": period_end, "company_name": ""} for nit in nits
    ]
    planned = [cycle.plan_batches(t) for t in targets]
    return cycle.schedule_lanes(targets, planned, "ignore", lanes=slots)


def _lane_process(lane: dict, barrier, results) -> None:
    """One lane in its own process, as each lane is its own task instance; it starts sending once every
    lane has imported what it needs (task start-up is pool.py's to measure, with the real scheduler)."""
    logging.getLogger().setLevel(logging.WARNING)
    from quincena.deepseek.store import pipeline_hook
    from quincena.pipeline import cycle

    hook = pipeline_hook()
    barrier.wait(timeout=600)
    results.put(cycle.classify_lane(lane, hook=hook))


def _run_lanes(lanes: list[dict]) -> dict:
    """Every lane at once, each in its own process: the emulated ``deepseek`` pool has one slot per lane."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier, results = manager.Barrier(len(lanes)), manager.Queue()
        workers = [ctx.Process(target=_lane_process, args=(lane, barrier, results)) for lane in lanes]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        failed = [w.exitcode for w in workers if w.exitcode]
        if failed:
            raise RuntimeError(f"{len(failed)} lane process(es) failed: exit codes {failed}")
        reports = [results.get() for _ in lanes]
    return {"lanes": len(lanes), "batches": sum(r["batches"] for r in reports)}


def _naive_messages(invoice) -> tuple[list[dict[str, str]], set[str]]:
    """One invoice, a prefix that changes every request (request id and time first), no memory."""
    from quincena.classify import classifier, prompt

    items = [classifier.item_for(invoice, ln) for ln in invoice.lines]
    head = f"Solicitud {uuid.uuid4()} del {datetime.now(UTC).isoformat()}.\n"
    return [
        {"role": "system", "content": head + prompt.system_prompt()},
        {"role": "user", "content": prompt.user_message(items)},
    ], {i["id"] for i in items}


def cost(quick: bool) -> dict:
    companies, invoices = (2, 100) if quick else (4, 250)
    sim, nits, _ = _setup("cost", companies, invoices)
    from deepseek_provider.hooks.deepseek import DeepSeekHook

    from quincena.classify import classifier

    pending = [inv for nit in nits for inv in classifier.load_pending(nit, BEFORE)]
    n = len(pending)
    # Naive first, on a cold cache; then ours, on a cold cache again.
    sim.reset()
    hook = DeepSeekHook()

    def naive_one(invoice) -> None:
        messages, _ = _naive_messages(invoice)
        hook.create_chat_completion(messages, response_format={"type": "json_object"}, max_tokens=2048, temperature=0.0)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(naive_one, pending))
    naive = sim.stats()
    sim.reset()
    _ours(nits)
    ours = sim.stats()

    def per_k(stats: dict) -> dict:
        tokens = stats["tokens"]
        total = sum(tokens.get(k, 0) for k in ("prompt_cache_hit", "prompt_cache_miss", "completion"))
        return {
            "requests": stats["requests"],
            "tokens_per_1000": total * 1000 / n,
            "usd_per_1000": _usd(tokens) * 1000 / n,
            "cache_hit_share": tokens.get("prompt_cache_hit", 0)
            / max(1, tokens.get("prompt_cache_hit", 0) + tokens.get("prompt_cache_miss", 0)),
        }

    o, v = per_k(ours), per_k(naive)
    from quincena.core import db

    memory = db.query_text("SELECT count(*) FILTER (WHERE source = 'memory') AS m, count(*) AS n FROM classifications")[
        0
    ]
    sim.stop()
    return {
        "scale": f"{n} invoices ({companies} companies x {invoices})",
        "invoices": n,
        "ours": o,
        "naive": v,
        "memory_line_share": memory["m"] / max(1, memory["n"]),
        "usd_ratio": o["usd_per_1000"] / v["usd_per_1000"],
        "token_ratio": o["tokens_per_1000"] / v["tokens_per_1000"],
    }


def _naive_cycle(hook, pending) -> dict:
    def naive_one(invoice) -> None:
        messages, _ = _naive_messages(invoice)
        hook.create_chat_completion(messages, response_format={"type": "json_object"}, max_tokens=2048, temperature=0.0)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(naive_one, pending))


def _usd_at(stats: dict) -> float:
    return _usd(stats["tokens"])


def cost2(quick: bool) -> dict:
    """Two consecutive quincenas of the same companies through the DAG's steps (memory warm in the
    second) against the naive one-invoice-per-call baseline, each cycle priced at the same moment."""
    companies, invoices = (2, 80) if quick else (4, 200)
    sim, nits, _ = _setup("cost2", companies, invoices)
    from deepseek_provider.hooks.deepseek import DeepSeekHook

    from quincena.classify import classifier
    from quincena.core import config
    from quincena.devtools import sample
    from quincena.ingest import inbox as ingest

    hook = DeepSeekHook()
    out: dict = {"scale": f"{companies} companies x {invoices} invoices per quincena", "cycles": []}
    for n, (cycle_id, period_end, before) in enumerate(
        ((common.CYCLE, common.PERIOD_END, BEFORE), ("2026-11-Q2", "2026-12-01", date(2026, 12, 1)))
    ):
        if n:  # the next quincena's invoices, same companies and suppliers
            sample.generate(companies=companies, invoices=invoices, inbox=config.inbox_dir(), seed=11, period=cycle_id)
            for nit in nits:
                ingest.ingest_company(nit, config.inbox_dir())
        pending = [inv for nit in nits for inv in classifier.load_pending(nit, before)]  # this quincena's
        sim.reset()
        _naive_cycle(hook, pending)
        naive = sim.stats()
        sim.reset()
        _run_lanes(_plan_lanes(nits, cycle_id, period_end, 8))
        ours = sim.stats()
        usd_ours, usd_naive = _usd_at(ours), _usd_at(naive)
        out["cycles"].append({
            "cycle": cycle_id, "invoices": len(pending), "requests_ours": ours["requests"],
            "requests_naive": naive["requests"], "usd_ours": usd_ours, "usd_naive": usd_naive,
            "usd_ratio": usd_ours / usd_naive if usd_naive else float("nan"),
        })  # fmt: skip
    sim.stop()
    return out


def storm(quick: bool) -> dict:
    companies, invoices = (3, 40) if quick else (5, 100)
    sim, nits, _ = _setup("storm", companies, invoices)
    import seed_loop

    from quincena.classify import classifier

    sim.configure(rate_429=0.30, rate_500=0.025, rate_503=0.025)
    pending = [inv for nit in nits for inv in classifier.load_pending(nit, BEFORE)]
    work = [(inv.invoice_id, *_naive_messages(inv)) for inv in pending]
    _, seed_lost = seed_loop.run(sim.base_url, list(common.KEYS.values()), work, backoff_scale=0.01)
    seed_stats = sim.stats()
    sim.reset()
    _ours(nits, companies_at_once=2)
    ours_stats = sim.stats()
    left = common.count("SELECT count(*) AS n FROM invoices WHERE status = 'pending'")
    review = common.count("SELECT count(*) AS n FROM invoices WHERE status = 'review'")
    sim.stop()
    return {
        "scale": f"{len(pending)} invoices ({companies} companies x {invoices})",
        "invoices": len(pending),
        "ours_lost": left,
        "ours_review": review,
        "ours_status_counts": ours_stats["status_counts"],
        "seed_lost": seed_lost,
        "seed_loss_share": seed_lost / max(1, len(pending)),
        "seed_status_counts": seed_stats["status_counts"],
    }


def scale(quick: bool) -> dict:
    """Every company's batches through the lanes: does the pool stay full while work waits?"""
    companies, invoices = (300, 30) if quick else (300, 150)
    slots, latency_ms = 16, 300.0
    t0 = time.monotonic()
    sim, nits, ingest_s = _setup("scale", companies, invoices, latency_ms=latency_ms, latency_sd_ms=60, concurrency=20)
    n = common.count("SELECT count(*) AS n FROM invoices")
    t = time.monotonic()
    lanes = _plan_lanes(nits, common.CYCLE, common.PERIOD_END, slots)
    plan_s = time.monotonic() - t
    t = time.monotonic()
    with common.InFlightSampler(sim.stats, interval_s=0.1) as sampler:
        served = _run_lanes(lanes)
    classify_s = time.monotonic() - t
    window = sampler.busy_window()
    occupancy = sum(v for _, v, _ in window) / (len(window) * slots) if window else 0.0
    # "while work waits": until the queue can no longer fill every slot (the last batches' tail excluded).
    full_until = max((i for i, (_, v, _) in enumerate(window) if v >= slots), default=len(window) - 1)
    waiting = window[: full_until + 1]
    occupancy_waiting = sum(v for _, v, _ in waiting) / (len(waiting) * slots) if waiting else 0.0
    left = common.count("SELECT count(*) AS n FROM invoices WHERE status = 'pending'")
    waits = db_company_waits()
    stats = sim.stats()
    sim.stop()
    return {
        "scale": f"{companies} companies x {invoices} invoices ({n} ingested)",
        "invoices": n,
        "ingest_s": ingest_s,
        "plan_s": plan_s,
        "classify_s": classify_s,
        "total_s": time.monotonic() - t0,
        "requests": stats["requests"],
        "lanes": served["lanes"],
        "batches": served["batches"],
        "pending_left": left,
        "occupancy": occupancy,
        "occupancy_while_work_waits": occupancy_waiting,
        "max_in_flight": stats["max_in_flight"],
        "slots": slots,
        "latency_ms": latency_ms,
        **waits,
        "text_chart": common.text_chart(sampler.samples, slots, 15),
    }


def db_company_waits() -> dict:
    from quincena.core import db

    rows = db.query_text(
        "SELECT company_nit, extract(epoch FROM min(started_at) - (SELECT min(started_at) FROM api_calls)) AS w,"
        " extract(epoch FROM max(started_at) - (SELECT min(started_at) FROM api_calls)) AS l"
        " FROM api_calls GROUP BY 1"
    )
    first = sorted(float(r["w"]) for r in rows)
    last = sorted(float(r["l"]) for r in rows)
    if not first:
        return {}
    return {
        "company_wait_median_s": first[len(first) // 2],
        "company_wait_max_s": first[-1],
        "company_last_request_median_s": last[len(last) // 2],
        "company_last_request_max_s": last[-1],
    }


def offpeak(quick: bool) -> dict:
    """The same cycle started just before a peak window, with and without the off-peak policy, on a
    simulated clock: the calls' real token counts (one real run against the simulator) replayed through a
    pool of N slots with a realistic latency, each call priced by the price table at its simulated start.
    The waiting rule is the DAG's own (deepseek.offpeak.wait_until before classification, pause_batch
    before each request)."""
    import heapq
    import random
    from datetime import timedelta

    from quincena.core import db
    from quincena.deepseek import offpeak as rule
    from quincena.deepseek import prices

    companies, invoices = (4, 60) if quick else (40, 150)
    sim, nits, _ = _setup("offpeak", companies, invoices)
    _run_lanes(_plan_lanes(nits, common.CYCLE, common.PERIOD_END, 8))
    calls = db.query_text(
        "SELECT model, prompt_cache_hit_tokens AS hit, prompt_cache_miss_tokens AS miss, completion_tokens AS out"
        " FROM api_calls WHERE outcome = 'ok' ORDER BY started_at"
    )
    sim.stop()
    table = prices.load()
    slots, mean_s, sd_s = 16, 11.5, 2.5
    start = datetime(2026, 11, 17, 0, 59, 30, tzinfo=UTC)  # Tuesday, 30 s before the 01:00 UTC (20:00 Bogotá) window
    weekend = datetime(2026, 11, 21, 0, 59, 30, tzinfo=UTC)  # the same clock on a Saturday: off-peak all day

    def replay(policy: str, start: datetime = start) -> dict:
        rng = random.Random(5)
        began = rule.wait_until(start, policy, table)  # the wait_offpeak sensor
        free = [began] * slots
        heapq.heapify(free)
        cost = Decimal(0)
        peak_calls = 0
        end = began
        for call in calls:
            at = heapq.heappop(free)
            until = rule.pause_batch(at, policy, table)  # classify_lane's check before a request
            at = until or at
            price, version = table.cost(call["model"], call["hit"], call["miss"], call["out"], at)
            cost += price
            peak_calls += version.endswith(":peak")
            latency = max(1.0, rng.lognormvariate(*_lognormal(mean_s, sd_s)))
            done = at + timedelta(seconds=latency)
            end = max(end, done)
            heapq.heappush(free, done)
        return {"usd": float(cost), "peak_calls": peak_calls, "calls": len(calls),
                "finished_h": (end - start).total_seconds() / 3600}  # fmt: skip

    runs = {policy: replay(policy) for policy in ("ignore", "prefer", "strict")}
    sat = {policy: replay(policy, weekend) for policy in ("ignore", "strict")}
    return {
        "scale": f"{companies} companies x {invoices} invoices, {len(calls)} calls, pool {slots}, "
        f"L ~{mean_s:g}±{sd_s:g} s, start {start:%H:%M} UTC",
        **{f"{p}_{k}": v for p, r in runs.items() for k, v in r.items()},
        "ratio_strict": runs["strict"]["usd"] / runs["ignore"]["usd"],
        "ratio_prefer": runs["prefer"]["usd"] / runs["ignore"]["usd"],
        **{f"weekend_{p}_{k}": v for p, r in sat.items() for k, v in r.items()},
        "weekend_ratio_strict": sat["strict"]["usd"] / sat["ignore"]["usd"],
    }


def _company_first(items, previous_errors=(), chart=None):
    """The layout not chosen: the company's accounts first, in the system message, then the instructions
    and the catalog; every company then has its own prefix from token 0."""
    from quincena.classify import prompt

    system = (chart or "") + prompt.system_prompt()
    user = prompt.user_message(items, previous_errors)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def charts(quick: bool) -> dict:
    """The same quincena classified three times on a cold cache and an empty memory: into the shipped
    catalog (today), into each company's own chart placed after the shared prefix (the layout used), and
    into it placed before the instructions (the other layout). Each company's chart differs (names carry
    the company), so no company's block is cached for another."""
    companies, invoices = (3, 60) if quick else (10, 150)
    sim, nits, _ = _setup("charts", companies, invoices)
    from quincena.chart import store
    from quincena.classify import prompt
    from quincena.core import config, db
    from quincena.devtools.sample import charts as sample_charts

    def forget() -> None:
        db.query_text("DELETE FROM classifications; DELETE FROM supplier_memory; "
                      "UPDATE invoices SET status = 'pending', status_reason = NULL")  # fmt: skip

    def measured() -> dict:
        stats = sim.stats()
        tokens = stats["tokens"]
        n = db.query_text("SELECT count(*) AS n FROM invoices")[0]["n"]
        hit, miss = tokens.get("prompt_cache_hit", 0), tokens.get("prompt_cache_miss", 0)
        outcome = db.query_text("SELECT count(*) FILTER (WHERE status = 'review') AS review FROM invoices")[0]
        return {"requests": stats["requests"], "usd_per_1000": _usd(tokens) * 1000 / n,
                "cache_hit_share": hit / max(1, hit + miss), "review_share": outcome["review"] / n}  # fmt: skip

    out: dict = {"scale": f"{companies} companies x {invoices} invoices, memory empty, cache cold each time"}
    sim.reset()
    _ours(nits)
    out["catalog"] = measured()
    for nit in nits:
        path = sample_charts.write_chart(config.local_dir() / f"chart-{nit}.csv", site=f"empresa {nit}")
        store.import_chart(nit, path, "bench")
    block = prompt.company_block(store.targets(nits[0]))
    out["chart_block_chars"] = len(block)
    for layout in ("after", "before"):
        forget()
        sim.reset()
        if layout == "before":
            prompt.messages = _company_first
        _ours(nits)
        out[f"chart_{layout}"] = measured()
    out["ratio_after"] = out["chart_after"]["usd_per_1000"] / out["catalog"]["usd_per_1000"]
    out["ratio_before"] = out["chart_before"]["usd_per_1000"] / out["catalog"]["usd_per_1000"]
    sim.stop()
    return out


def _lognormal(mean: float, sd: float) -> tuple[float, float]:
    import math

    sigma2 = math.log(1 + (sd / mean) ** 2)
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


if __name__ == "__main__":
    which = sys.argv[1]
    benches = {"cost": cost, "cost2": cost2, "storm": storm, "scale": scale, "offpeak": offpeak, "charts": charts}
    print(json.dumps(benches[which]("--quick" in sys.argv)))
