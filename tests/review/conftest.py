"""A real first quincena for the review tests: sample inbox, ingest, classification on the simulator, entries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from quincena.devtools import sample
from quincena.pipeline import cycle

CYCLE_1, CYCLE_2 = "2026-11-Q1", "2026-11-Q2"
SEED = 21


def run_cycle(cycle_id: str, nits: list[str] | None = None) -> list[dict]:
    """Plan, ingest, classify and post entries for the cycle's companies (the DAG's steps, in order)."""
    params = {"cycle": cycle_id, "companies": nits or [], "invoices_per_request": 4}
    targets = cycle.company_targets(cycle.resolve_cycle(None, None, params))
    for target in targets:
        cycle.ingest(target)
        cycle.classify(target, concurrency=2)
        cycle.store_entries(target)
    return targets


@pytest.fixture
def first_cycle(clean_db, simulator, deepseek_conn, monkeypatch, tmp_path) -> dict:
    """One company's first quincena, classified, with invoices left in review."""
    monkeypatch.setenv("QUINCENA_INBOX", str(tmp_path / "inbox"))
    deepseek_conn()
    company = sample.generate(companies=1, invoices=24, inbox=Path(os.environ["QUINCENA_INBOX"]), seed=SEED,
                              period=CYCLE_1)[0]  # fmt: skip
    return run_cycle(CYCLE_1, [company.nit])[0]
