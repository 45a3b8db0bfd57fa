"""Classification as request-sized batches (issue 15): planning, fair order, wave 2 waiting for its
representatives, strict off-peak pauses, and re-runs that add nothing — against the real PostgreSQL and
the real simulator, through the functions the DAG tasks call."""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from quincena.core import db
from quincena.devtools import sample
from quincena.pipeline import cycle
from tests.helpers import count as _count

CYCLE = "2026-11-Q1"


@pytest.fixture
def ready(clean_db, simulator, deepseek_conn, monkeypatch, tmp_path):
    monkeypatch.setenv("QUINCENA_INBOX", str(tmp_path / "inbox"))
    monkeypatch.setenv("QUINCENA_REPORTS", str(tmp_path / "reports"))
    deepseek_conn()
    return simulator


def _plan(companies: int, invoices: int, per_request: int = 2) -> tuple[list[dict], list[list[dict]]]:
    chosen = sample.generate(
        companies=companies, invoices=invoices, inbox=Path(os.environ["QUINCENA_INBOX"]), seed=3, period=CYCLE
    )
    params = {"cycle": CYCLE, "companies": [c.nit for c in chosen], "invoices_per_request": per_request}
    targets = cycle.company_targets(cycle.resolve_cycle(None, None, params))
    for target in targets:
        cycle.ingest(target)
    return targets, [cycle.plan_batches(t) for t in targets]


def _run_all(units: list[dict]) -> tuple[int, int]:
    """Run units the way the pool does, one at a time in order; a rescheduled unit goes to the back.
    Returns (units run, reschedules)."""
    queue, ran, rescheduled = list(units), 0, 0
    while queue:
        unit = queue.pop(0)
        try:
            cycle.classify_unit(unit)
            ran += 1
        except cycle.WaitForLessons:
            rescheduled += 1
            queue.append(unit)
    return ran, rescheduled


def test_units_are_fair_and_wave_two_learns_from_wave_one(ready) -> None:
    simulator = ready
    targets, planned = _plan(companies=3, invoices=20)
    units = cycle.schedule_units(targets, planned, "ignore", requests_per_unit=1)
    # Every planned batch is in exactly one unit; no invoice in two batches.
    ids = [i for u in units for b in u["batches"] for i in b]
    assert len(ids) == len(set(ids)) == sum(len(b["invoice_ids"]) for batches in planned for b in batches)
    # Fair order: every company's first unit comes before any company's second; wave 1 before wave 2.
    first_round = units[: len(targets)]
    assert {u["company_nit"] for u in first_round} == {t["company_nit"] for t in targets}
    waves = [u["wave"] for u in units]
    assert waves == sorted(waves) and 2 in waves
    assert all(u["waits_for"] for u in units if u["wave"] == 2)

    # Wave 2 run first: it waits (rescheduled) instead of asking DeepSeek for look-alikes.
    wave2 = next(u for u in units if u["wave"] == 2)
    before = simulator.stats()["requests"]
    with pytest.raises(cycle.WaitForLessons):
        cycle.classify_unit(wave2)
    assert simulator.stats()["requests"] == before

    _run_all(units)
    assert _count("SELECT count(*) AS n FROM invoices WHERE status = 'pending'") == 0
    # Supplier memory kept its savings: look-alikes of wave 2 came from memory, not from requests.
    memory = _count("SELECT count(*) AS n FROM classifications WHERE source = 'memory'")
    assert memory > 0
    wave2_ids = [i for u in units if u["wave"] == 2 for b in u["batches"] for i in b]
    from_model = _count(
        "SELECT count(DISTINCT invoice_id) AS n FROM classifications WHERE source = 'model' AND invoice_id = ANY(%s)",
        (wave2_ids,),
    )
    assert from_model < len(wave2_ids) / 2
    # One slot, one request: a unit never has two requests in flight.
    assert simulator.stats()["max_in_flight"] == 1


def test_a_rerun_unit_adds_nothing(ready) -> None:
    simulator = ready
    targets, planned = _plan(companies=1, invoices=10)
    units = cycle.schedule_units(targets, planned, "ignore", requests_per_unit=2)
    _run_all(units)
    classifications = _count("SELECT count(*) AS n FROM classifications")
    calls = _count("SELECT count(*) AS n FROM api_calls")
    requests = simulator.stats()["requests"]
    for unit in units:  # a retried or cleared task instance
        cycle.classify_unit(unit)
    assert _count("SELECT count(*) AS n FROM classifications") == classifications
    assert _count("SELECT count(*) AS n FROM api_calls") == calls
    assert simulator.stats()["requests"] == requests
    dupes = "SELECT count(*) AS n FROM (SELECT invoice_line_id FROM classifications GROUP BY 1 HAVING count(*) > 1) d"
    assert _count(dupes) == 0


