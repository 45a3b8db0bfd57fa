"""Exact numbers across boundaries: Decimals to JSON-able text, and the one non-negative Decimal parser."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_MAGNITUDE = 30  # no amount, price, rate or token count comes near 10**30 (or 10**-30)


class NumberError(ValueError):
    """A text that is not a finite number >= 0 (or outside the caller's bound); one line, fit for the user."""


def plain(value: Any) -> Any:
    """JSON-able copy: Decimals as exact strings in plain notation, dates ISO, tuples as lists.

    ``str(Decimal("0E-8"))`` is ``"0E-8"``; here it is ``"0.00000000"`` — never exponent notation.
    """
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def decimal_text(value: Decimal) -> str:
    """A Decimal as text without exponent, keeping its exponent's digits (``1.50`` stays ``1.50``)."""
    return format(value, "f")


def non_negative_decimal(text: str, below: Decimal | None = None) -> Decimal:
    """``text`` as a finite Decimal >= 0 (and < ``below`` when given); NumberError says why not.

    The message names neither the setting nor the place: callers prefix it (a column and line, a Param name).
    """
    text = str(text).strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise NumberError(f"{_shown(text)} is not a number") from None
    if not value.is_finite() or value < 0:
        raise NumberError(f"{_shown(text)} must be a number >= 0")
    if value and not -MAX_MAGNITUDE <= value.adjusted() <= MAX_MAGNITUDE:
        # 1e999999999 is a valid Decimal, but every sum or rounding of it overflows later, far from here.
        raise NumberError(f"{_shown(text)} is out of range (beyond 1e{MAX_MAGNITUDE} or below 1e-{MAX_MAGNITUDE})")
    if below is not None and value >= below:
        raise NumberError(f"{_shown(text)} must be below {below}")
    return value


def _shown(text: str) -> str:
    """The text as quoted in a message, cut so a megabyte of digits stays a one-line message."""
    return repr(text if len(text) <= 40 else text[:40] + "…")
