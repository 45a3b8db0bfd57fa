"""Weekly report settings: trigger Params beat QUINCENA_* settings beat defaults."""

from __future__ import annotations

from decimal import Decimal

import pytest

from quincena.costs.health.settings import HealthSettings, resolve_settings


def test_settings_param_beats_environment_beats_default() -> None:
    env = {
        "QUINCENA_HEALTH_MAX_429_RATE": "0.10",
        "QUINCENA_MONTHLY_BUDGET_USD": "250",
        "QUINCENA_HEALTH_MAX_SPREAD": "",
    }
    settings = resolve_settings({"max_429_rate": 0.02, "monthly_budget_usd": None, "pool_slots": 8}, env)
    assert settings.thresholds.max_429_rate == Decimal("0.02")
    assert settings.thresholds.max_spread == Decimal("0.20")  # empty env = default
    assert settings.monthly_budget_usd == Decimal("250")
    assert settings.pool_slots == 8
    assert resolve_settings({}, env).thresholds.max_429_rate == Decimal("0.10")
    assert resolve_settings({}, {}).monthly_budget_usd is None
    assert resolve_settings({}, {}).pool_slots == 16  # include/pools.json
    assert HealthSettings.from_dict(settings.to_dict()) == settings
    with pytest.raises(ValueError, match="max_spread"):
        resolve_settings({"max_spread": "lots"}, {})
