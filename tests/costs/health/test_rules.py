"""The alert decision at and around every threshold (pure: no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from quincena.costs.health.rules import Signals, decide_alerts
from quincena.costs.health.settings import Thresholds
from tests.costs.health_seed import A

# -- the alert decision at and around every threshold ------------------------------------------
T = Thresholds()  # 429 > 5 %, spread > 20 %, forecast > budget, balance < 10, runway < 7 days


def _kinds(**signals) -> list[tuple[str, str]]:
    return [(a.kind, a.subject) for a in decide_alerts(Signals(**signals), T)]


@pytest.mark.parametrize(
    ("rate_limited", "fires"),
    [(4, False), (5, False), (6, True)],  # of 100 attempts: 4 %, exactly 5 %, 6 %
)
def test_429_rate_threshold(rate_limited: int, fires: bool) -> None:
    assert _kinds(calls=100, rate_limited=rate_limited) == ([("rate_429", "account")] if fires else [])


def test_429_rate_just_above_the_threshold_fires() -> None:
    assert _kinds(calls=10_000, rate_limited=501) == [("rate_429", "account")]  # 5.01 %
    assert _kinds(calls=0, rate_limited=0) == []


@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        ({"k1": 120, "k2": 100, "k3": 80}, []),  # exactly +20 % and -20 %
        ({"k1": 121, "k2": 100, "k3": 79}, [("spread", "k1"), ("spread", "k3")]),  # ±21 %
        ({"k1": 100, "k2": 100, "k3": 100}, []),
        ({"k1": 150, "k2": 150, "k3": 0}, [("spread", "k1"), ("spread", "k2"), ("spread", "k3")]),  # a dead key
        ({"k1": 10}, []),  # one active key is always an even share
    ],
)
def test_spread_threshold(calls: dict, expected: list) -> None:
    assert _kinds(active_key_calls=calls) == expected


@pytest.mark.parametrize(
    ("forecast", "fires"), [("99.99", False), ("100.00", False), ("100.01", True)]
)  # fmt: skip
def test_budget_threshold(forecast: str, fires: bool) -> None:
    firm = _kinds(firm_forecast_usd=Decimal(forecast), firm_budget_usd=Decimal("100"))
    assert firm == ([("budget", "firm")] if fires else [])
    company = _kinds(companies=((A, Decimal(forecast), Decimal("100.00")),))
    assert company == ([("budget", A)] if fires else [])


def test_no_budget_configured_never_alerts() -> None:
    assert _kinds(firm_forecast_usd=Decimal("1000"), firm_budget_usd=None) == []
    assert _kinds(firm_forecast_usd=Decimal("1000"), firm_budget_usd=Decimal(0)) == []


@pytest.mark.parametrize(
    ("balance", "runway", "fires"),
    [
        ("10.01", None, False), ("10", None, False), ("9.99", None, True),
        ("50", "7.1", False), ("50", "7", False), ("50", "6.9", True),
        (None, "0.5", False),  # unknown balance: reported, not alerted
    ],
)  # fmt: skip
def test_low_balance_threshold(balance: str | None, runway: str | None, fires: bool) -> None:
    kinds = _kinds(
        balance_usd=None if balance is None else Decimal(balance),
        runway_days=None if runway is None else Decimal(runway),
        balance_available=None if balance is None else True,
    )
    assert kinds == ([("low_balance", "account")] if fires else [])


def test_missing_tax_rules_alert_in_spanish() -> None:
    (alert,) = decide_alerts(Signals(tax_rules_missing=(2027,)), T)
    assert (alert.kind, alert.subject) == ("tax_rules", "firm")
    assert "Faltan las reglas de retención de 2027" in alert.message and "rules-2027.json" in alert.message
