"""Benchmarks 2 (cost), 3 (storm loss) and the direct half of 5 (scale), in-process against the simulator.

Each runs on its own embedded PostgreSQL in a temporary QUINCENA_LOCAL:
``python bench/inprocess.py cost|storm|scale [--quick]`` prints one JSON line of figures.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
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
    # 300 x 150 does not fit make bench's 15-minute budget on 2 cores: the shape (300 companies) is kept.
    companies, invoices = (300, 10) if quick else (300, 30)
    slots, latency_ms = 16, 100.0
    t0 = time.monotonic()
    sim, nits, ingest_s = _setup("scale", companies, invoices, latency_ms=latency_ms, latency_sd_ms=20, concurrency=20)
    n = common.count("SELECT count(*) AS n FROM invoices")
    t = time.monotonic()
    with common.InFlightSampler(sim.stats, interval_s=0.1) as sampler:
        _ours(nits, companies_at_once=slots // 4)
    classify_s = time.monotonic() - t
    window = sampler.busy_window()
    occupancy = sum(v for _, v, _ in window) / (len(window) * slots) if window else 0.0
    left = common.count("SELECT count(*) AS n FROM invoices WHERE status = 'pending'")
    stats = sim.stats()
    sim.stop()
    return {
        "scale": f"{companies} companies x {invoices} invoices ({n} ingested)",
        "invoices": n,
        "ingest_s": ingest_s,
        "classify_s": classify_s,
        "total_s": time.monotonic() - t0,
        "requests": stats["requests"],
        "pending_left": left,
        "occupancy": occupancy,
        "max_in_flight": stats["max_in_flight"],
        "latency_ms": latency_ms,
        "text_chart": common.text_chart(sampler.samples, slots, 15),
    }


if __name__ == "__main__":
    which = sys.argv[1]
    print(json.dumps({"cost": cost, "storm": storm, "scale": scale}[which]("--quick" in sys.argv)))