def test_units_respect_the_mapping_limit(ready) -> None:
    targets, planned = _plan(companies=2, invoices=12, per_request=1)
    batches = sum(len(b) for b in planned)
    units = cycle.schedule_units(targets, planned, "ignore", requests_per_unit=1, max_units=5)
    # More batches than the limit: packed several to a unit, never more units than batches need.
    per_unit = -(-batches // 5)
    assert all(len(u["batches"]) <= per_unit for u in units)
    assert sum(len(u["batches"]) for u in units) == batches
    assert Counter(u["company_nit"] for u in units).keys() == {t["company_nit"] for t in targets}


def test_strict_policy_pauses_inside_a_peak_window(ready) -> None:
    simulator = ready
    targets, planned = _plan(companies=1, invoices=6)
    units = cycle.schedule_units(targets, planned, "strict", requests_per_unit=1)
    in_peak = datetime(2026, 11, 16, 2, 30, tzinfo=UTC)  # 01:00-04:00 UTC is a peak window
    before = simulator.stats()["requests"]
    with pytest.raises(cycle.PeakHours) as waited:
        cycle.classify_unit(units[0], now=lambda: in_peak)
    assert waited.value.until == datetime(2026, 11, 16, 4, 0, tzinfo=UTC)
    assert simulator.stats()["requests"] == before
    # Off-peak the same unit runs; 'prefer' and 'ignore' never pause a started unit.
    cycle.classify_unit(units[0], now=lambda: in_peak + timedelta(hours=2))
    assert simulator.stats()["requests"] > before
    prefer = {**units[1], "offpeak_policy": "prefer"}
    cycle.classify_unit(prefer, now=lambda: in_peak)


def test_books_wait_for_a_complete_company(ready) -> None:
    targets, planned = _plan(companies=1, invoices=4)
    with pytest.raises(cycle.IncompleteCompany):
        cycle.store_entries(targets[0], require_complete=True)
    _run_all(cycle.schedule_units(targets, planned, "ignore"))
    assert cycle.store_entries(targets[0], require_complete=True) is not None
    assert db.query_text("SELECT count(*) AS n FROM journal_lines")[0]["n"] > 0


def test_several_requests_per_unit_and_a_split_tail(ready) -> None:
    targets, planned = _plan(companies=2, invoices=30, per_request=1)
    units = cycle.schedule_units(targets, planned, "ignore", requests_per_unit=4, tail_units=3)
    sizes = [len(u["batches"]) for u in units]
    assert max(sizes[:-3]) == 4  # the bulk: up to four requests per task instance
    assert sizes[-3:] == [1, 1, 1]  # the end of the queue: split in quarters, no long tail
    ids = [i for u in units for b in u["batches"] for i in b]
    assert len(ids) == len(set(ids)) == sum(len(b["invoice_ids"]) for batches in planned for b in batches)


def test_units_fill_the_target_time_at_the_ledgers_latency(ready, monkeypatch) -> None:
    targets, planned = _plan(companies=1, invoices=40, per_request=1)
    monkeypatch.setenv("QUINCENA_UNIT_TARGET_S", "30")
    # No answers in the ledger yet: 10 s assumed, three requests per unit.
    assert max(len(u["batches"]) for u in cycle.schedule_units(targets, planned, "ignore", tail_units=0)) == 3
    with db.transaction() as cur:
        cur.execute(
            "INSERT INTO api_calls (attempt_id, call_id, attempt_no, started_at, key_name, model, outcome, latency_ms)"
            " SELECT gen_random_uuid(), gen_random_uuid(), 1, now(), 'k', 'deepseek-v4-flash', 'ok', 2000"
            " FROM generate_series(1, 5)"
        )
    # Answers take 2 s: fifteen requests fill 30 s (or the whole wave, when it is smaller).
    units = cycle.schedule_units(targets, planned, "ignore", tail_units=0)
    largest_wave = max(sum(1 for b in planned[0] if b["wave"] == w) for w in (1, 2))
    assert max(len(u["batches"]) for u in units) == min(15, largest_wave) > 3
