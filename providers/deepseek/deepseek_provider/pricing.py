"""Dated DeepSeek price calendar, read from JSON configuration (never constants in code).

Format (prices in ``currency`` per ``unit_tokens`` tokens, as strings so they stay exact Decimals)::

    {
      "unit_tokens": 1000000,
      "aliases": {"deepseek-chat": "deepseek-v4-flash"},
      "models": {
        "deepseek-v4-flash": [
          {"valid_from": "2026-01-01T00:00:00Z", "version": "v4-launch", "currency": "USD",
           "cache_hit": "0.0028", "cache_miss": "0.14", "output": "0.28"},
          {"valid_from": "2026-08-16T16:00:00Z", "version": "v4.1-2026-08-16", "currency": "USD",
           "source": "DeepSeek pricing page, checked 2026-12-02",
           "cache_hit": "0.003", "cache_miss": "0.15", "output": "0.60",
           "peak": {"cache_hit": "0.006", "cache_miss": "0.30", "output": "1.20", "timezone": "UTC",
                    "days": ["mon", "tue", "wed", "thu", "fri"],
                    "windows_utc": [["01:00", "04:00"], ["06:00", "10:00"]]}}
        ]
      }
    }

The entry in force at the call's start instant applies; inside a peak window of a peak day (UTC),
its ``peak`` prices. The older form (``peak_windows_utc`` beside ``peak``, no days) still loads and
means every day of the week, which is what it meant when it was written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from deepseek_provider.exceptions import ConfigurationError, UnknownModelError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order


@dataclass(frozen=True)
class Rates:
    cache_hit: Decimal
    cache_miss: Decimal
    output: Decimal


@dataclass(frozen=True)
class PriceEntry:
    valid_from: datetime
    version: str
    base: Rates
    peak: Rates | None = None
    peak_windows: tuple[tuple[time, time], ...] = ()
    peak_days: frozenset[int] = frozenset(range(7))  # date.weekday() numbers, UTC days
    currency: str = "USD"
    source: str = ""

    def in_peak(self, at: datetime) -> bool:
        moment = at.astimezone(UTC)
        if self.peak is None or moment.weekday() not in self.peak_days:
            return False
        return any(start <= moment.time() < end for start, end in self.peak_windows)

    def peak_windows_on(self, day: date) -> tuple[tuple[time, time], ...]:
        """The windows that are peak on that UTC day (none on a day the rule leaves off-peak)."""
        if self.peak is None or day.weekday() not in self.peak_days:
            return ()
        return tuple(sorted(self.peak_windows))

    def rates_at(self, at: datetime) -> tuple[Rates, str]:
        if self.peak is not None and self.in_peak(at):
            return self.peak, f"{self.version}:peak"
        return self.base, self.version


class PriceTable:
    def __init__(self, models: Mapping[str, list[PriceEntry]], aliases: Mapping[str, str], unit_tokens: int) -> None:
        self._models = {name: sorted(entries, key=lambda e: e.valid_from) for name, entries in models.items()}
        self._aliases = dict(aliases)
        self._unit = Decimal(unit_tokens)

    # -- loading ---------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "price table") -> PriceTable:
        try:
            entries = data["models"].items()
            aliases = dict(data.get("aliases", {}))
            unit = int(data.get("unit_tokens", 1_000_000))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"invalid DeepSeek {source}: {exc!r}") from None
        models = {name: [_checked_entry(source, name, i, e) for i, e in enumerate(rows, 1)] for name, rows in entries}
        missing = sorted(target for target in aliases.values() if target not in models)
        if missing:
            raise ConfigurationError(f"invalid DeepSeek {source}: aliases point to unknown models {missing}")
        return cls(models, aliases, unit)

    @classmethod
    def from_file(cls, path: str | Path) -> PriceTable:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read DeepSeek price table {path}: {exc}") from None
        return cls.from_dict(data, f"price table {path}")

    @classmethod
    def default(cls) -> PriceTable:
        """The table shipped with the provider (deepseek_provider/prices.json)."""
        text = resources.files("deepseek_provider").joinpath("prices.json").read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text), "price table deepseek_provider/prices.json")

    # -- lookup ----------------------------------------------------------------------------
    @property
    def models(self) -> list[str]:
        return sorted(self._models)

    @property
    def unit_tokens(self) -> int:
        return int(self._unit)

    def resolve(self, model: str) -> str:
        if model in self._models:
            return model
        if model in self._aliases:
            return self._aliases[model]
        raise UnknownModelError(f"no price for DeepSeek model {model!r}; known: {sorted(self._models)}")

    def entries(self, model: str) -> list[PriceEntry]:
        return list(self._models[self.resolve(model)])

    def entry(self, model: str, at: datetime) -> PriceEntry:
        if at.tzinfo is None:
            raise ValueError("price lookup needs a timezone-aware datetime")
        entries = [e for e in self._models[self.resolve(model)] if e.valid_from <= at]
        if not entries:
            raise UnknownModelError(f"no price for DeepSeek model {model!r} at {at.isoformat()}")
        return entries[-1]

    def in_peak(self, model: str, at: datetime) -> bool:
        try:
            return self.entry(model, at).in_peak(at)
        except UnknownModelError:  # not priced then: no known peak
            return False

    def peak_end(self, model: str, at: datetime) -> datetime | None:
        """When the peak stretch holding ``at`` ends (back-to-back windows followed), None when off-peak.

        Each step asks the entry in force at that moment, so a window that a new entry ends early
        (or a day the rule leaves off-peak) ends the stretch there.
        """
        moment = at.astimezone(UTC)
        end: datetime | None = None
        for _ in range(48):  # windows are within a day; a stretch can cross midnight at most a few times
            if not self.in_peak(model, moment):
                break
            entry = self.entry(model, moment)
            clock = moment.time()
            window_end = max(w_end for w_start, w_end in entry.peak_windows if w_start <= clock < w_end)
            end = datetime.combine(moment.date(), window_end, tzinfo=UTC)
            later = [e.valid_from for e in self._models[self.resolve(model)] if moment < e.valid_from < end]
            end = min([end, *later])
            moment = end
        return end

    def cost(self, model: str, hit: int, miss: int, output_incl_reasoning: int, at: datetime) -> tuple[Decimal, str]:
        """Cost of one request in the entry's currency, and the price version used.

        ``output_incl_reasoning`` is DeepSeek's completion_tokens, which already counts reasoning.
        """
        rates, version = self.entry(model, at).rates_at(at)
        total = hit * rates.cache_hit + miss * rates.cache_miss + output_incl_reasoning * rates.output
        return total / self._unit, version


def _decimal(value: Any) -> Decimal:
    # str() first: a JSON float like 0.14 must become Decimal("0.14"), not its binary approximation.
    number = Decimal(str(value))
    if not number.is_finite() or number < 0:
        raise ValueError(f"price {value!r} is not a non-negative number")
    return number


def _rates(data: Mapping[str, Any]) -> Rates:
    return Rates(_decimal(data["cache_hit"]), _decimal(data["cache_miss"]), _decimal(data["output"]))


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if moment.tzinfo is None:  # an instant needs its offset: 16:00 where?
        raise ValueError(f"valid_from {text!r} has no timezone (write it as 2026-08-16T16:00:00Z)")
    return moment.astimezone(UTC)


def _windows(pairs: Any) -> tuple[tuple[time, time], ...]:
    windows = []
    for start, end in pairs:
        window = (time.fromisoformat(start), time.fromisoformat(end))
        if window[0] >= window[1]:
            raise ValueError(f"peak window {start}-{end} does not end after it starts")
        windows.append(window)
    return tuple(windows)


def _days(names: Any) -> frozenset[int]:
    if isinstance(names, str) or not names:
        raise ValueError(f"peak days must be a non-empty list of {', '.join(WEEKDAYS)}, not {names!r}")
    unknown = [n for n in names if str(n).lower() not in WEEKDAYS]
    if unknown:
        raise ValueError(f"peak days {unknown} are not among {', '.join(WEEKDAYS)}")
    return frozenset(WEEKDAYS.index(str(n).lower()) for n in names)


def _peak(data: Mapping[str, Any]) -> tuple[Rates | None, tuple[tuple[time, time], ...], frozenset[int]]:
    peak = data.get("peak")
    if not peak:
        return None, (), frozenset(range(7))
    if "windows_utc" not in peak:  # the older form: windows beside the peak prices, every day
        return _rates(peak), _windows(data.get("peak_windows_utc", ())), frozenset(range(7))
    zone = peak.get("timezone", "UTC")
    if zone != "UTC":
        raise ValueError(f"peak timezone {zone!r}: DeepSeek's peak hours and days are UTC")
    if "days" not in peak:
        raise ValueError("peak has windows_utc but no days (e.g. ['mon', 'tue', 'wed', 'thu', 'fri'])")
    return _rates(peak), _windows(peak["windows_utc"]), _days(peak["days"])


def _entry(data: Mapping[str, Any]) -> PriceEntry:
    rates, windows, days = _peak(data)
    currency = str(data.get("currency", "USD")).upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValueError(f"currency {currency!r} is not a three-letter code")
    return PriceEntry(
        _moment(data["valid_from"]), str(data["version"]), _rates(data), rates, windows, days, currency,
        str(data.get("source", "")),
    )  # fmt: skip


def _checked_entry(source: str, model: str, number: int, data: Any) -> PriceEntry:
    """One entry, or one line naming the entry that cannot be read and why."""
    try:
        return _entry(data)
    except KeyError as exc:
        reason = f"missing {exc.args[0]!r}"
    except (AttributeError, TypeError, ValueError, InvalidOperation) as exc:
        reason = str(exc) or type(exc).__name__
    version = data.get("version", "?") if isinstance(data, Mapping) else "?"
    raise ConfigurationError(f"invalid DeepSeek {source}: {model} entry {number} ({version}): {reason}") from None
