"""The weekly health report as one self-contained HTML page (report_html's tables and SVG charts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from quincena.core import html as report_html
from quincena.core.html import esc

KEY_COLUMNS = ["key", "status", "calls", "ok_calls", "rate_limited", "rate_429", "failed_calls", "p50_ms",
               "p95_ms", "prompt_cache_hit_tokens", "prompt_cache_miss_tokens", "completion_tokens", "cost_usd",
               "share_of_calls", "active_share", "even_share", "spread_deviation", "spread_flag",
               "disabled_at", "disabled_reason"]  # fmt: skip
COMPANY_COLUMNS = ["nit", "name", "budget_usd", "week_cost_usd", "mtd_cost_usd", "forecast_month_usd",
                   "forecast_ratio", "over_budget"]  # fmt: skip


def _num(value: Any) -> float:
    """Chart value; a missing figure draws as zero (the table next to it says n/a)."""
    return 0.0 if value is None else float(Decimal(str(value)))


def _summary(figures: Mapping[str, Any], alerts: Sequence[Mapping[str, Any]]) -> str:
    if alerts:
        items = "".join(f"<li>{esc(a['message'])}</li>" for a in alerts)
        status = f"<div class='alert'><strong>{len(alerts)} alert(s)</strong><ul>{items}</ul></div>"
    else:
        status = "<p class='ok'>No threshold crossed this week.</p>"
    t, s, b = figures["total"], figures["spend"], figures["balance"]
    row = {
        "attempts": t["calls"], "ok": t["ok_calls"], "429s": t["rate_limited"], "429 rate": t["rate_429"],
        "failed calls": t["failed_calls"], "p50 ms": t["p50_ms"], "p95 ms": t["p95_ms"],
        "week USD": s["week_cost_usd"], "month-to-date USD": s["mtd_cost_usd"],
        "month-end forecast USD": s["forecast_month_usd"], "budget USD": s["budget_usd"],
        "balance": b.get("total_balance") if b["status"] == "ok" else b["status"],
    }  # fmt: skip
    return status + report_html.table([row])


def _keys(figures: Mapping[str, Any]) -> str:
    keys = figures["keys"]
    chart = report_html.bar_chart(
        "Attempts and 429s per key",
        [k["key"] for k in keys],
        {"attempts": [k["calls"] for k in keys], "429s": [k["rate_limited"] for k in keys]},
    )
    return chart + report_html.table([*keys, figures["total"]], KEY_COLUMNS)


def _spread(figures: Mapping[str, Any]) -> str:
    active = [k for k in figures["keys"] if k["status"] != "disabled"]
    chart = report_html.bar_chart(
        "Share of the active keys' calls vs an even share",
        [k["key"] for k in active],
        {"share": [_num(k["active_share"]) for k in active], "even": [_num(k["even_share"]) for k in active]},
    )
    max_spread = figures["settings"]["thresholds"]["max_spread"]
    flagged = [k["key"] for k in active if k["spread_flag"]]
    note = (
        f"<p class='alert'>More than {esc(max_spread)} off an even share: {esc(', '.join(flagged))}</p>"
        if flagged
        else f"<p class='ok'>Every active key within {esc(max_spread)} of an even share.</p>"
    )
    return note + chart


def _trend(figures: Mapping[str, Any]) -> str:
    trend, hours = figures["trend"], figures["hours"]
    weeks = trend["weeks"]
    week_chart = report_html.bar_chart(
        "429 rate per week", [w["week"] for w in weeks], {"429 rate": [_num(w["rate_429"]) for w in weeks]}
    )
    hour_chart = report_html.bar_chart(
        "429s by hour of day (this week)",
        [f"{h['hour_utc']:02d} UTC / {h['hour_bogota']:02d} Bogotá" for h in hours["hours"]],
        {"429s": [h["rate_limited"] for h in hours["hours"]]},
    )
    meta = (
        f"<p class='meta'>Previous {len(weeks) - 1} weeks: {esc(trend['previous_rate_limited'])} 429s in "
        f"{esc(trend['previous_calls'])} attempts (rate {esc(trend['previous_rate_429'])}); this week is "
        f"<strong>{esc(trend['direction'])}</strong>. Top hours UTC {esc(hours['top_hours_utc'])}, Bogotá "
        f"{esc(hours['top_hours_bogota'])} hold {esc(hours['top_share'])} of the week's 429s.</p>"
    )
    return meta + week_chart + report_html.table(weeks) + hour_chart + report_html.table(hours["hours"])


def _spend(figures: Mapping[str, Any]) -> str:
    spend = figures["spend"]
    companies = spend["companies"]
    chart = report_html.bar_chart(
        "Month-to-date, month-end forecast and budget per company (USD)",
        [f"{c['nit']} {c['name'] or ''}" for c in companies],
        {
            "month to date": [_num(c["mtd_cost_usd"]) for c in companies],
            "forecast": [_num(c["forecast_month_usd"]) for c in companies],
            "budget": [_num(c["budget_usd"]) for c in companies],
        },
    )
    firm = {k: v for k, v in spend.items() if k != "companies"}
    return report_html.table([firm]) + chart + report_html.table(companies, COMPANY_COLUMNS)


def _balance(figures: Mapping[str, Any]) -> str:
    balance = figures["balance"]
    if balance["status"] != "ok":
        return f"<p class='alert'>DeepSeek balance {esc(balance['status'])}: {esc(balance['reason'])}</p>"
    return report_html.table([balance])


def _off_peak(figures: Mapping[str, Any]) -> str:
    off = figures["off_peak"]
    chart = report_html.bar_chart(
        "The week's tokens priced three ways (USD)",
        ["as run", "all off-peak", "all peak"],
        {"cost": [_num(off["priced_as_run_usd"]), _num(off["all_off_peak_usd"]), _num(off["all_peak_usd"])]},
    )
    return chart + report_html.table([off])


def _advice(figures: Mapping[str, Any]) -> str:
    items = "".join(f"<li><strong>{esc(a['topic'])}</strong>: {esc(a['text'])}</li>" for a in figures["advice"])
    return f"<ul>{items}</ul>"


def _reconciliation(figures: Mapping[str, Any]) -> str | None:
    rec = figures.get("reconciliation")
    if not rec or not rec.get("files"):
        return None
    return report_html.table(rec["files"], ["file", "status", "groups", "gaps", "verdicts", "csv", "error"])


def render(figures: Mapping[str, Any], alerts: Sequence[Mapping[str, Any]]) -> str:
    week = figures["week"]
    sections = [
        ("Summary", _summary(figures, alerts)),
        ("Per API key", _keys(figures)),
        ("Spread across keys", _spread(figures)),
        ("429 trend and hours", _trend(figures)),
        ("Spend and budget", _spend(figures)),
        ("DeepSeek balance", _balance(figures)),
        ("Peak vs off-peak", _off_peak(figures)),
        ("Advice", _advice(figures)),
    ]
    agreement = figures.get("agreement")
    if agreement and agreement.get("cycles"):
        from quincena.quality.agreement import agreement_html

        sections.append(("Agreement with the accountants", agreement_html(agreement)))
    reconciliation = _reconciliation(figures)
    if reconciliation:
        sections.append(("Reconciliation with DeepSeek's usage export", reconciliation))
    return report_html.page(
        f"DeepSeek weekly health {week['week']}",
        f"Week [{week['start']}, {week['end']}) from the api_calls ledger; one account, its keys share one limit.",
        sections,
    )
