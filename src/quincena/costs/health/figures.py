"""The week's figures from the database: keys, 429 trend and hours, spend and budgets, balance, off-peak."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from deepseek_provider.pricing import WEEKDAYS
from deepseek_provider.redact import clip

from quincena.core import config, db
from quincena.costs.health.rules import spread_deviation
from quincena.costs.health.settings import Thresholds
from quincena.costs.health.week import WEEK, Week, week_from_bounds
from quincena.deepseek import prices

log = logging.getLogger(__name__)

_RATE = Decimal("0.0001")  # rates and shares: 4 decimals (0.01 %)
_USD4 = Decimal("0.0001")  # forecasts: a hundredth of a cent
_USD8 = Decimal("0.00000001")  # ledger precision (api_calls.cost_usd is numeric(14, 8))
# A 429 rate that moved less than one percentage point against the previous weeks is noise.
TREND_EPSILON = Decimal("0.01")


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
        "calls": 0, "ok_calls": 0, "rate_limited": 0, "failed_calls": 0, "in_flight_calls": 0, "p50_ms": None,
        "p95_ms": None,
        "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 0, "completion_tokens": 0, "cost_usd": Decimal(0),
    }  # fmt: skip


def _counters(stat: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "calls": int(stat["calls"]),
        "ok_calls": int(stat["ok_calls"]),
        "rate_limited": int(stat["rate_limited"]),
        "failed_calls": int(stat["failed_calls"]),
        "in_flight_calls": int(stat["in_flight_calls"]),  # answer never recorded: cost unknown, not zero
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
    return None if text is None else clip(text)


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
def _price(tokens: Mapping[str, Any], rates: Any, unit: int) -> Decimal:
    return (
        tokens["prompt_cache_hit_tokens"] * rates.cache_hit
        + tokens["prompt_cache_miss_tokens"] * rates.cache_miss
        + tokens["completion_tokens"] * rates.output
    ) / unit


def off_peak_figures(week: Week) -> dict[str, Any]:
    """The week's tokens as they ran (the ledger's exact cost: the report has ONE weekly total), and
    re-priced all at off-peak and all at peak rates."""
    table, unit = prices.load_with_unit()
    rows = db.query("health_tokens_by_hour", {"start": week.start, "end": week.end})
    as_run = off = peak = spent_peak = Decimal(0)
    tokens = peak_tokens = 0
    unpriced: set[str] = set()
    versions: set[str] = set()
    windows: tuple[tuple[time, time], ...] = ()
    days: frozenset[int] = frozenset()
    for row in rows:
        hour = row["hour_utc"].replace(tzinfo=UTC)
        as_run += Decimal(row["cost_usd"])
        try:
            entry = table.entry(row["model"], hour)
        except Exception:  # UnknownModelError: say so instead of guessing a price
            unpriced.add(row["model"])
            continue
        _, version = entry.rates_at(hour)
        count = row["prompt_cache_hit_tokens"] + row["prompt_cache_miss_tokens"] + row["completion_tokens"]
        tokens += count
        if version.endswith(":peak"):
            peak_tokens += count
        versions.add(entry.version)
        if entry.peak is not None:
            windows, days = entry.peak_windows, entry.peak_days
        if version.endswith(":peak"):  # the ledger's cost of the hours inside a peak window
            spent_peak += Decimal(row["cost_usd"])
        off += _price(row, entry.base, unit)
        peak += _price(row, entry.peak or entry.base, unit)
    saving = as_run - off
    return {
        "price_versions": sorted(versions),
        "peak_pricing": bool(windows),
        "peak_windows_utc": [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in windows],
        "peak_windows_bogota": [[_bogota_clock(a), _bogota_clock(b)] for a, b in windows],
        "peak_days_utc": [WEEKDAYS[d] for d in sorted(days)],
        "tokens": tokens,
        "peak_tokens": peak_tokens,
        "peak_token_share": _ratio(peak_tokens, tokens),
        "priced_as_run_usd": as_run.quantize(_USD8, ROUND_HALF_UP),
        "spent_peak_usd": spent_peak.quantize(_USD8, ROUND_HALF_UP),  # as run, split by the windows
        "spent_off_peak_usd": (as_run - spent_peak).quantize(_USD8, ROUND_HALF_UP),
        "all_off_peak_usd": off.quantize(_USD8, ROUND_HALF_UP),
        "all_peak_usd": peak.quantize(_USD8, ROUND_HALF_UP),
        "saving_usd": saving.quantize(_USD8, ROUND_HALF_UP),
        "saving_share": _ratio(saving, as_run),
        "unpriced_models": sorted(unpriced),
    }


def _bogota_clock(clock: time) -> str:
    moment = datetime.combine(date(2026, 1, 5), clock, tzinfo=UTC).astimezone(config.TZ)
    return moment.strftime("%H:%M")


# -- next year's withholding rules -----------------------------------------------------------
def tax_rules_figures(week: Week) -> dict[str, Any]:
    """Which tax years' withholding rules the firm needs now and which are missing.

    DIAN publishes next year's UVT in December, so from 1 December the next year's file is due; a
    year running without its own file sends every invoice to review.
    """
    from quincena.books.withholdings import rules

    last_day = (week.end - timedelta(microseconds=1)).astimezone(config.TZ).date()
    needed = [last_day.year] + ([last_day.year + 1] if last_day.month == 12 else [])
    present = set(rules.available_years())
    return {
        "as_of": last_day.isoformat(),
        "needed_years": needed,
        "missing_years": [year for year in needed if year not in present],
        "folder": "include/tax",
    }


# -- approvals an accountant owes ------------------------------------------------------------
def approvals_waiting_figures(week: Week, days: float | None = None) -> dict[str, Any]:
    """Approval requests open for longer than QUINCENA_APPROVAL_WAITING_DAYS at the week's end."""
    limit = config.approval_waiting_days() if days is None else days
    before = week.end - timedelta(days=limit)
    rows = db.query("approvals_waiting", {"before": before})
    waiting = [
        {
            "cycle_id": r["cycle_id"], "company_nit": r["company_nit"], "company_name": r["company_name"],
            "request_id": r["request_id"], "requested_at": r["requested_at"].isoformat(),
            "days": round((week.end - r["requested_at"]).total_seconds() / 86400, 1),
        }
        for r in rows
    ]  # fmt: skip
    return {"days": limit, "waiting": waiting}
