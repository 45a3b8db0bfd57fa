"""A real first quincena for the review tests: sample inbox, ingest, classification on the simulator, entries."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from quincena.devtools import sample
from quincena.pipeline import cycle

CYCLE_1, CYCLE_2 = "2026-11-Q1", "2026-11-Q2"
SEED = 21
FLAGGED_SEED = 4


def run_cycle(cycle_id: str, nits: list[str] | None = None) -> list[dict]:
    """Plan, ingest, classify and post entries for the cycle's companies (the DAG's steps, in order)."""
    params = {"cycle": cycle_id, "companies": nits or [], "invoices_per_request": 4}
    targets = cycle.company_targets(cycle.resolve_cycle(None, None, params))
    for target in targets:
        cycle.ingest(target)
        cycle.classify(target, concurrency=2)
        cycle.store_entries(target)
    return targets


def one_company_cycle(seed: int) -> dict:
    """A sample company's first quincena (24 invoices of ``seed``), classified on the simulator, entries posted."""
    company = sample.generate(companies=1, invoices=24, inbox=Path(os.environ["QUINCENA_INBOX"]), seed=seed,
                              period=CYCLE_1)[0]  # fmt: skip
    return run_cycle(CYCLE_1, [company.nit])[0]


@pytest.fixture
def first_cycle(clean_db, simulator, deepseek_conn, monkeypatch, tmp_path) -> dict:
    """One company's first quincena, classified, with invoices left in review."""
    monkeypatch.setenv("QUINCENA_INBOX", str(tmp_path / "inbox"))
    deepseek_conn()
    return one_company_cycle(SEED)


@pytest.fixture
def flagged_cycle(simulated_firm) -> dict:
    """A first quincena whose invoices in review were posted and then flagged: every line has an account and an
    entry, and the XML states other withholdings than the rules give (the sample of seed FLAGGED_SEED)."""
    return one_company_cycle(FLAGGED_SEED)


@pytest.fixture(scope="module")
def airflow_app(airflow_home):
    """Airflow's own api-server app (create_app) with our plugin mounted at /review."""
    from airflow.api_fastapi.app import create_app

    # The api-server signs its JWTs with [api_auth] jwt_secret (generated into airflow.cfg by `airflow
    # api-server`); this in-process app gets one of its own for the module.
    previous = os.environ.get("AIRFLOW__API_AUTH__JWT_SECRET")
    os.environ["AIRFLOW__API_AUTH__JWT_SECRET"] = secrets.token_urlsafe(32)
    try:
        with TestClient(create_app(), base_url="http://airflow.test") as client:
            yield client
    finally:
        if previous is None:
            os.environ.pop("AIRFLOW__API_AUTH__JWT_SECRET", None)
        else:
            os.environ["AIRFLOW__API_AUTH__JWT_SECRET"] = previous


def token(name: str, role: str) -> str:
    """A JWT of the simple auth manager for ``name`` with ``role`` (admin, op, user, viewer)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=name, role=role))
