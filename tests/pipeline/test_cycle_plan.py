"""The cycle's plan step: what a run processes when the trigger form says little or something wrong."""

from datetime import datetime

import pytest

from quincena.core import companies, config, periods
from quincena.core.companies import Company
from quincena.pipeline import cycle


def test_a_manual_run_without_an_interval_processes_the_last_closed_quincena(clean_db) -> None:
    companies.upsert([Company("900373115", 3, "Ferretería El Tornillo S.A.S.")])
    plan = cycle.resolve_cycle(None, None, {})
    assert plan["cycle_id"] == periods.previous_closed_cycle(datetime.now(config.TZ).date())
    assert plan["companies"] == ["900373115"]
    assert plan["company_names"] == {"900373115": "Ferretería El Tornillo S.A.S."}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cycle": "2026-13-Q1"}, "month"),
        ({"companies": ["123"]}, "not active"),
        ({"invoices_per_request": 0}, "at least 1"),
    ],
)
def test_a_bad_request_is_a_plan_error(clean_db, params: dict, message: str) -> None:
    companies.upsert([Company("900373115", 3, "Ferretería El Tornillo S.A.S.")])
    with pytest.raises(cycle.PlanError, match=message):
        cycle.resolve_cycle(None, None, {"cycle": "2026-11-Q1", **params})
