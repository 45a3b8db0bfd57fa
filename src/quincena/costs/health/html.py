"""The weekly health report as one self-contained HTML page (report_html's tables and SVG charts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from quincena.core import config, es
from quincena.core import html as report_html
from quincena.core.html import esc

KEY_COLUMNS = ["key", "status", "calls", "ok_calls", "rate_limited", "rate_429", "failed_calls", "in_flight_calls",
               "p50_ms",
               "p95_ms", "prompt_cache_hit_tokens", "prompt_cache_miss_tokens", "completion_tokens", "cost_usd",
               "share_of_calls", "active_share", "even_share", "spread_deviation", "spread_flag",
               "disabled_at", "disabled_reason"]  # fmt: skip
COMPANY_COLUMNS = ["nit", "name", "budget_usd", "week_cost_usd", "mtd_cost_usd", "forecast_month_usd",
                   "forecast_ratio", "over_budget"]  # fmt: skip


_TOPICS = {"keys": "Claves", "pool": "Pool deepseek", "off_peak": "Hora pico", "spread": "Reparto",
           "disabled_key": "Clave deshabilitada", "budget": "Presupuesto"}  # fmt: skip


def _num(value: Any) -> float:
    """Chart value; a missing figure draws as zero (the table next to it says n/a)."""
    return 0.0 if value is None else float(Decimal(str(value)))


def _summary(figures: Mapping[str, Any], alerts: Sequence[Mapping[str, Any]]) -> str:
    if alerts:
        items = "".join(f"<li>{esc(a['message'])}</li>" for a in alerts)
        status = f"<div class='alert'><strong>{len(alerts)} alerta(s)</strong><ul>{items}</ul></div>"
    else:
        status = "<p class='ok'>Ningún umbral se cruzó esta semana.</p>"
    t, s, b = figures["total"], figures["spend"], figures["balance"]
    row = {
        "calls": t["calls"], "ok_calls": t["ok_calls"], "rate_limited": t["rate_limited"], "rate_429": t["rate_429"],
        "failed_calls": t["failed_calls"], "in_flight_calls": t["in_flight_calls"],
        "p50_ms": t["p50_ms"], "p95_ms": t["p95_ms"],
        "week_cost_usd": s["week_cost_usd"], "mtd_cost_usd": s["mtd_cost_usd"],
        "forecast_month_usd": s["forecast_month_usd"], "budget_usd": s["budget_usd"],
        "balance": b.get("total_balance") if b["status"] == "ok" else b["status"],
    }  # fmt: skip
    return status + report_html.table([row])


def _keys(figures: Mapping[str, Any]) -> str:
    keys = figures["keys"]
    chart = report_html.bar_chart(
        "Llamadas y 429 por clave",
        [k["key"] for k in keys],
        {"llamadas": [k["calls"] for k in keys], "429": [k["rate_limited"] for k in keys]},
    )
    return chart + report_html.table([*keys, figures["total"]], KEY_COLUMNS)


def _spread(figures: Mapping[str, Any]) -> str:
    active = [k for k in figures["keys"] if k["status"] != "disabled"]
    chart = report_html.bar_chart(
        "Participación de cada clave activa vs un reparto parejo",
        [k["key"] for k in active],
        {
            "participación": [_num(k["active_share"]) for k in active],
            "pareja": [_num(k["even_share"]) for k in active],
        },
    )
    max_spread = report_html.percent(figures["settings"]["thresholds"]["max_spread"])
    flagged = [k["key"] for k in active if k["spread_flag"]]
    note = (
        f"<p class='alert'>A más de {esc(max_spread)} de un reparto parejo: {esc(flagged)}</p>"
        if flagged
        else f"<p class='ok'>Toda clave activa está a menos de {esc(max_spread)} de un reparto parejo.</p>"
    )
    return note + chart


def _trend(figures: Mapping[str, Any]) -> str:
    trend, hours = figures["trend"], figures["hours"]
    weeks = trend["weeks"]
    week_chart = report_html.bar_chart(
        "Tasa de 429 por semana", [w["week"] for w in weeks], {"tasa de 429": [_num(w["rate_429"]) for w in weeks]}
    )
    hour_chart = report_html.bar_chart(
        "429 por hora del día (esta semana)",
        [f"{h['hour_utc']:02d} UTC / {h['hour_bogota']:02d} Bogotá" for h in hours["hours"]],
        {"429": [h["rate_limited"] for h in hours["hours"]]},
    )
    return (
        f"<p class='meta'>{_trend_prose(trend, hours, len(weeks) - 1)}</p>"
        + week_chart
        + report_html.table(weeks)
        + hour_chart
        + report_html.table(hours["hours"])
    )


def _trend_prose(trend: Mapping[str, Any], hours: Mapping[str, Any], previous_weeks: int) -> str:
    """Sentences that stay sentences when a figure is missing (no history, no 429 this week)."""
    if trend["previous_calls"]:
        rate = report_html.percent(trend["previous_rate_429"])
        before = (
            f"Las {previous_weeks} semanas anteriores: {esc(trend['previous_rate_limited'])} respuestas 429 en "
            f"{esc(trend['previous_calls'])} llamadas ({esc(rate)})"
        )
    else:
        before = f"Sin llamadas en las {previous_weeks} semanas anteriores"
    direction = {"rising": "subiendo", "falling": "bajando", "flat": "estable"}.get(trend["direction"])
    now = f"; esta semana la tasa va <strong>{esc(direction)}</strong>." if direction else "."
    if not hours.get("top_hours_utc"):
        return before + now + " Ninguna respuesta 429 esta semana."
    share = report_html.percent(hours["top_share"]) if hours.get("top_share") is not None else ""
    return (
        before + now + f" Las horas con más 429 (UTC {esc(hours['top_hours_utc'])}; Bogotá "
        f"{esc(hours['top_hours_bogota'])}) concentran {esc(share)} de los 429 de la semana."
    )


def _spend(figures: Mapping[str, Any]) -> str:
    spend = figures["spend"]
    companies = spend["companies"]
    chart = report_html.bar_chart(
        "Mes a la fecha, proyección a fin de mes y presupuesto por empresa (US$)",
        [f"{c['nit']} {c['name'] or ''}" for c in companies],
        {
            "mes a la fecha": [_num(c["mtd_cost_usd"]) for c in companies],
            "proyección": [_num(c["forecast_month_usd"]) for c in companies],
            "presupuesto": [_num(c["budget_usd"]) for c in companies],
        },
    )
    firm = {k: v for k, v in spend.items() if k != "companies"}
    return report_html.table([firm]) + chart + report_html.table(companies, COMPANY_COLUMNS)


def _balance(figures: Mapping[str, Any]) -> str:
    balance = figures["balance"]
    if balance["status"] != "ok":
        status = {"unavailable": "no disponible"}.get(balance["status"], balance["status"])
        return f"<p class='alert'>Saldo de DeepSeek {esc(status)}: {esc(balance['reason'])}</p>"
    return report_html.table([balance])


def _off_peak(figures: Mapping[str, Any]) -> str:
    off = figures["off_peak"]
    chart = report_html.bar_chart(
        "Los tokens de la semana con tres precios (US$)",
        ["como corrieron", "todo fuera de pico", "todo en pico"],
        {"costo": [_num(off["priced_as_run_usd"]), _num(off["all_off_peak_usd"]), _num(off["all_peak_usd"])]},
    )
    return chart + report_html.table([off])


def _advice(figures: Mapping[str, Any]) -> str:
    items = "".join(
        f"<li><strong>{esc(_TOPICS.get(a['topic'], a['topic']))}</strong>: {esc(a['text'])}</li>"
        for a in figures["advice"]
    )
    return f"<ul>{items}</ul>"


def _reconciliation(figures: Mapping[str, Any]) -> str | None:
    rec = figures.get("reconciliation")
    if not rec or not rec.get("files"):
        return None
    return report_html.table(rec["files"], ["file", "status", "groups", "gaps", "verdicts", "csv", "error"])


def render(figures: Mapping[str, Any], alerts: Sequence[Mapping[str, Any]]) -> str:
    week = figures["week"]
    sections = [
        ("Resumen", _summary(figures, alerts)),
        ("Por clave de API", _keys(figures)),
        ("Reparto entre claves", _spread(figures)),
        ("Tendencia y horas de los 429", _trend(figures)),
        ("Gasto y presupuesto", _spend(figures)),
        ("Saldo de DeepSeek", _balance(figures)),
        ("Horas pico vs fuera de pico", _off_peak(figures)),
        ("Recomendaciones", _advice(figures)),
        ("Aprobaciones pendientes", _waiting(figures)),
    ]
    agreement = figures.get("agreement")
    if agreement and agreement.get("cycles"):
        from quincena.quality.agreement import agreement_html

        sections.append(("Acuerdo de los contadores con el modelo", agreement_html(agreement)))
    reconciliation = _reconciliation(figures)
    if reconciliation:
        sections.append(("Conciliación con la exportación de uso de DeepSeek", reconciliation))
    return report_html.page(
        f"Salud semanal de DeepSeek {week['week']}",
        f"Semana {_local_span(week['start'], week['end'])} (hora de Bogotá), según el registro api_calls; "
        "una cuenta: sus claves comparten un solo límite.",
        sections,
    )


def _waiting(figures: Mapping[str, Any]) -> str:
    approvals = figures.get("approvals") or {"days": 0, "waiting": []}
    rows = [
        {"Empresa": f"{a['company_nit']} {a['company_name']}", "Quincena": a["cycle_id"],
         "Días esperando": a["days"], "Solicitud": a["request_id"]}
        for a in approvals["waiting"]
    ]  # fmt: skip
    if not rows:
        return f"<p class='ok'>Ninguna aprobación espera más de {report_html.esc(approvals['days'])} días.</p>"
    return report_html.table(rows)


def _local_span(start: str, end: str) -> str:
    """'lunes 23 de noviembre de 2026 – domingo 29 de noviembre de 2026' from the week's UTC bounds."""
    first = datetime.fromisoformat(start).astimezone(config.TZ).date()
    last = datetime.fromisoformat(end).astimezone(config.TZ).date() - timedelta(days=1)
    return f"lunes {es.long_date(first)} – domingo {es.long_date(last)}"
