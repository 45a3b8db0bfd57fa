"""Dated DeepSeek price table, read from JSON configuration (never constants in code).

Format (prices in USD per ``unit_tokens`` tokens, as strings so they stay exact Decimals)::

    {
      "unit_tokens": 1000000,
      "aliases": {"deepseek-chat": "deepseek-v4-flash"},
      "models": {
        "deepseek-v4-flash": [
          {"valid_from": "2026-01-01T00:00:00Z", "version": "v4-launch",
           "cache_hit": "0.0028", "cache_miss": "0.14", "output": "0.28"},
          {"valid_from": "2026-08-16T00:00:00Z", "version": "2026-08-16-peak",
           "cache_hit": "0.003", "cache_miss": "0.15", "output": "0.60",
           "peak": {"cache_hit": "0.006", "cache_miss": "0.30", "output": "1.20"},
           "peak_windows_utc": [["01:00", "04:00"], ["06:00", "10:00"]]}
        ]
      }
    }

The entry in force at the call's start time applies; inside a peak window, its ``peak`` prices.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from deepseek_provider.exceptions import ConfigurationError, UnknownModelError


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

    def rates_at(self, at: datetime) -> tuple[Rates, str]:
        clock = at.astimezone(UTC).time()
        if self.peak is not None and any(start <= clock < end for start, end in self.peak_windows):
            return self.peak, f"{self.version}:peak"
        return self.base, self.version


class PriceTable:
    def __init__(self, models: Mapping[str, list[PriceEntry]], aliases: Mapping[str, str], unit_tokens: int) -> None:
        self._models = {name: sorted(entries, key=lambda e: e.valid_from) for name, entries in models.items()}
        self._aliases = dict(aliases)
        self._unit = Decimal(unit_tokens)

    # -- loading ---------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriceTable:
        try:
            models = {name: [_entry(e) for e in entries] for name, entries in data["models"].items()}
            aliases = data.get("aliases", {})
            unit = int(data.get("unit_tokens", 1_000_000))
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise ConfigurationError(f"invalid DeepSeek price table: {exc!r}") from None
        missing = sorted(target for target in aliases.values() if target not in models)
        if missing:
            raise ConfigurationError(f"invalid DeepSeek price table: aliases point to unknown models {missing}")
        return cls(models, aliases, unit)

    @classmethod
    def from_file(cls, path: str | Path) -> PriceTable:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read DeepSeek price table {path}: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def default(cls) -> PriceTable:
        """The table shipped with the provider (deepseek_provider/prices.json)."""
        text = resources.files("deepseek_provider").joinpath("prices.json").read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))

    # -- lookup ----------------------------------------------------------------------------
    def resolve(self, model: str) -> str:
        if model in self._models:
            return model
        if model in self._aliases:
            return self._aliases[model]
        raise UnknownModelError(f"no price for DeepSeek model {model!r}; known: {sorted(self._models)}")

    def entry(self, model: str, at: datetime) -> PriceEntry:
        if at.tzinfo is None:
            raise ValueError("price lookup needs a timezone-aware datetime")
        entries = [e for e in self._models[self.resolve(model)] if e.valid_from <= at]
        if not entries:
            raise UnknownModelError(f"no price for DeepSeek model {model!r} at {at.isoformat()}")
        return entries[-1]

    def cost(self, model: str, hit: int, miss: int, output_incl_reasoning: int, at: datetime) -> tuple[Decimal, str]:
        """USD cost of one request and the price version used.

        ``output_incl_reasoning`` is DeepSeek's completion_tokens, which already counts reasoning.
        """
        rates, version = self.entry(model, at).rates_at(at)
        total = hit * rates.cache_hit + miss * rates.cache_miss + output_incl_reasoning * rates.output
        return total / self._unit, version


def _decimal(value: Any) -> Decimal:
    # str() first: a JSON float like 0.14 must become Decimal("0.14"), not its binary approximation.
    return Decimal(str(value))


def _rates(data: Mapping[str, Any]) -> Rates:
    return Rates(_decimal(data["cache_hit"]), _decimal(data["cache_miss"]), _decimal(data["output"]))


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _entry(data: Mapping[str, Any]) -> PriceEntry:
    windows = tuple(
        (time.fromisoformat(start), time.fromisoformat(end)) for start, end in data.get("peak_windows_utc", ())
    )
    peak = _rates(data["peak"]) if data.get("peak") else None
    return PriceEntry(_moment(data["valid_from"]), str(data["version"]), _rates(data), peak, windows)
