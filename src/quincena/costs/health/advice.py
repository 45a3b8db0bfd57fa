"""Recommendations that follow from the week's figures and the facts of DeepSeek's limits.

Facts the advice relies on (docs/deepseek-api.md): the rate limit belongs to the ACCOUNT and every
key shares it, so more keys never raise it; peak/off-peak prices depend on the hour a call starts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from quincena.costs.health.rules import pct
from quincena.costs.health.settings import HealthSettings, Thresholds


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
    return "n/a" if value is None else pct(Decimal(str(value)))


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
            "text": f"429 rate {pct(rate)} is above {pct(t.max_429_rate)}: lower {pool}{target}. "
            "Throttled attempts cost time and retries, not capacity.",
        }
    p50 = total["p50_ms"]
    if rate <= t.low_429_rate and p50 is not None and Decimal(str(p50)) >= t.raise_pool_min_p50_ms:
        suggested = max(slots + 1, math.ceil(slots * Decimal("1.25"))) if slots else None
        target = f" to {suggested} slots" if suggested else ""
        return {
            "topic": "pool",
            "text": f"Almost no 429s ({pct(rate)}) and answers take {p50 / 1000:.1f} s at the median: cycles are "
            f"bound by latency, not by the limit — raise {pool}{target} and watch next week's 429 rate.",
        }
    return {"topic": "pool", "text": f"429 rate {pct(rate)}: keep {pool} as it is."}


def _off_peak_advice(off: Mapping[str, Any]) -> dict[str, str]:
    if not off["peak_pricing"]:
        return {
            "topic": "off_peak",
            "text": "No peak/off-peak prices in force for this week's models: when cycles run does not change cost.",
        }
    windows = ", ".join(f"{a}–{b}" for a, b in off["peak_windows_utc"])
    days = off.get("peak_days_utc") or []
    if days and len(days) < 7:  # Bogotá's evening window falls on the previous local day; UTC days are the rule
        windows = f"{'/'.join(days)} {windows}"
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
