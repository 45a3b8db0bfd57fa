"""Classification through the cycle's queue and its lanes (issue 15): fair order, wave 2 waiting for its
representatives, lanes sharing the queue concurrently, halts giving batches back, strict off-peak pauses
and re-runs that add nothing — against the real PostgreSQL and the real simulator, through the functions
the DAG tasks call."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from quincena.classify import classifier, queue
from quincena.core import db
from quincena.devtools import sample
from quincena.pipeline import cycle
from tests.helpers import count as _count

CYCLE = "2026-11-Q1"
PENDING = "SELECT count(*) AS n FROM invoices WHERE status = 'pending'"


def _plan(companies: int, invoices: int, per_request: int = 2) -> tuple[list[dict], list[list[dict]]]:
    chosen = sample.generate(
        companies=companies, invoices=invoices, inbox=Path(os.environ["QUINCENA_INBOX"]), seed=3, period=CYCLE
    )
    params = {"cycle": CYCLE, "companies": [c.nit for c in chosen], "invoices_per_request": per_request}
    targets = cycle.company_targets(cycle.resolve_cycle(None, None, params))
    for target in targets:
        cycle.ingest(target)
    return targets, [cycle.plan_batches(t) for t in targets]


def _run_lanes(lanes: list[dict]) -> list[dict]:
    """Every lane in its own thread at once, as the pool runs them; their reports in lane order."""
    reports: list[dict] = [{} for _ in lanes]
    errors: list[BaseException] = []

    def run(n: int, lane: dict) -> None:
        try:
            reports[n] = cycle.classify_lane(lane)
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n, lane)) for n, lane in enumerate(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return reports


def _queue() -> list[dict]:
    return db.query_text("SELECT position, company_nit, wave, status FROM classify_queue ORDER BY position")


def test_lanes_share_the_queue_fairly_and_wave_two_learns_from_wave_one(simulated_firm) -> None:
    simulator = simulated_firm
    simulator.configure(latency_ms=30, latency_sd_ms=10)
    targets, planned = _plan(companies=3, invoices=20)
    lanes = cycle.schedule_lanes(targets, planned, "ignore", lanes=4)
    assert [lane["label"] for lane in lanes] == ["carril 1/4", "carril 2/4", "carril 3/4", "carril 4/4"]
    rows = _queue()
    assert len(rows) == sum(len(b) for b in planned)
    # Fair order: every company's first batch before any company's second.
    assert {r["company_nit"] for r in rows[: len(targets)]} == {t["company_nit"] for t in targets}
    # Every planned invoice is queued exactly once.
    ids = db.query_text("SELECT unnest(invoice_ids) AS id FROM classify_queue")
    assert len(ids) == len({r["id"] for r in ids}) == sum(len(b["invoice_ids"]) for bs in planned for b in bs)

    reports = _run_lanes(lanes)
    assert _count(PENDING) == 0
    assert {r["status"] for r in _queue()} == {"done"}
    assert sum(r["batches"] for r in reports) == len(rows)
    assert sum(1 for r in reports if r["batches"]) >= 2  # the lanes really shared the work
    # The lanes served several companies each: a freed slot takes any company's batch.
    assert max(len(r["companies"]) for r in reports) >= 2
    # Supplier memory kept its savings: the look-alikes of wave 2 mostly came from memory.
    assert _count("SELECT count(*) AS n FROM classifications WHERE source = 'memory'") > 0
    wave2 = [b["invoice_ids"] for bs in planned for b in bs if b["wave"] == 2]
    wave2_ids = [i for ids in wave2 for i in ids]
    assert wave2_ids
    from_model = _count(
        "SELECT count(DISTINCT invoice_id) AS n FROM classifications WHERE source = 'model' AND invoice_id = ANY(%s)",
        (wave2_ids,),
    )
    assert from_model < len(wave2_ids) / 2
    # One lane, one request: never more in flight than lanes.
    assert 1 <= simulator.settled_stats()["max_in_flight"] <= 4


def test_a_wave_two_batch_is_not_claimed_while_its_representatives_are_pending(simulated_firm) -> None:
    targets, planned = _plan(companies=1, invoices=20)
    cycle.schedule_lanes(targets, planned, "ignore", lanes=2)
    waves = {r["position"]: r["wave"] for r in _queue()}
    assert 2 in waves.values()
    claimed = []  # one lane per claim: a lane holds one batch at a time (and gets its own claim back)
    while (batch := queue.claim(CYCLE, f"lane-{len(claimed) + 1}", lesson_wait_s=1800)) is not None:
        claimed.append(batch)
    # Only wave 1 was handed out: the representatives are claimed but not answered yet.
    assert {b.wave for b in claimed} == {1}
    assert queue.left(CYCLE, "lane-99") == (sum(1 for w in waves.values() if w == 2), len(claimed))
    assert queue.own_claims(CYCLE, "lane-1") == [claimed[0]]  # what a retried lane sends first
    # After the lesson wait they go anyway.
    assert queue.claim(CYCLE, "lane-99", lesson_wait_s=0).wave == 2


def test_a_rerun_adds_nothing(simulated_firm) -> None:
    simulator = simulated_firm
    targets, planned = _plan(companies=1, invoices=10)
    _run_lanes(cycle.schedule_lanes(targets, planned, "ignore", lanes=2))
    classifications = _count("SELECT count(*) AS n FROM classifications")
    calls = _count("SELECT count(*) AS n FROM api_calls")
    requests = simulator.settled_stats()["requests"]
    # A retried lane finds the queue done; a re-run schedule (stale plan) queues decided invoices only.
    assert cycle.classify_lane({"lane": 1, **_lane_of(targets)})["batches"] == 0
    again = cycle.classify_lane(cycle.schedule_lanes(targets, planned, "ignore", lanes=1)[0])
    assert again["batches"] == sum(len(b) for b in planned) and again["requests"] == 0
    assert _count("SELECT count(*) AS n FROM classifications") == classifications
    assert _count("SELECT count(*) AS n FROM api_calls") == calls
    assert simulator.settled_stats()["requests"] == requests
    dupes = "SELECT count(*) AS n FROM (SELECT invoice_line_id FROM classifications GROUP BY 1 HAVING count(*) > 1) d"
    assert _count(dupes) == 0


def _lane_of(targets: list[dict]) -> dict:
    target = targets[0]
    keys = ("cycle_id", "period_end", "settings")
    return {**{k: target[k] for k in keys}, "lanes": 1, "label": "carril 1/1", "offpeak_policy": "ignore"}


def test_a_halted_lane_gives_its_batch_back(simulated_firm) -> None:
    simulator = simulated_firm
    targets, planned = _plan(companies=1, invoices=6)
    lane = cycle.schedule_lanes(targets, planned, "ignore", lanes=1)[0]
    simulator.configure(spend_limit_usd=Decimal("0"))  # every request: 402 Insufficient Balance
    with pytest.raises(classifier.ClassificationHalted) as halted:
        cycle.classify_lane(lane)
    assert not halted.value.retryable
    assert {r["status"] for r in _queue()} == {"queued"}  # nothing stuck as claimed, nothing marked done
    simulator.configure(spend_limit_usd=None)  # topped up: the same lane finishes the cycle
    cycle.classify_lane(lane)
    assert _count(PENDING) == 0


def test_a_retried_lane_takes_back_its_own_claim(simulated_firm, monkeypatch) -> None:
    monkeypatch.setenv("QUINCENA_LESSON_WAIT_S", "0")
    targets, planned = _plan(companies=1, invoices=8)
    lanes = cycle.schedule_lanes(targets, planned, "ignore", lanes=2)
    stuck = queue.claim(CYCLE, "lane-1", lesson_wait_s=0)  # lane 1's try died after claiming
    cycle.classify_lane(lanes[1])  # lane 2 sends everything else, not what lane 1 holds
    assert [r["status"] for r in _queue() if r["status"] != "done"] == ["claimed"]
    assert _count(PENDING) == len(stuck.invoice_ids)
    report = cycle.classify_lane(lanes[0])  # lane 1's retry
    assert report["batches"] == 1 and _count(PENDING) == 0


def test_strict_policy_pauses_inside_a_peak_window(simulated_firm) -> None:
    simulator = simulated_firm
    targets, planned = _plan(companies=1, invoices=6)
    lane = cycle.schedule_lanes(targets, planned, "strict", lanes=1)[0]
    in_peak = datetime(2026, 11, 16, 2, 30, tzinfo=UTC)  # 01:00-04:00 UTC is a peak window
    before = simulator.settled_stats()["requests"]
    with pytest.raises(cycle.PeakHours) as waited:
        cycle.classify_lane(lane, now=lambda: in_peak)
    assert waited.value.until == datetime(2026, 11, 16, 4, 0, tzinfo=UTC)
    assert simulator.settled_stats()["requests"] == before
    # 'prefer' never pauses a started lane; off-peak 'strict' runs.
    cycle.classify_lane({**lane, "offpeak_policy": "prefer"}, now=lambda: in_peak)
    assert simulator.settled_stats()["requests"] > before
    cycle.classify_lane(lane, now=lambda: in_peak + timedelta(hours=2))
    assert _count(PENDING) == 0


def test_books_wait_for_a_complete_company(simulated_firm) -> None:
    targets, planned = _plan(companies=1, invoices=4)
    with pytest.raises(cycle.IncompleteCompany):
        cycle.store_entries(targets[0], require_complete=True)
    _run_lanes(cycle.schedule_lanes(targets, planned, "ignore"))
    assert cycle.store_entries(targets[0], require_complete=True) is not None
    assert db.query_text("SELECT count(*) AS n FROM journal_lines")[0]["n"] > 0


def test_never_more_lanes_than_batches(simulated_firm) -> None:
    targets, planned = _plan(companies=1, invoices=4, per_request=8)
    batches = sum(len(b) for b in planned)
    assert len(cycle.schedule_lanes(targets, planned, "ignore", lanes=16)) == batches < 16
    assert cycle.schedule_lanes(targets, [[] for _ in planned], "ignore", lanes=16) == []
    assert cycle.schedule_lanes([], [], "ignore") == []
