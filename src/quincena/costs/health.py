"""The weekly DeepSeek health report: 429s per key, spread across keys, spend vs budget, balance.

Everything comes from the ``api_calls`` ledger for one week ``[start, end)`` (Bogotá calendar
weeks, Monday 00:00), plus ``api_keys`` (why a key is disabled), ``companies`` (budgets) and the
DeepSeek balance. The figures are one JSON document: stored in ``weekly_health``, written as a CSV
and a self-contained HTML page under ``reports/weekly/<week>/``, and passed through XCom as is.

Facts the advice relies on (docs/deepseek-api.md): the rate limit belongs to the ACCOUNT and every
key shares it, so more keys never raise it; peak/off-peak prices depend on the hour a call starts.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from quincena.core import config, db
from quincena.costs import health_html

log = logging.getLogger(__name__)

BOGOTA = ZoneInfo("America/Bogota")
WEEK = timedelta(days=7)
_RATE = Decimal("0.0001")  # rates and shares: 4 decimals (0.01 %)
_USD4 = Decimal("0.0001")  # forecasts: a hundredth of a cent
_USD8 = Decimal("0.00000001")  # ledger precision (api_calls.cost_usd is numeric(14, 8))
# A 429 rate that moved less than one percentage point against the previous weeks is noise.
TREND_EPSILON = Decimal("0.01")
_WEEK_RE = re.compile(r"(\d{4})-W(\d{2})")
_SECRET_RE = re.compile(r"sk-[A-Za-z0-9*_\-]{4,}")


# -- the week --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Week:
    """One reported week and the calendar month its last day belongs to (UTC-aware bounds)."""

    label: str  # ISO week of the Bogotá Monday, e.g. 2026-W45
    start: datetime
    end: datetime  # exclusive
    month_start: datetime
    month_end: datetime  # exclusive

    @property
    def days_elapsed(self) -> Decimal:
        """Days of the month covered by the month-to-date figures (up to the week's end)."""
        return Decimal(int((self.end - self.month_start).total_seconds())) / 86400

    @property
    def days_in_month(self) -> Decimal:
        return Decimal(int((self.month_end - self.month_start).total_seconds())) / 86400

    @property
    def month(self) -> str:
        return self.month_start.astimezone(BOGOTA).strftime("%Y-%m")

    def to_dict(self) -> dict[str, str]:
        return {
            "week": self.label,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "month_start": self.month_start.isoformat(),
            "month_end": self.month_end.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> Week:
        return cls(
            data["week"],
            *(datetime.fromisoformat(data[k]) for k in ("start", "end", "month_start", "month_end")),
        )


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=BOGOTA).astimezone(UTC)


def week_from_bounds(start: datetime, end: datetime) -> Week:
    """The report week of a data interval; the month is that of the interval's last instant."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("week bounds must be timezone-aware")
    if end <= start:
        raise ValueError(f"empty week: {start.isoformat()} .. {end.isoformat()}")
    local_start = start.astimezone(BOGOTA).date()
    iso = local_start.isocalendar()
    last_day = (end - timedelta(microseconds=1)).astimezone(BOGOTA).date()
    first = last_day.replace(day=1)
    after = date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)
    return Week(
        f"{iso.year:04d}-W{iso.week:02d}",
        start.astimezone(UTC),
        end.astimezone(UTC),
        _local_midnight(first),
        _local_midnight(after),
    )


def week_for_label(label: str) -> Week:
    """``2026-W45`` → Monday 00:00 to next Monday 00:00, Bogotá time."""
    match = _WEEK_RE.fullmatch(label.strip())
    if not match:
        raise ValueError(f"not an ISO week: {label!r} (expected e.g. 2026-W45)")
    try:
        monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError as exc:
        raise ValueError(f"not an ISO week: {label!r} ({exc})") from None
    start = _local_midnight(monday)
    return week_from_bounds(start, _local_midnight(monday + timedelta(days=7)))


def resolve_week(interval_start: datetime | None, interval_end: datetime | None, params: Mapping[str, Any]) -> Week:
    """The ``week`` param when given, else the run's data interval."""
    label = str(params.get("week") or "").strip()
    if label:
        return week_for_label(label)
    if interval_start is None or interval_end is None:
        raise ValueError("no data interval: trigger with param 'week' (e.g. 2026-W45)")
    return week_from_bounds(interval_start, interval_end)


# -- settings --------------------------------------------------------------------------------
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


# Param name -> (environment variable, Thresholds field). A trigger Param wins over the environment.
_THRESHOLD_SOURCES = {
    "max_429_rate": "QUINCENA_HEALTH_MAX_429_RATE",
    "max_spread": "QUINCENA_HEALTH_MAX_SPREAD",
    "budget_ratio": "QUINCENA_HEALTH_BUDGET_RATIO",
    "min_balance_usd": "QUINCENA_HEALTH_MIN_BALANCE_USD",
    "min_runway_days": "QUINCENA_HEALTH_MIN_RUNWAY_DAYS",
    "low_429_rate": "QUINCENA_HEALTH_LOW_429_RATE",
    "raise_pool_min_p50_ms": "QUINCENA_HEALTH_RAISE_POOL_MIN_P50_MS",
}


def _setting(params: Mapping[str, Any], env: Mapping[str, str], name: str, variable: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        value = env.get(variable)
    return None if value is None or str(value).strip() == "" else str(value).strip()


def _decimal(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{name}: not a number: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{name}: must be a number >= 0, got {text!r}")
    return value


def resolve_settings(params: Mapping[str, Any], env: Mapping[str, str] | None = None) -> HealthSettings:
    """Thresholds and budget: trigger Params first, then QUINCENA_* environment, then defaults."""
    env = os.environ if env is None else env
    chosen: dict[str, Decimal] = {}
    for name, variable in _THRESHOLD_SOURCES.items():
        text = _setting(params, env, name, variable)
        if text is not None:
            chosen[name] = _decimal(text, name)
    budget = _setting(params, env, "monthly_budget_usd", "QUINCENA_MONTHLY_BUDGET_USD")
    trend = _setting(params, env, "trend_weeks", "QUINCENA_HEALTH_TREND_WEEKS")
    slots = _setting(params, env, "pool_slots", "QUINCENA_DEEPSEEK_POOL_SLOTS")
    deadline = _setting(params, env, "balance_deadline_s", "QUINCENA_BALANCE_DEADLINE_S")
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


# -- the alert decision (pure) ---------------------------------------------------------------
@dataclass(frozen=True)
class Signals:
    """The few numbers an alert depends on, exact (counts and Decimals, no rounding)."""

    calls: int = 0
    rate_limited: int = 0
    active_key_calls: Mapping[str, int] = field(default_factory=dict)  # ACTIVE keys only, zeros included
    firm_forecast_usd: Decimal | None = None
    firm_budget_usd: Decimal | None = None
    companies: tuple[tuple[str, Decimal, Decimal], ...] = ()  # (nit, month-end forecast, budget)
    balance_usd: Decimal | None = None  # None: unavailable or not in USD
    balance_available: bool | None = None  # DeepSeek's is_available
    runway_days: Decimal | None = None  # None: nothing spent, the balance lasts indefinitely


@dataclass(frozen=True)
class Alert:
    kind: str  # rate_429 | spread | budget | low_balance
    subject: str  # "account", a key name, "firm" or a company NIT
    value: str
    threshold: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def spread_deviation(calls: int, active_calls: int, active_keys: int) -> Decimal | None:
    """How far a key's share of the active keys' calls is from an even share: share/even - 1."""
    if not active_calls or not active_keys:
        return None
    return Decimal(calls * active_keys) / Decimal(active_calls) - 1


def decide_alerts(signals: Signals, thresholds: Thresholds) -> list[Alert]:
    """Every threshold the week crossed. Crossing means strictly past: a value AT a threshold is fine."""
    alerts: list[Alert] = []
    if signals.calls:
        rate = Decimal(signals.rate_limited) / Decimal(signals.calls)
        if rate > thresholds.max_429_rate:
            alerts.append(
                Alert(
                    "rate_429", "account", _pct(rate), _pct(thresholds.max_429_rate),
                    f"429 rate {_pct(rate)} of {signals.calls} attempts is above {_pct(thresholds.max_429_rate)}: "
                    "the account's shared limit is being hit; lower the deepseek pool",
                )
            )  # fmt: skip
    active_calls = sum(signals.active_key_calls.values())
    for key, calls in sorted(signals.active_key_calls.items()):
        deviation = spread_deviation(calls, active_calls, len(signals.active_key_calls))
        if deviation is not None and abs(deviation) > thresholds.max_spread:
            alerts.append(
                Alert(
                    "spread", key, _pct(deviation, signed=True), _pct(thresholds.max_spread),
                    f"key {key} got {calls} of {active_calls} calls, {_pct(deviation, signed=True)} off an even "
                    f"share: check the rotation or whether the key is dead",
                )
            )  # fmt: skip
    if signals.firm_budget_usd and signals.firm_forecast_usd is not None:
        ratio = signals.firm_forecast_usd / signals.firm_budget_usd
        if ratio > thresholds.budget_ratio:
            alerts.append(_budget_alert("firm", signals.firm_forecast_usd, signals.firm_budget_usd, ratio, thresholds))
    for nit, forecast, budget in signals.companies:
        if budget:
            ratio = forecast / budget
            if ratio > thresholds.budget_ratio:
                alerts.append(_budget_alert(nit, forecast, budget, ratio, thresholds))
    alerts.extend(_balance_alerts(signals, thresholds))
    return alerts


def _budget_alert(subject: str, forecast: Decimal, budget: Decimal, ratio: Decimal, thresholds: Thresholds) -> Alert:
    who = "the firm" if subject == "firm" else f"company {subject}"
    return Alert(
        "budget", subject, _pct(ratio), _pct(thresholds.budget_ratio),
        f"{who}: month-end forecast US${forecast} is {_pct(ratio)} of the US${budget} monthly budget",
    )  # fmt: skip


def _balance_alerts(signals: Signals, thresholds: Thresholds) -> list[Alert]:
    if signals.balance_available is False:
        return [Alert("low_balance", "account", "unavailable", "available", "DeepSeek says the balance is exhausted")]
    if signals.balance_usd is None:
        return []  # unknown is reported, not alerted: a failed balance request is not a low balance
    if signals.balance_usd < thresholds.min_balance_usd:
        return [
            Alert(
                "low_balance", "account", f"US${signals.balance_usd}", f"US${thresholds.min_balance_usd}",
                f"DeepSeek balance US${signals.balance_usd} is below US${thresholds.min_balance_usd}: top up",
            )
        ]  # fmt: skip
    if signals.runway_days is not None and signals.runway_days < thresholds.min_runway_days:
        days = signals.runway_days.quantize(Decimal("0.1"))
        return [
            Alert(
                "low_balance", "account", f"{days} days", f"{thresholds.min_runway_days} days",
                f"DeepSeek balance US${signals.balance_usd} lasts {days} days at this week's spend: top up",
            )
        ]  # fmt: skip
    return []


def _pct(value: Decimal, signed: bool = False) -> str:
    text = f"{(value * 100).quantize(Decimal('0.01'), ROUND_HALF_UP)}%"
    return f"+{text}" if signed and value > 0 else text


def signals_from_figures(figures: Mapping[str, Any]) -> Signals:
    """Rebuild the exact inputs of decide_alerts from a report's figures (counts, Decimal strings)."""
    total = figures["total"]
    spend = figures["spend"]
    balance = figures["balance"]
    return Signals(
        calls=int(total["calls"]),
        rate_limited=int(total["rate_limited"]),
        active_key_calls={k["key"]: int(k["calls"]) for k in figures["keys"] if k["status"] != "disabled"},
        firm_forecast_usd=_dec(spend["forecast_month_usd"]),
        firm_budget_usd=_dec(spend["budget_usd"]),
        companies=tuple(
            (c["nit"], Decimal(c["forecast_month_usd"]), Decimal(c["budget_usd"]))
            for c in spend["companies"]
            if c["budget_usd"] is not None and c["nit"] is not None
        ),
        balance_usd=_dec(balance.get("total_balance")) if balance.get("currency") == "USD" else None,
        balance_available=balance.get("is_available"),
        runway_days=_dec(balance.get("runway_days")),
    )


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


# -- figures ---------------------------------------------------------------------------------
def _ratio(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(_RATE, ROUND_HALF_UP)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def key_figures(week: Week, thresholds: Thresholds) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-key rows (every registered key, even one with no calls) and the all-keys total."""
    params = {"start": week.start, "end": week.end}
    stats = db.query("health_key_stats", params)
    registry = {r["name"]: r for r in db.query("health_api_keys")}
    by_key = {r["key_name"]: r for r in stats if r["key_name"] is not None}
    total_row = next((r for r in stats if r["key_name"] is None), None) or _empty_stats()
    rows: list[dict[str, Any]] = []
    for name in sorted(set(by_key) | set(registry)):
        stat = by_key.get(name) or _empty_stats()
        reg = registry.get(name)
        # A key the ledger knows but the registry does not (e.g. an in-memory key store) is in use.
        status = reg["status"] if reg else "active"
        rows.append(
            {
                "key": name,
                "status": status,
                "disabled_at": reg["disabled_at"].isoformat() if reg and reg["disabled_at"] else None,
                "disabled_reason": _scrub(reg["disabled_reason"]) if reg else None,
                **_counters(stat),
            }
        )
    total = {"key": "all", "status": "", "disabled_at": None, "disabled_reason": None, **_counters(total_row)}
    _add_spread(rows, total, thresholds)
    return rows, total


def _empty_stats() -> dict[str, Any]:
    return {
        "calls": 0, "ok_calls": 0, "rate_limited": 0, "other_errors": 0, "p50_ms": None, "p95_ms": None,
        "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 0, "completion_tokens": 0, "cost_usd": Decimal(0),
    }  # fmt: skip


def _counters(stat: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "calls": int(stat["calls"]),
        "ok_calls": int(stat["ok_calls"]),
        "rate_limited": int(stat["rate_limited"]),
        "other_errors": int(stat["other_errors"]),
        "rate_429": _ratio(stat["rate_limited"], stat["calls"]),
        "p50_ms": _ms(stat["p50_ms"]),
        "p95_ms": _ms(stat["p95_ms"]),
        "prompt_cache_hit_tokens": int(stat["prompt_cache_hit_tokens"]),
        "prompt_cache_miss_tokens": int(stat["prompt_cache_miss_tokens"]),
        "completion_tokens": int(stat["completion_tokens"]),
        "cost_usd": Decimal(stat["cost_usd"]).quantize(_USD8),
    }


def _add_spread(rows: list[dict[str, Any]], total: dict[str, Any], thresholds: Thresholds) -> None:
    """Share of calls per key; active keys are compared with an even share of the active keys' calls."""
    active = [r for r in rows if r["status"] != "disabled"]
    active_calls = sum(r["calls"] for r in active)
    even = _ratio(1, len(active)) if active else None
    for row in rows:
        row["share_of_calls"] = _ratio(row["calls"], total["calls"])
        if row["status"] == "disabled":
            row.update(active_share=None, even_share=None, spread_deviation=None, spread_flag=False)
            continue
        deviation = spread_deviation(row["calls"], active_calls, len(active))
        row.update(
            active_share=_ratio(row["calls"], active_calls),
            even_share=even,
            spread_deviation=None if deviation is None else deviation.quantize(_RATE, ROUND_HALF_UP),
            spread_flag=deviation is not None and abs(deviation) > thresholds.max_spread,
        )
    total.update(
        share_of_calls=_ratio(total["calls"], total["calls"]),
        active_keys=len(active),
        active_calls=active_calls,
        keys_with_429=sum(1 for r in rows if r["rate_limited"]),
    )


def trend_figures(week: Week, weeks_back: int) -> dict[str, Any]:
    """429s of the reported week against the pooled rate of the previous ``weeks_back`` weeks."""
    start = week.end - WEEK * (weeks_back + 1)
    buckets = {r["bucket"]: r for r in db.query("health_429_by_week", {"start": start, "end": week.end})}
    weeks = []
    for back in range(weeks_back, -1, -1):
        row = buckets.get(weeks_back - back, {"calls": 0, "rate_limited": 0})
        label = week_from_bounds(week.end - WEEK * (back + 1), week.end - WEEK * back).label
        weeks.append(
            {
                "week": label,
                "calls": int(row["calls"]),
                "rate_limited": int(row["rate_limited"]),
                "rate_429": _ratio(row["rate_limited"], row["calls"]),
            }
        )
    previous = weeks[:-1]
    prev_calls = sum(w["calls"] for w in previous)
    prev_429 = sum(w["rate_limited"] for w in previous)
    current = weeks[-1]
    prev_rate = Decimal(prev_429) / prev_calls if prev_calls else None
    cur_rate = Decimal(current["rate_limited"]) / current["calls"] if current["calls"] else Decimal(0)
    if prev_rate is None:
        direction = "no history"
    elif cur_rate - prev_rate > TREND_EPSILON:
        direction = "rising"
    elif prev_rate - cur_rate > TREND_EPSILON:
        direction = "falling"
    else:
        direction = "flat"
    return {
        "weeks": weeks,
        "previous_calls": prev_calls,
        "previous_rate_limited": prev_429,
        "previous_rate_429": None if prev_rate is None else prev_rate.quantize(_RATE, ROUND_HALF_UP),
        "direction": direction,
    }


def hour_figures(week: Week) -> dict[str, Any]:
    """Hours of the day (UTC and Bogotá) holding the week's 429s; the top three are the cluster."""
    rows = db.query("health_429_by_hour", {"start": week.start, "end": week.end})
    hours = [
        {"hour_utc": r["hour_utc"], "hour_bogota": r["hour_bogota"], "rate_limited": int(r["rate_limited"])}
        for r in rows
    ]
    total = sum(h["rate_limited"] for h in hours)
    top = sorted(hours, key=lambda h: (-h["rate_limited"], h["hour_utc"]))[:3]
    return {
        "hours": hours,
        "top_hours_utc": [h["hour_utc"] for h in top],
        "top_hours_bogota": [h["hour_bogota"] for h in top],
        "top_share": _ratio(sum(h["rate_limited"] for h in top), total),
    }


def _forecast(mtd: Decimal, week: Week) -> Decimal:
    """Linear: the month-to-date daily rate carried to the month's last day."""
    return (mtd * week.days_in_month / week.days_elapsed).quantize(_USD4, ROUND_HALF_UP)


def spend_figures(week: Week, budget: Decimal | None, thresholds: Thresholds) -> dict[str, Any]:
    params = {"week_start": week.start, "month_start": week.month_start, "end": week.end}
    rows = db.query("health_company_spend", params)
    budgets = {r["nit"]: r for r in db.query("health_company_budgets")}
    week_cost = sum((Decimal(r["week_cost_usd"]) for r in rows), Decimal(0)).quantize(_USD8)
    mtd = sum((Decimal(r["mtd_cost_usd"]) for r in rows), Decimal(0)).quantize(_USD8)
    forecast = _forecast(mtd, week)
    spent = {r["company_nit"]: r for r in rows}
    companies = []
    for nit in sorted(set(budgets) | {n for n in spent if n is not None}):
        row = spent.get(nit) or {}
        info = budgets.get(nit) or row
        company_budget = info.get("monthly_budget_usd")
        company_mtd = Decimal(row.get("mtd_cost_usd", 0)).quantize(_USD8)
        company_forecast = _forecast(company_mtd, week)
        companies.append(
            {
                "nit": nit,
                "name": info.get("name"),
                "budget_usd": None if company_budget is None else Decimal(company_budget),
                "week_cost_usd": Decimal(row.get("week_cost_usd", 0)).quantize(_USD8),
                "mtd_cost_usd": company_mtd,
                "forecast_month_usd": company_forecast,
                "forecast_ratio": _ratio(company_forecast, company_budget) if company_budget else None,
                "over_budget": bool(company_budget) and company_forecast / company_budget > thresholds.budget_ratio,
            }
        )
    unattributed = spent.get(None)
    return {
        "month": week.month,
        "week_cost_usd": week_cost,
        "mtd_cost_usd": mtd,
        "days_elapsed": week.days_elapsed,
        "days_in_month": week.days_in_month,
        "forecast_month_usd": forecast,
        "remaining_forecast_usd": (forecast - mtd).quantize(_USD4, ROUND_HALF_UP),
        "budget_usd": budget,
        "budget_used": _ratio(mtd, budget) if budget else None,
        "forecast_ratio": _ratio(forecast, budget) if budget else None,
        "unattributed_week_cost_usd": Decimal(unattributed["week_cost_usd"] if unattributed else 0).quantize(_USD8),
        "companies": companies,
    }


# -- balance ---------------------------------------------------------------------------------
BalanceFetcher = Callable[[], Any]


def _scrub(text: str | None) -> str | None:
    """Error texts may quote a request; never let anything shaped like a key reach a report."""
    return None if text is None else _SECRET_RE.sub("sk-***", text)[:300]


def default_balance_fetcher(deadline_s: float) -> BalanceFetcher:
    """GET /user/balance through the DeepSeek connection (not the pipeline hook: nothing to record)."""

    def fetch() -> Any:
        from deepseek_provider.hooks.deepseek import DeepSeekHook

        return DeepSeekHook(deepseek_conn_id=config.DEEPSEEK_CONN_ID).get_balance(deadline=deadline_s)

    return fetch


def balance_figures(fetch: BalanceFetcher, spend: Mapping[str, Any]) -> dict[str, Any]:
    """The balance against the spend still forecast this month; "unavailable" (with why) on any failure."""
    try:
        balance = fetch()
    except Exception as exc:  # the report must come out whatever DeepSeek or the connection does
        reason = _scrub(f"{type(exc).__name__}: {exc}")
        log.warning("DeepSeek balance unavailable: %s", reason)
        return {"status": "unavailable", "reason": reason, "currency": None, "is_available": None}
    infos = {info.currency: info for info in balance.balance_infos}
    usd = infos.get("USD")
    if usd is None:
        currencies = ", ".join(sorted(infos)) or "none"
        return {
            "status": "not_usd",
            "reason": f"balance is in {currencies}; spend is in USD, so they are not compared",
            "currency": None,
            "is_available": bool(balance.is_available),
        }
    week_cost = Decimal(spend["week_cost_usd"])
    remaining = Decimal(spend["remaining_forecast_usd"])
    total = Decimal(usd.total_balance)
    runway = (total * 7 / week_cost).quantize(Decimal("0.1"), ROUND_HALF_UP) if week_cost else None
    return {
        "status": "ok",
        "reason": None,
        "currency": "USD",
        "is_available": bool(balance.is_available),
        "total_balance": total,
        "granted_balance": Decimal(usd.granted_balance),
        "topped_up_balance": Decimal(usd.topped_up_balance),
        "daily_spend_usd": (week_cost / 7).quantize(_USD4, ROUND_HALF_UP),
        "runway_days": runway,
        "remaining_forecast_usd": remaining,
        "balance_after_forecast_usd": (total - remaining).quantize(_USD4, ROUND_HALF_UP),
        "covers_forecast": total >= remaining,
    }


# -- off-peak --------------------------------------------------------------------------------
def price_table_path() -> Path | None:
    """QUINCENA_PRICE_TABLE, else include/prices.json, else None (the provider's shipped table)."""
    override = os.environ.get("QUINCENA_PRICE_TABLE")
    if override:
        return Path(override)
    path = config.include_dir() / "prices.json"
    return path if path.is_file() else None


def load_price_table() -> tuple[Any, int]:
    """The configured PriceTable and its unit (tokens per price) — the provider's own parser."""
    from deepseek_provider.pricing import PriceTable

    path = price_table_path()
    if path is None:
        from importlib import resources

        text = resources.files("deepseek_provider").joinpath("prices.json").read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    return PriceTable.from_dict(data), int(data.get("unit_tokens", 1_000_000))


def _price(tokens: Mapping[str, Any], rates: Any, unit: int) -> Decimal:
    return (
        tokens["prompt_cache_hit_tokens"] * rates.cache_hit
        + tokens["prompt_cache_miss_tokens"] * rates.cache_miss
        + tokens["completion_tokens"] * rates.output
    ) / unit


def off_peak_figures(week: Week) -> dict[str, Any]:
    """The week's actual tokens priced as they ran, all at off-peak and all at peak rates."""
    table, unit = load_price_table()
    rows = db.query("health_tokens_by_hour", {"start": week.start, "end": week.end})
    as_run = off = peak = Decimal(0)
    tokens = peak_tokens = 0
    unpriced: set[str] = set()
    versions: set[str] = set()
    windows: tuple[tuple[time, time], ...] = ()
    for row in rows:
        hour = row["hour_utc"].replace(tzinfo=UTC)
        try:
            entry = table.entry(row["model"], hour)
        except Exception:  # UnknownModelError: say so instead of guessing a price
            unpriced.add(row["model"])
            continue
        rates, version = entry.rates_at(hour)
        count = row["prompt_cache_hit_tokens"] + row["prompt_cache_miss_tokens"] + row["completion_tokens"]
        tokens += count
        if version.endswith(":peak"):
            peak_tokens += count
        versions.add(entry.version)
        windows = entry.peak_windows or windows
        as_run += _price(row, rates, unit)
        off += _price(row, entry.base, unit)
        peak += _price(row, entry.peak or entry.base, unit)
    saving = as_run - off
    return {
        "price_versions": sorted(versions),
        "peak_pricing": bool(windows),
        "peak_windows_utc": [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in windows],
        "peak_windows_bogota": [[_bogota_clock(a), _bogota_clock(b)] for a, b in windows],
        "tokens": tokens,
        "peak_tokens": peak_tokens,
        "peak_token_share": _ratio(peak_tokens, tokens),
        "priced_as_run_usd": as_run.quantize(_USD8, ROUND_HALF_UP),
        "all_off_peak_usd": off.quantize(_USD8, ROUND_HALF_UP),
        "all_peak_usd": peak.quantize(_USD8, ROUND_HALF_UP),
        "saving_usd": saving.quantize(_USD8, ROUND_HALF_UP),
        "saving_share": _ratio(saving, as_run),
        "unpriced_models": sorted(unpriced),
    }


def _bogota_clock(clock: time) -> str:
    moment = datetime.combine(date(2026, 1, 5), clock, tzinfo=UTC).astimezone(BOGOTA)
    return moment.strftime("%H:%M")


# -- advice ----------------------------------------------------------------------------------
def advice(figures: Mapping[str, Any], settings: HealthSettings) -> list[dict[str, str]]:
    """Recommendations that follow from this week's numbers and the facts of DeepSeek's limits."""
    t = settings.thresholds
    total = figures["total"]
    items = [_keys_advice(total), _pool_advice(total, settings.pool_slots, t), _off_peak_advice(figures["off_peak"])]
    for key in figures["keys"]:
        if key["spread_flag"]:
            items.append(
                {
                    "topic": "spread",
                    "text": f"Key {key['key']} took {_share(key['active_share'])} of the active keys' calls against "
                    f"an even {_share(key['even_share'])}: a rotation bug, or a key that fails and is skipped.",
                }
            )
        if key["status"] == "disabled":
            items.append(
                {
                    "topic": "disabled_key",
                    "text": f"Key {key['key']} is disabled ({key['disabled_reason'] or 'no reason recorded'}): "
                    "replace it for redundancy only — it adds no capacity.",
                }
            )
    spend = figures["spend"]
    if spend["forecast_ratio"] is not None and Decimal(spend["forecast_ratio"]) > t.budget_ratio:
        items.append(
            {
                "topic": "budget",
                "text": f"At this month's pace the firm spends US${spend['forecast_month_usd']} against a "
                f"US${spend['budget_usd']} budget.",
            }
        )
    for company in spend["companies"]:
        if company["over_budget"]:
            items.append(
                {
                    "topic": "budget",
                    "text": f"Company {company['nit']} ({company['name']}) is on course for "
                    f"US${company['forecast_month_usd']} against its US${company['budget_usd']} budget.",
                }
            )
    return items


def _share(value: Any) -> str:
    return "n/a" if value is None else _pct(Decimal(str(value)))


def _keys_advice(total: Mapping[str, Any]) -> dict[str, str]:
    text = (
        f"The {total['active_keys']} active key(s) share ONE account limit: adding keys does not raise it. "
        f"429s hit {total['keys_with_429']} key(s) this week"
    )
    if total["keys_with_429"] > 1:
        text += " — several keys throttled together is the account limit, not a bad key."
    else:
        text += "."
    return {"topic": "keys", "text": text}


def _pool_advice(total: Mapping[str, Any], slots: int | None, t: Thresholds) -> dict[str, str]:
    """Pool size from the observed 429 rate: the pool is the only knob on requests in flight."""
    if not total["calls"]:
        return {"topic": "pool", "text": "No DeepSeek calls this week: nothing to size the pool on."}
    rate = Decimal(total["rate_limited"]) / Decimal(total["calls"])
    pool = f"the deepseek pool ({slots} slots)" if slots else "the deepseek pool"
    if rate > t.max_429_rate:
        # Fewer requests in flight in proportion to the share that was throttled anyway.
        suggested = max(1, min(slots - 1, math.floor(slots * (1 - rate)))) if slots and slots > 1 else None
        target = f" to {suggested} slots" if suggested else ""
        return {
            "topic": "pool",
            "text": f"429 rate {_pct(rate)} is above {_pct(t.max_429_rate)}: lower {pool}{target}. "
            "Throttled attempts cost time and retries, not capacity.",
        }
    p50 = total["p50_ms"]
    if rate <= t.low_429_rate and p50 is not None and Decimal(str(p50)) >= t.raise_pool_min_p50_ms:
        suggested = max(slots + 1, math.ceil(slots * Decimal("1.25"))) if slots else None
        target = f" to {suggested} slots" if suggested else ""
        return {
            "topic": "pool",
            "text": f"Almost no 429s ({_pct(rate)}) and answers take {p50 / 1000:.1f} s at the median: cycles are "
            f"bound by latency, not by the limit — raise {pool}{target} and watch next week's 429 rate.",
        }
    return {"topic": "pool", "text": f"429 rate {_pct(rate)}: keep {pool} as it is."}


def _off_peak_advice(off: Mapping[str, Any]) -> dict[str, str]:
    if not off["peak_pricing"]:
        return {
            "topic": "off_peak",
            "text": "No peak/off-peak prices in force for this week's models: when cycles run does not change cost.",
        }
    windows = ", ".join(f"{a}–{b}" for a, b in off["peak_windows_utc"])
    local = ", ".join(f"{a}–{b}" for a, b in off["peak_windows_bogota"])
    saving = Decimal(off["saving_usd"])
    if saving > 0:
        return {
            "topic": "off_peak",
            "text": f"{_share(off['peak_token_share'])} of this week's tokens ran in peak hours (UTC {windows}; "
            f"Bogotá {local}). Running those cycles off-peak would have cost US${off['all_off_peak_usd']} instead "
            f"of US${off['priced_as_run_usd']}: US${saving} ({_share(off['saving_share'])}) less.",
        }
    return {
        "topic": "off_peak",
        "text": f"Every token ran off-peak (peak is UTC {windows}; Bogotá {local}); at peak rates the week "
        f"would have cost US${off['all_peak_usd']} instead of US${off['priced_as_run_usd']}. Keep the schedule.",
    }


# -- the report ------------------------------------------------------------------------------
@dataclass
class WeeklyHealth:
    week: Week
    figures: dict[str, Any]
    alerts: list[Alert]
    csv_path: Path | None = None
    html_path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for XCom: figures as stored, alerts, where the artifacts are."""
        return {
            "week": self.week.to_dict(),
            "figures": self.figures,
            "alerts": [a.to_dict() for a in self.alerts],
            "csv": str(self.csv_path) if self.csv_path else None,
            "html": str(self.html_path) if self.html_path else None,
        }


def plain(value: Any) -> Any:
    """JSON-able copy: Decimals as strings (exact), datetimes ISO, tuples as lists."""
    if isinstance(value, Decimal):
        return format(value, "f")  # never exponent notation (str(Decimal("0E-8")) is "0E-8")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def compute(
    week: Week,
    settings: HealthSettings,
    fetch_balance: BalanceFetcher | None = None,
    reconciliation: Mapping[str, Any] | None = None,
) -> WeeklyHealth:
    t = settings.thresholds
    keys, total = key_figures(week, t)
    spend = spend_figures(week, settings.monthly_budget_usd, t)
    fetch = fetch_balance or default_balance_fetcher(settings.balance_deadline_s)
    figures: dict[str, Any] = {
        "week": week.to_dict(),
        "settings": settings.to_dict(),
        "keys": keys,
        "total": total,
        "trend": trend_figures(week, settings.trend_weeks),
        "hours": hour_figures(week),
        "spend": spend,
        "balance": balance_figures(fetch, spend),
        "off_peak": off_peak_figures(week),
    }
    figures["advice"] = advice(figures, settings)
    figures["reconciliation"] = dict(reconciliation) if reconciliation else None
    figures = plain(figures)
    alerts = decide_alerts(signals_from_figures(figures), t)
    return WeeklyHealth(week, figures, alerts)


def store(report: WeeklyHealth) -> None:
    """Upsert the week's row: recomputing a week replaces it."""
    from psycopg.types.json import Jsonb

    db.execute(
        "health_upsert",
        {
            "week": report.week.label,
            "week_start": report.week.start,
            "week_end": report.week.end,
            "figures": Jsonb(report.figures),
            "alerts": Jsonb([a.to_dict() for a in report.alerts]),
        },
    )


def report_dir(week: Week) -> Path:
    return config.reports_dir() / "weekly" / week.label


CSV_COLUMNS = ("section", "member", "figure", "value")


def csv_rows(figures: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every scalar figure as one (section, member, figure, value) line."""
    rows: list[dict[str, Any]] = []

    def add(section: str, member: str, data: Mapping[str, Any]) -> None:
        for name, value in data.items():
            if not isinstance(value, Mapping | list):
                rows.append({"section": section, "member": member, "figure": name, "value": value})

    for key in figures["keys"]:
        add("key", key["key"], key)
    add("key", "all", figures["total"])
    for week in figures["trend"]["weeks"]:
        add("trend", week["week"], week)
    add("trend", "summary", figures["trend"])
    for hour in figures["hours"]["hours"]:
        add("429_hours", f"{hour['hour_utc']:02d} UTC", hour)
    add("spend", "firm", figures["spend"])
    for company in figures["spend"]["companies"]:
        add("spend", company["nit"] or "unattributed", company)
    add("balance", "account", figures["balance"])
    add("off_peak", "week", figures["off_peak"])
    for i, item in enumerate(figures["advice"], 1):
        rows.append({"section": "advice", "member": item["topic"], "figure": str(i), "value": item["text"]})
    return rows


def write_artifacts(report: WeeklyHealth, out_dir: Path | None = None) -> WeeklyHealth:
    out_dir = out_dir or report_dir(report.week)
    out_dir.mkdir(parents=True, exist_ok=True)
    report.csv_path = out_dir / "weekly_health.csv"
    with report.csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(csv_rows(report.figures))
    report.html_path = out_dir / "weekly_health.html"
    report.html_path.write_text(
        health_html.render(report.figures, [a.to_dict() for a in report.alerts]), encoding="utf-8"
    )
    return report


def run_week(
    week: Week,
    settings: HealthSettings,
    fetch_balance: BalanceFetcher | None = None,
    reconciliation: Mapping[str, Any] | None = None,
    out_dir: Path | None = None,
) -> WeeklyHealth:
    """Compute, store and write the week's report."""
    report = compute(week, settings, fetch_balance, reconciliation)
    store(report)
    write_artifacts(report, out_dir)
    log.info(
        "weekly health %s: %d attempts, 429 rate %s, week US$%s, %d alert(s); report %s",
        week.label, report.figures["total"]["calls"], report.figures["total"]["rate_429"],
        report.figures["spend"]["week_cost_usd"], len(report.alerts), report.html_path,
    )  # fmt: skip
    return report


# -- the DAG's steps (plain dicts in and out: they travel through XCom) ------------------------
def plan(interval_start: datetime | None, interval_end: datetime | None, params: Mapping[str, Any]) -> dict[str, Any]:
    """Which week and which settings a run uses, validated before anything is computed."""
    db.migrate()  # cheap when current; a fresh deployment must not fail on a missing table
    week = resolve_week(interval_start, interval_end, params)
    settings = resolve_settings(params)
    log.info("weekly health %s [%s, %s): settings %s", week.label, week.start, week.end, settings.to_dict())
    return {"week": week.to_dict(), "settings": settings.to_dict(), "reconcile": bool(params.get("reconcile", True))}


def report_step(run_plan: Mapping[str, Any], reconciliation: Mapping[str, Any] | None = None) -> dict[str, Any]:
    week = Week.from_dict(run_plan["week"])
    settings = HealthSettings.from_dict(run_plan["settings"])
    return run_week(week, settings, reconciliation=reconciliation).to_dict()
