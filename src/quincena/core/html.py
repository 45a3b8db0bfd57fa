"""Self-contained HTML reports (inline CSS and SVG charts, no scripts, no network)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from quincena.core import es
from quincena.core.numbers import decimal_text

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem;color:#1f2933;max-width:1200px}
.scroll{overflow-x:auto;max-width:100%}svg{max-width:100%;height:auto}
.banner{background:#fff3c4;border-left:4px solid #f0b429;padding:.5rem 1rem;font-weight:bold}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d9e2ec}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{padding:.25rem .45rem;border-bottom:1px solid #e4e7eb}
th{background:#f0f4f8;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#52606d;font-size:.9rem}.alert{background:#ffe3e3;border-left:4px solid #d64545;padding:.5rem 1rem}
.ok{background:#e3f9e5;border-left:4px solid #3f9142;padding:.5rem 1rem}svg text{font-size:11px;fill:#334e68}
"""

Number = int | float | Decimal


def esc(value: Any) -> str:
    """Escaped text of a value; a Decimal in plain notation (never ``0E-8``); a list as prose, not
    Python syntax (``01:00–04:00, 06:00–10:00`` for a list of pairs)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_item(v) for v in value)
    return html.escape(decimal_text(value) if isinstance(value, Decimal) else str(value))


def _item(value: Any) -> str:
    if isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return f"{esc(value[0])}–{esc(value[1])}"
    return esc(value)


# Readable column headers (Spanish: the firm's people read these reports); unknown keys are tidied.
HEADERS = {
    "in_flight_calls": "En vuelo (costo desconocido)",
    "reviewed": "Revisadas",
    "kept": "Mantenidas",
    "changed": "Cambiadas",
    "filled": "Completadas",
    "agreement": "Acuerdo",
    "changed_share": "Cambiadas (%)",
    "filled_share": "Completadas (%)",
    "cycle_id": "Quincena",
    "model": "Modelo",
    "prompt_version": "Versión del prompt",
    "first_cycle": "Primera quincena",
    "month": "Mes",
    "days_elapsed": "Días transcurridos",
    "days_in_month": "Días del mes",
    "remaining_forecast_usd": "Proyección restante",
    "budget_used": "Presupuesto usado",
    "unattributed_week_cost_usd": "Costo sin empresa (semana)",
    "reason": "Motivo",
    "currency": "Moneda",
    "is_available": "Disponible",
    "total_balance": "Saldo total",
    "granted_balance": "Saldo regalado",
    "topped_up_balance": "Saldo recargado",
    "daily_spend_usd": "Gasto diario",
    "runway_days": "Días de saldo",
    "balance_after_forecast_usd": "Saldo tras la proyección",
    "covers_forecast": "Cubre la proyección",
    "peak_cost_usd": "Costo en hora pico",
    "off_peak_cost_usd": "Costo fuera de pico",
    "spent_peak_usd": "Gastado en hora pico",
    "spent_off_peak_usd": "Gastado fuera de pico",
    "member": "NIT / clave",
    "name": "Nombre",
    "nit": "NIT",
    "key": "Clave",
    "status": "Estado",
    "invoices": "Facturas",
    "classified": "Clasificadas",
    "review": "En revisión",
    "pending": "Pendientes",
    "quarantined_files": "Archivos en cuarentena",
    "memory_lines": "Líneas por memoria",
    "model_lines": "Líneas por modelo",
    "calls": "Llamadas HTTP",
    "first_call_s": "Primera llamada (s tras la primera del ciclo)",
    "last_call_s": "Última llamada (s tras la primera del ciclo)",
    "ok_calls": "Llamadas exitosas",
    "rate_limited": "429",
    "rate_429": "Tasa de 429",
    "failed_calls": "Llamadas fallidas",
    "p50_ms": "Latencia p50 (ms)",
    "p95_ms": "Latencia p95 (ms)",
    "prompt_cache_hit_tokens": "Tokens en caché",
    "prompt_cache_miss_tokens": "Tokens sin caché",
    "completion_tokens": "Tokens de salida",
    "cost_usd": "Costo exacto",
    "proportional_cost_usd": "Costo proporcional",
    "avg_cost_per_invoice_usd": "Costo promedio por factura",
    "cache_hit_ratio": "Aciertos de caché",
    "share_of_calls": "Participación",
    "active_share": "Participación (activas)",
    "even_share": "Participación pareja",
    "spread_deviation": "Desviación",
    "spread_flag": "Alerta de reparto",
    "disabled_at": "Deshabilitada el",
    "disabled_reason": "Motivo",
    "budget_usd": "Presupuesto mensual",
    "week_cost_usd": "Costo de la semana",
    "mtd_cost_usd": "Costo del mes a la fecha",
    "forecast_month_usd": "Proyección del mes",
    "forecast_ratio": "Proyección / presupuesto",
    "over_budget": "Sobre presupuesto",
    "memory_share_of_lines": "Líneas por memoria",
    "balance": "Saldo",
    "week": "Semana",
    "hour_utc": "Hora UTC",
    "hour_bogota": "Hora Bogotá",
    "file": "Archivo",
    "error": "Error",
}
_VERBATIM = ("year", "hour_utc", "hour_bogota", "nit", "member", "number", "version", "_id")  # labels, not amounts
_PERCENT_SUFFIXES = ("_ratio", "_share", "rate_429", "_share_of_lines", "share_of_calls", "agreement")


def header(column: str) -> str:
    return HEADERS.get(column) or column.replace("_", " ").capitalize()


def usd(value: Any) -> str:
    """US$ in Colombian notation (US$1.234,50); cents and beyond kept to the ledger's precision, trailing
    zeros cut."""
    amount = Decimal(str(value))
    text = f"{amount:,.8f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"US${whole.replace(',', '.')},{cents.ljust(2, '0')}"


def percent(value: Any) -> str:
    """``0.0525`` → ``5,3 %``."""
    return es.percent(Decimal(str(value)), 1)


_DECIMAL_TEXT = re.compile(r"^-?\d+\.\d+$")  # "3.50" as the stored figures keep it; never a NIT or an id


def _number(value: int | float | Decimal | str) -> str | None:
    """A number in Colombian notation with the places it has (130.000; 3,50), or None when not one."""
    if isinstance(value, str):
        if not _DECIMAL_TEXT.match(value):
            return None
        value = Decimal(value)
    if isinstance(value, int):
        return es.number(value, 0)
    if isinstance(value, float):
        value = Decimal(repr(value))
    places = max(0, -value.as_tuple().exponent) if value.is_finite() else 0
    return es.number(value, places)


def cell(column: str, value: Any) -> str:
    """One table value as a person reads it: US$ for *_usd columns, % for ratios and shares, numbers as
    1.234,5 and dates as 2 de diciembre de 2026."""
    if isinstance(value, bool):
        return "sí" if value else "no"
    if isinstance(value, date) and not isinstance(value, datetime):
        return esc(es.long_date(value))
    if value is None or not isinstance(value, int | float | Decimal | str):
        return esc(value)
    try:
        if column.endswith("_usd"):
            return esc(usd(value))
        if column.endswith(_PERCENT_SUFFIXES):
            return esc(percent(value))
        if not column.endswith(_VERBATIM):
            number = _number(value)
            if number is not None:
                return esc(number)
    except ArithmeticError:  # a text such as "n/a" in a money column
        return esc(value)
    return esc(value)


def bar_chart(title: str, labels: Sequence[str], series: dict[str, Sequence[Number]], unit: str = "") -> str:
    """A horizontal grouped bar chart as inline SVG; one colour per series."""
    colours = ("#2680c2", "#f0b429", "#3f9142", "#d64545")
    values = [float(v) for vs in series.values() for v in vs] or [0.0]
    top = max(values) or 1.0
    bar_h, gap, label_w, width = 12, 8, 180, 560
    group_h = bar_h * len(series) + gap
    height = 30 + group_h * len(labels) + 20
    total_w = label_w + width + 90
    parts = [
        f'<svg role="img" aria-label="{esc(title)}" width="{total_w}" height="{height}" '
        f'viewBox="0 0 {total_w} {height}">'
    ]
    parts.append(f'<text x="0" y="14" font-weight="bold">{esc(title)}</text>')
    for i, label in enumerate(labels):
        y0 = 30 + i * group_h
        parts.append(f'<text x="0" y="{y0 + bar_h}">{esc(label[:28])}</text>')
        for j, (name, vs) in enumerate(series.items()):
            value = float(vs[i])
            w = max(1.0, width * value / top) if value else 0.0
            y = y0 + j * bar_h
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{colours[j % 4]}">'
                f"<title>{esc(name)}: {value:g}{esc(unit)}</title></rect>"
            )
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}">{value:.4g}{esc(unit)}</text>')
    legend_y = height - 6
    for j, name in enumerate(series):
        x = label_w + j * 160
        parts.append(f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{colours[j % 4]}"/>')
        parts.append(f'<text x="{x + 14}" y="{legend_y}">{esc(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A table with readable headers and formatted values, scrolling sideways on a narrow screen."""
    if not rows:
        return "<p class='meta'>(sin filas)</p>"
    columns = list(columns or rows[0].keys())
    head = "".join(f"<th>{esc(header(c))}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c)
            numeric = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
            cls = " class='num'" if numeric else ""
            cells.append(f"<td{cls}>{cell(c, value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str]]) -> str:
    """A whole HTML document; ``sections`` are (heading, already-escaped HTML) pairs."""
    body = "".join(f"<h2>{esc(h)}</h2>{content}" for h, content in sections)
    return (
        "<!DOCTYPE html><html lang='es'><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title><style>{_CSS}</style></head>"
        f"<body><h1>{esc(title)}</h1><p class='meta'>{esc(subtitle)}</p>{body}</body></html>"
    )


def matrix_chart(title: str, rows: Sequence[str], columns: Sequence[str], counts: dict[tuple[str, str], int]) -> str:
    """A confusion-style heat map as inline SVG: one cell per (row, column), darker = more of the row;
    cells where the row and column labels match are green, the others red."""
    cell, label_w, top = 26, 90, 90
    width, height = label_w + cell * len(columns) + 10, top + cell * len(rows) + 10
    parts = [f'<svg role="img" aria-label="{esc(title)}" width="{width}" height="{height}">']
    parts.append(f'<text x="0" y="14" font-weight="bold">{esc(title)}</text>')
    for j, column in enumerate(columns):
        x = label_w + j * cell + cell / 2
        parts.append(f'<text x="{x:.0f}" y="{top - 6}" transform="rotate(-60 {x:.0f} {top - 6})">{esc(column)}</text>')
    for i, row in enumerate(rows):
        y = top + i * cell
        total = sum(counts.get((row, c), 0) for c in columns) or 1
        parts.append(f'<text x="0" y="{y + cell * 0.65:.0f}">{esc(row)}</text>')
        for j, column in enumerate(columns):
            n = counts.get((row, column), 0)
            if not n:
                fill = "#f5f7fa"
            else:
                shade = 0.25 + 0.75 * n / total
                fill = f"rgba(63,145,66,{shade:.2f})" if row == column else f"rgba(214,69,69,{shade:.2f})"
            x = label_w + j * cell
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}">'
                f"<title>{esc(row)} → {esc(column)}: {n}</title></rect>"
            )
            if n:
                parts.append(f'<text x="{x + 4}" y="{y + cell * 0.65:.0f}">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)
