"""The weekly report's settings: alert thresholds, budget, trend window; trigger Params beat QUINCENA_* settings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from quincena.core import config
from quincena.core.numbers import NumberError, non_negative_decimal


@dataclass(frozen=True)
class Thresholds:
    """When the weekly report alerts. A threshold is crossed when the value goes strictly past it."""

    max_429_rate: Decimal = Decimal("0.05")  # share of the week's attempts answered 429
    max_spread: Decimal = Decimal("0.20")  # |key's share / even share - 1| of an active key
    budget_ratio: Decimal = Decimal("1.0")  # month-end forecast / monthly budget
    min_balance_usd: Decimal = Decimal("10")
    min_runway_days: Decimal = Decimal("7")  # days the balance lasts at this week's daily spend
    # Advice only (never alerts): below this 429 rate the shared limit is not what slows cycles.
    low_429_rate: Decimal = Decimal("0.005")
    raise_pool_min_p50_ms: Decimal = Decimal("2000")
    # Accountants' agreement with the model (quality.agreement): the share of proposals kept.
    min_agreement: Decimal = Decimal("0.85")  # the latest reviewed cycle, firm-wide or per company
    max_agreement_drop: Decimal = Decimal("0.05")  # latest model/prompt version vs the previous one

    def to_dict(self) -> dict[str, str]:
        return {name: str(value) for name, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Thresholds:
        return cls(**{name: Decimal(str(value)) for name, value in data.items()})


@dataclass(frozen=True)
class HealthSettings:
    thresholds: Thresholds = field(default_factory=Thresholds)
    monthly_budget_usd: Decimal | None = None
    trend_weeks: int = 4
    pool_slots: int | None = None
    balance_deadline_s: float = 60.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "thresholds": self.thresholds.to_dict(),
            "monthly_budget_usd": None if self.monthly_budget_usd is None else str(self.monthly_budget_usd),
            "trend_weeks": self.trend_weeks,
            "pool_slots": self.pool_slots,
            "balance_deadline_s": self.balance_deadline_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HealthSettings:
        budget = data.get("monthly_budget_usd")
        return cls(
            Thresholds.from_dict(data.get("thresholds") or {}),
            None if budget in (None, "") else Decimal(str(budget)),
            int(data.get("trend_weeks", 4)),
            data.get("pool_slots"),
            float(data.get("balance_deadline_s", 60.0)),
        )


def _setting(params: Mapping[str, Any], env: Mapping[str, str] | None, name: str) -> str | None:
    """A trigger Param when given, else its QUINCENA_* setting (config.HEALTH_VARIABLES), else None."""
    value = params.get(name)
    if value is None or str(value).strip() == "":
        return config.health_setting(name, env)
    return str(value).strip()


def _decimal(text: str, name: str) -> Decimal:
    try:
        return non_negative_decimal(text)
    except NumberError as exc:
        raise ValueError(f"{name}: {exc}") from None


def resolve_settings(params: Mapping[str, Any], env: Mapping[str, str] | None = None) -> HealthSettings:
    """Thresholds and budget: trigger Params first, then QUINCENA_* settings (``env``, default the
    environment), then defaults."""
    chosen: dict[str, Decimal] = {}
    for name in config.HEALTH_THRESHOLD_VARIABLES:
        text = _setting(params, env, name)
        if text is not None:
            chosen[name] = _decimal(text, name)
    budget = _setting(params, env, "monthly_budget_usd")
    trend = _setting(params, env, "trend_weeks")
    slots = _setting(params, env, "pool_slots")
    deadline = _setting(params, env, "balance_deadline_s")
    trend_weeks = int(trend) if trend else 4
    if not 1 <= trend_weeks <= 52:
        raise ValueError(f"trend_weeks must be 1..52, got {trend_weeks}")
    return HealthSettings(
        Thresholds(**chosen),
        None if budget is None else _decimal(budget, "monthly_budget_usd"),
        trend_weeks,
        int(slots) if slots else configured_pool_slots(),
        float(deadline) if deadline else 60.0,
    )


def configured_pool_slots() -> int | None:
    """Slots of the ``deepseek`` pool as configured in include/pools.json (None when absent)."""
    path = config.include_dir() / "pools.json"
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))[config.DEEPSEEK_POOL]["slots"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
