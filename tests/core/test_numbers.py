"""core.numbers: exact Decimals to JSON text, and the one non-negative Decimal parser."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from quincena.core.numbers import NumberError, non_negative_decimal, plain


def test_tiny_and_zero_decimals_print_without_exponent() -> None:
    assert str(Decimal("0E-8")) == "0E-8"  # what the helper must never print
    assert plain(Decimal("0E-8")) == "0.00000000"
    assert plain(Decimal("1E-8")) == "0.00000001"
    assert plain(Decimal("0")) == "0"
    assert plain(Decimal("1E+3")) == "1000"
    assert plain(Decimal("1.50")) == "1.50"  # exact: trailing zeros kept
    assert "E" not in plain(Decimal("0.00000001") * Decimal("0.00000001"))


def test_plain_walks_containers_and_dates() -> None:
    value = {"a": (Decimal("0E-8"), [date(2026, 11, 3)]), 7: datetime(2026, 11, 3, 5, tzinfo=UTC), "n": None}
    assert plain(value) == {"a": ["0.00000000", ["2026-11-03"]], "7": "2026-11-03T05:00:00+00:00", "n": None}
    json.dumps(plain(value))  # JSON-able as is


def test_non_negative_decimal() -> None:
    assert non_negative_decimal(" 0.05 ") == Decimal("0.05")
    assert non_negative_decimal("0") == Decimal(0)
    assert non_negative_decimal("0.99", below=Decimal(1)) == Decimal("0.99")
    for text, why in [("x", "is not a number"), ("-1", ">= 0"), ("NaN", ">= 0"), ("Infinity", ">= 0")]:
        with pytest.raises(NumberError, match=why):
            non_negative_decimal(text)
    with pytest.raises(NumberError, match="must be below 1"):
        non_negative_decimal("1", below=Decimal(1))
    assert issubclass(NumberError, ValueError)
