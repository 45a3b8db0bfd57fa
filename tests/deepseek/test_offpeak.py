"""Peak windows come from the price table; the policy decides when classification may start."""

from datetime import UTC, datetime

import pytest

from quincena.core import config
from quincena.deepseek import offpeak


@pytest.mark.parametrize(
    ("hour", "minute", "strict", "prefer_pause"),
    [
        (0, 59, None, None),  # 19:59 Bogotá: off-peak
        (1, 0, (4, 0), None),  # the evening window starts
        (3, 59, (4, 0), None),
        (4, 0, None, None),  # the gap between the windows is off-peak
        (6, 0, (10, 0), None),
        (9, 30, (10, 0), None),
        (10, 0, None, None),  # 05:00 Bogotá: the cycle's scheduled start
    ],
)
def test_windows_and_policies(hour, minute, strict, prefer_pause) -> None:
    now = datetime(2026, 11, 16, hour, minute, tzinfo=UTC)
    expected = now.replace(hour=strict[0], minute=strict[1]) if strict else now
    assert offpeak.wait_until(now, "strict") == expected
    assert offpeak.wait_until(now, "prefer") == expected  # prefer also starts off-peak...
    assert offpeak.pause_batch(now, "prefer") is prefer_pause  # ...but never pauses a started run
    assert offpeak.pause_batch(now, "strict") == (expected if strict else None)
    assert offpeak.wait_until(now, "ignore") == now


def test_no_windows_before_peak_billing_started() -> None:
    before = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)  # the table has no peak prices then
    assert offpeak.wait_until(before, "strict") == before


def test_policy_setting_and_param(monkeypatch) -> None:
    assert config.offpeak_policy({}) == "strict"  # the default keeps calls off-peak
    assert config.offpeak_policy({"QUINCENA_OFFPEAK_POLICY": "Prefer"}) == "prefer"
    with pytest.raises(ValueError, match="QUINCENA_OFFPEAK_POLICY"):
        config.offpeak_policy({"QUINCENA_OFFPEAK_POLICY": "sometimes"})
    monkeypatch.setenv("QUINCENA_OFFPEAK_POLICY", "prefer")
    assert offpeak.resolve_policy(None) == "prefer"
    assert offpeak.resolve_policy("strict") == "strict"  # the trigger form wins
