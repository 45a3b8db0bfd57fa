"""Colombian Spanish formats for what accountants and clients read: 1.234.567,89 and 2 de diciembre de 2026."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from quincena.core import config

MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
          "noviembre", "diciembre")  # fmt: skip


def number(value: Decimal | int | float, places: int = 2) -> str:
    """``1234567.891`` → ``1.234.567,89`` (dot thousands, comma decimals, half-up rounding)."""
    quantum = Decimal(1).scaleb(-places)
    text = format(Decimal(str(value)).quantize(quantum, ROUND_HALF_UP), f",.{places}f")
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def percent(share: Decimal | float, places: int = 2) -> str:
    """``0.1234`` → ``12,34 %``."""
    return f"{number(Decimal(str(share)) * 100, places)} %"


def long_date(day: date) -> str:
    """``2 de diciembre de 2026``."""
    return f"{day.day} de {MONTHS[day.month - 1]} de {day.year}"


def month_year(day: date) -> str:
    """``noviembre de 2026``."""
    return f"{MONTHS[day.month - 1]} de {day.year}"


def local_time(moment: datetime | None) -> str:
    """A moment as the accountants read it: Bogotá time."""
    return moment.astimezone(config.TZ).strftime("%Y-%m-%d %H:%M") if moment else "?"
