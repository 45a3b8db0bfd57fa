"""The price calendar: weekday-aware peak hours, the exact switch instant, and refusal of bad entries.
Billing, the off-peak policy and the report all ask the same table, so these pin all of them."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from deepseek_provider.exceptions import ConfigurationError
from deepseek_provider.pricing import PriceTable

from quincena.core import config
from quincena.deepseek import offpeak, prices

SATURDAY_0200 = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
SUNDAY_0700 = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
MONDAY_0200 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
MILLION = 1_000_000


def _shipped() -> dict:
    return json.loads((config.include_dir() / "prices.json").read_text(encoding="utf-8"))


def test_weekends_are_off_peak_weekdays_are_not() -> None:
    table = prices.load()
    assert table.cost("deepseek-v4-flash", 0, 0, MILLION, SATURDAY_0200) == (Decimal("0.60"), "v4.1-2026-08-16")
    assert table.cost("deepseek-v4-flash", 0, 0, MILLION, SUNDAY_0700) == (Decimal("0.60"), "v4.1-2026-08-16")
    assert table.cost("deepseek-v4-flash", 0, 0, MILLION, MONDAY_0200) == (Decimal("1.20"), "v4.1-2026-08-16:peak")
    assert offpeak.peak_windows(SATURDAY_0200) == []
    assert [(a.hour, b.hour) for a, b in offpeak.peak_windows(MONDAY_0200)] == [(1, 4), (6, 10)]


def test_the_switch_is_at_16_00_utc_not_midnight() -> None:
    table = prices.load()
    before = table.cost("deepseek-v4-flash", 0, MILLION, 0, datetime(2026, 8, 16, 15, 59, tzinfo=UTC))
    after = table.cost("deepseek-v4-flash", 0, MILLION, 0, datetime(2026, 8, 16, 16, 0, tzinfo=UTC))
    assert before == (Decimal("0.14"), "v4-launch")
    assert after == (Decimal("0.15"), "v4.1-2026-08-16")
    entry = table.entry("deepseek-v4-flash", datetime(2026, 8, 16, 16, 0, tzinfo=UTC))
    assert entry.currency == "USD" and "checked" in entry.source


@pytest.mark.parametrize("policy", ["strict", "prefer"])
def test_the_policy_does_not_wait_on_a_weekend(policy: str) -> None:
    assert offpeak.wait_until(SATURDAY_0200, policy) == SATURDAY_0200
    assert offpeak.pause_batch(SATURDAY_0200, "strict") is None
    assert offpeak.wait_until(MONDAY_0200, policy) == MONDAY_0200.replace(hour=4)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda e: e["peak"].update(days=["mon", "funday"]),
            r"deepseek-v4-flash entry 2 \(v4.1-2026-08-16\): .*funday",
        ),
        (lambda e: e["peak"].update(days="mon-fri"), r"entry 2 \(v4.1-2026-08-16\): peak days"),
        (lambda e: e["peak"].pop("days"), r"entry 2 \(v4.1-2026-08-16\): peak has windows_utc but no days"),
        (lambda e: e["peak"].update(timezone="America/Bogota"), r"entry 2 .*timezone"),
        (lambda e: e.update(valid_from="2026-08-16T16:00:00"), r"entry 2 .*no timezone"),
        (lambda e: e["peak"].update(windows_utc=[["04:00", "01:00"]]), r"entry 2 .*does not end after"),
        (lambda e: e.update(currency="dollars"), r"entry 2 .*currency"),
        (lambda e: e.update(output="-1"), r"entry 2 .*non-negative"),
        (lambda e: e.pop("cache_miss"), r"entry 2 \(v4.1-2026-08-16\): missing 'cache_miss'"),
    ],
)
def test_a_bad_entry_is_refused_with_one_line_naming_it(change, message: str) -> None:
    data = copy.deepcopy(_shipped())
    change(data["models"]["deepseek-v4-flash"][1])
    with pytest.raises(ConfigurationError, match=message) as caught:
        PriceTable.from_dict(data)
    assert "\n" not in str(caught.value)


def test_the_configured_file_is_named_in_the_error(tmp_path, monkeypatch) -> None:
    data = _shipped()
    data["models"]["deepseek-v4-pro"][0]["valid_from"] = "soon"
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setenv("QUINCENA_PRICE_TABLE", str(path))
    with pytest.raises(ConfigurationError, match=rf"{path}: deepseek-v4-pro entry 1 \(v4-launch\)"):
        prices.load()


def test_the_older_form_still_means_every_day() -> None:
    data = _shipped()
    entry = data["models"]["deepseek-v4-flash"][1]
    windows = entry["peak"].pop("windows_utc")
    for name in ("days", "timezone"):
        entry["peak"].pop(name)
    entry["peak_windows_utc"] = windows
    table = PriceTable.from_dict(data)
    assert table.cost("deepseek-v4-flash", 0, 0, MILLION, SATURDAY_0200)[1] == "v4.1-2026-08-16:peak"
