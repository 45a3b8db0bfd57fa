"""The one DeepSeek price table of the project: billing, the weekly report and reconciliation read it here.

Which table: ``QUINCENA_PRICE_TABLE`` when set, else ``include/prices.json``, else the table shipped
with the provider. The parser is the provider's own (``PriceTable``).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from quincena.core import config


def table_path() -> Path | None:
    """QUINCENA_PRICE_TABLE, else include/prices.json, else None (the provider's shipped table)."""
    override = config.price_table_override()
    if override is not None:
        return override
    path = config.include_dir() / "prices.json"
    return path if path.is_file() else None


def _data() -> tuple[dict[str, Any], str]:
    """The table's JSON and how to name it in an error line."""
    from deepseek_provider.exceptions import ConfigurationError

    path = table_path()
    if path is None:
        text = resources.files("deepseek_provider").joinpath("prices.json").read_text(encoding="utf-8")
        return json.loads(text), "price table deepseek_provider/prices.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")), f"price table {path}"
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read DeepSeek price table {path}: {exc}") from None


def load_with_unit() -> tuple[Any, int]:
    """The configured PriceTable and its unit (tokens per price)."""
    from deepseek_provider.pricing import PriceTable

    data, name = _data()
    return PriceTable.from_dict(data, name), int(data.get("unit_tokens", 1_000_000))


def load() -> Any:
    """The configured PriceTable."""
    return load_with_unit()[0]


# -- the calendar of one week, for comparing with DeepSeek's pricing page ------------------------
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _per_million(value: Decimal, unit: int) -> str:
    return f"{(value * Decimal(1_000_000) / unit).normalize():f}"


def _rates_text(rates: Any, unit: int) -> str:
    return (f"cache hit {_per_million(rates.cache_hit, unit)}, cache miss {_per_million(rates.cache_miss, unit)}, "
            f"output {_per_million(rates.output, unit)}")  # fmt: skip


def _entry_lines(model: str, entry: Any, unit: int) -> list[str]:
    lines = [
        f"{model}: {entry.version} from {entry.valid_from.isoformat().replace('+00:00', 'Z')}, "
        f"{entry.currency} per 1M tokens" + (f" (source: {entry.source})" if entry.source else ""),
        f"  {'off-peak' if entry.peak is not None else 'price'}: {_rates_text(entry.base, unit)}",
    ]
    if entry.peak is not None:
        lines.append(f"  peak:     {_rates_text(entry.peak, unit)}")
    return lines


def _day_text(entry: Any, day: date) -> str:
    windows = entry.peak_windows_on(day)
    if entry.peak is None:
        return "one price all day (no peak billing)"
    if not windows:
        return "off-peak all day"
    utc = ", ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in windows)
    local = ", ".join(f"{_local(day, a)}-{_local(day, b)[4:]}" for a, b in windows)  # evening: the day before
    return f"peak {utc} UTC (Bogotá {local})"


def _local(day: date, clock: time) -> str:
    moment = datetime.combine(day, clock, tzinfo=UTC).astimezone(config.TZ)
    return f"{_DAY_NAMES[moment.weekday()]} {moment:%H:%M}"


def week_lines(table: Any, monday: date, models: list[str] | None = None) -> list[str]:
    """Per model: the entries in force that week (rates, currency, source), then each UTC day's peak hours."""
    unit = table.unit_tokens
    end = datetime.combine(monday + timedelta(days=7), time(), tzinfo=UTC)
    start = datetime.combine(monday, time(), tzinfo=UTC)
    lines: list[str] = []
    for model in models or table.models:
        entries = [e for e in table.entries(model) if e.valid_from < end]
        shown = [e for e in entries if e.valid_from >= start]
        current = [e for e in entries if e.valid_from < start][-1:]
        if not current and not shown:
            lines.append(f"{model}: no price in force that week")
            continue
        for entry in current + shown:
            lines += _entry_lines(model, entry, unit)
        for offset in range(7):
            day = monday + timedelta(days=offset)
            lines.append(f"  {_DAY_NAMES[offset]} {day}  {_day_lines(table, model, day)}")
    return lines


def _day_lines(table: Any, model: str, day: date) -> str:
    """A day's hours; a day on which a new entry starts names both sides of the switch."""
    from deepseek_provider.exceptions import UnknownModelError

    start = datetime.combine(day, time(), tzinfo=UTC)
    starts = [e for e in table.entries(model) if start < e.valid_from < start + timedelta(days=1)]
    parts = []
    try:
        parts.append(f"{table.entry(model, start).version}: {_day_text(table.entry(model, start), day)}")
    except UnknownModelError:
        parts.append("no price")
    parts += [f"from {e.valid_from:%H:%M} UTC {e.version}: {_day_text(e, day)}" for e in starts]
    return "; ".join(parts)
