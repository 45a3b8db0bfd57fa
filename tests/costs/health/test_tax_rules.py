"""From 1 December the weekly report wants next year's withholding rules; a year without its own is flagged too."""

from __future__ import annotations

import shutil

import pytest

from quincena.core import config
from quincena.costs.health.figures import tax_rules_figures
from quincena.costs.health.rules import decide_alerts, signals_from_figures
from quincena.costs.health.settings import Thresholds
from quincena.costs.health.week import week_for_label


@pytest.fixture
def only_2026(tmp_path, monkeypatch):
    tax = tmp_path / "include" / "tax"
    tax.mkdir(parents=True)
    shutil.copy(config.include_dir() / "tax" / "rules-2026.json", tax / "rules-2026.json")
    monkeypatch.setenv("QUINCENA_HOME", str(tmp_path))


@pytest.mark.parametrize(
    ("week", "missing"),
    [
        ("2026-W48", []),  # ends Sunday Nov 29: not December yet
        ("2026-W49", [2027]),  # Nov 30 - Dec 6: December, and 2027's file is not there
        ("2027-W02", [2027]),  # January without its own rules: every invoice goes to review
    ],
)
def test_missing_years(only_2026, week: str, missing: list[int]) -> None:
    assert tax_rules_figures(week_for_label(week))["missing_years"] == missing


def test_the_alert_follows_the_figures(only_2026) -> None:
    figures = {
        "total": {"calls": 0, "rate_limited": 0}, "keys": [], "balance": {},
        "spend": {"forecast_month_usd": None, "budget_usd": None, "companies": []},
        "tax_rules": tax_rules_figures(week_for_label("2026-W49")),
    }  # fmt: skip
    assert [a.kind for a in decide_alerts(signals_from_figures(figures), Thresholds())] == ["tax_rules"]
