"""The dated price table shipped with the provider (deepseek_provider/prices.json)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from deepseek_provider.exceptions import ConfigurationError, UnknownModelError
from deepseek_provider.pricing import PriceTable


def test_price_table_dates_aliases_and_peak_windows() -> None:
    table = PriceTable.default()
    flash_2026_03 = table.cost("deepseek-chat", 1_000_000, 1_000_000, 1_000_000, datetime(2026, 3, 1, tzinfo=UTC))
    assert flash_2026_03 == (Decimal("0.0028") + Decimal("0.14") + Decimal("0.28"), "v4-launch")
    peak = table.cost("deepseek-v4-flash", 0, 0, 1_000_000, datetime(2026, 9, 1, 2, 30, tzinfo=UTC))
    off_peak = table.cost("deepseek-v4-flash", 0, 0, 1_000_000, datetime(2026, 9, 1, 12, 0, tzinfo=UTC))
    assert peak == (Decimal("1.20"), "v4.1-2026-08-16:peak") and off_peak == (Decimal("0.60"), "v4.1-2026-08-16")
    with pytest.raises(UnknownModelError):
        table.cost("gpt-5", 1, 1, 1, datetime(2026, 9, 1, tzinfo=UTC))
    with pytest.raises(UnknownModelError):
        table.cost("deepseek-v4-pro", 1, 1, 1, datetime(2020, 1, 1, tzinfo=UTC))


def test_json_floats_stay_exact_and_bad_tables_are_refused() -> None:
    entry = {"valid_from": "2026-01-01T00:00:00Z", "version": "t", "cache_hit": 0.1, "cache_miss": 0.2, "output": 0.3}
    table = PriceTable.from_dict({"unit_tokens": 1000, "models": {"m": [entry]}})
    assert table.cost("m", 1000, 1000, 1000, datetime(2026, 2, 1, tzinfo=UTC)) == (Decimal("0.6"), "t")
    with pytest.raises(ConfigurationError):
        PriceTable.from_dict({"aliases": {"a": "missing"}, "models": {"m": [entry]}})
    with pytest.raises(ConfigurationError):
        PriceTable.from_dict({"models": {"m": [{"version": "no date"}]}})
    with pytest.raises(ValueError):
        table.cost("m", 1, 1, 1, datetime(2026, 2, 1))  # a naive time cannot be placed in a peak window
