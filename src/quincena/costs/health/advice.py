"""Recommendations that follow from the week's figures and the facts of DeepSeek's limits.

Facts the advice relies on (docs/deepseek-api.md): the rate limit belongs to the ACCOUNT and every
key shares it, so more keys never raise it; peak/off-peak prices depend on the hour a call starts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from quincena.core import es
from quincena.costs.health.rules import pct_es as pct
from quincena.costs.health.rules import usd
from quincena.costs.health.settings import HealthSettings, Thresholds

_DAYS_ES = {"mon": "lun", "tue": "mar", "wed": "mié", "thu": "jue", "fri": "vie", "sat": "sáb", "sun": "dom"}


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
                    "text": f"La clave {key['key']} tomó {_share(key['active_share'])} de las llamadas de las claves "
                    f"activas frente a un reparto parejo de {_share(key['even_share'])}: un error de rotación, o una "
                    "clave que falla y se salta.",
                }
            )
        if key["status"] == "disabled":
            items.append(
                {
                    "topic": "disabled_key",
                    "text": f"La clave {key['key']} está deshabilitada ({key['disabled_reason'] or 'sin motivo'}): "
                    "reemplácela solo por redundancia — no agrega capacidad.",
                }
            )
    spend = figures["spend"]
    if spend["forecast_ratio"] is not None and Decimal(spend["forecast_ratio"]) > t.budget_ratio:
        items.append(
            {
                "topic": "budget",
                "text": f"Al ritmo de este mes la firma gasta {usd(spend['forecast_month_usd'])} frente a un "
                f"presupuesto de {usd(spend['budget_usd'])}.",
            }
        )
    for company in spend["companies"]:
        if company["over_budget"]:
            items.append(
                {
                    "topic": "budget",
                    "text": f"La empresa {company['nit']} ({company['name']}) va camino de "
                    f"{usd(company['forecast_month_usd'])} frente a su presupuesto de {usd(company['budget_usd'])}.",
                }
            )
    return items


def _share(value: Any) -> str:
    return "s. d." if value is None else pct(Decimal(str(value)))


def _keys_advice(total: Mapping[str, Any]) -> dict[str, str]:
    text = (
        f"Las {total['active_keys']} clave(s) activas comparten UN límite de la cuenta: agregar claves no lo sube. "
        f"Los 429 tocaron {total['keys_with_429']} clave(s) esta semana"
    )
    if total["keys_with_429"] > 1:
        text += " — varias claves frenadas a la vez es el límite de la cuenta, no una clave mala."
    else:
        text += "."
    return {"topic": "keys", "text": text}


def _pool_advice(total: Mapping[str, Any], slots: int | None, t: Thresholds) -> dict[str, str]:
    """Pool size from the observed 429 rate: the pool is the only knob on requests in flight."""
    if not total["calls"]:
        return {"topic": "pool", "text": "Ninguna llamada a DeepSeek esta semana: nada con qué dimensionar el pool."}
    rate = Decimal(total["rate_limited"]) / Decimal(total["calls"])
    pool = f"el pool deepseek ({slots} cupos)" if slots else "el pool deepseek"
    if rate > t.max_429_rate:
        # Fewer requests in flight in proportion to the share that was throttled anyway.
        suggested = max(1, min(slots - 1, math.floor(slots * (1 - rate)))) if slots and slots > 1 else None
        target = f" a {suggested} cupos" if suggested else ""
        return {
            "topic": "pool",
            "text": f"La tasa de 429, {pct(rate)}, supera {pct(t.max_429_rate)}: reduzca {pool}{target}. "
            "Los intentos frenados cuestan tiempo y reintentos, no dan capacidad.",
        }
    p50 = total["p50_ms"]
    if rate <= t.low_429_rate and p50 is not None and Decimal(str(p50)) >= t.raise_pool_min_p50_ms:
        suggested = max(slots + 1, math.ceil(slots * Decimal("1.25"))) if slots else None
        target = f" a {suggested} cupos" if suggested else ""
        seconds = es.number(Decimal(str(p50)) / 1000, 1)
        return {
            "topic": "pool",
            "text": f"Casi ningún 429 ({pct(rate)}) y las respuestas tardan {seconds} s en la mediana: los ciclos "
            f"los limita la latencia, no el límite — amplíe {pool}{target} y vigile la tasa de 429 de la "
            "semana siguiente.",
        }
    return {"topic": "pool", "text": f"Tasa de 429 de {pct(rate)}: mantenga {pool} como está."}


def _off_peak_advice(off: Mapping[str, Any]) -> dict[str, str]:
    if not off["peak_pricing"]:
        return {
            "topic": "off_peak",
            "text": "No hay precios de hora pico para los modelos de esta semana: la hora de los ciclos no cambia "
            "el costo.",
        }
    windows = ", ".join(f"{a}–{b}" for a, b in off["peak_windows_utc"])
    days = off.get("peak_days_utc") or []
    if days and len(days) < 7:  # Bogotá's evening window falls on the previous local day; UTC days are the rule
        windows = f"{'/'.join(_DAYS_ES[d] for d in days)} {windows}"
    local = ", ".join(f"{a}–{b}" for a, b in off["peak_windows_bogota"])
    saving = Decimal(off["saving_usd"])
    if saving > 0:
        return {
            "topic": "off_peak",
            "text": f"El {_share(off['peak_token_share'])} de los tokens de esta semana corrió en hora pico (UTC "
            f"{windows}; Bogotá {local}). Fuera de pico esos ciclos habrían costado {usd(off['all_off_peak_usd'])} "
            f"en vez de {usd(off['priced_as_run_usd'])}: {usd(saving)} ({_share(off['saving_share'])}) menos.",
        }
    return {
        "topic": "off_peak",
        "text": f"Todos los tokens corrieron fuera de pico (pico: UTC {windows}; Bogotá {local}); a precios de "
        f"pico la semana habría costado {usd(off['all_peak_usd'])} en vez de {usd(off['priced_as_run_usd'])}. "
        "Mantenga el horario.",
    }
