"""When the weekly report alerts: pure decisions on exact numbers (no database, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from quincena.core import es
from quincena.costs.health.settings import Thresholds


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
    # Agreement of the latest reviewed cycle: (subject "firm" or a NIT, kept, reviewed, cycle).
    agreement: tuple[tuple[str, int, int, str], ...] = ()
    # Model x prompt versions in order of first use: (label, kept, reviewed).
    agreement_versions: tuple[tuple[str, int, int], ...] = ()
    agreement_min_lines: int = 20  # fewer reviewed lines than this: too few to judge
    tax_rules_missing: tuple[int, ...] = ()  # tax years due (this one; from December the next) with no rules file
    # Approval requests open too long: (cycle, NIT, company name, days waiting), and the limit in days.
    approvals_waiting: tuple[tuple[str, str, str, float], ...] = ()
    approval_waiting_days: float = 3.0


@dataclass(frozen=True)
class Alert:
    kind: str  # rate_429 | spread | budget | low_balance | agreement | agreement_drop | tax_rules | approval_waiting
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
                    "rate_429", "account", pct(rate), pct(thresholds.max_429_rate),
                    f"tasa de 429 de {pct_es(rate)} en {signals.calls} intentos, por encima de "
                    f"{pct_es(thresholds.max_429_rate)}: se está tocando el límite compartido de la cuenta; reduzca "
                    "el pool deepseek",
                )
            )  # fmt: skip
    active_calls = sum(signals.active_key_calls.values())
    for key, calls in sorted(signals.active_key_calls.items()):
        deviation = spread_deviation(calls, active_calls, len(signals.active_key_calls))
        if deviation is not None and abs(deviation) > thresholds.max_spread:
            alerts.append(
                Alert(
                    "spread", key, pct(deviation, signed=True), pct(thresholds.max_spread),
                    f"la clave {key} recibió {calls} de {active_calls} llamadas, {pct_es(deviation, signed=True)} "
                    "frente a un reparto parejo: revise la rotación o si la clave está muerta",
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
    alerts.extend(_agreement_alerts(signals, thresholds))
    alerts.extend(tax_rules_alert(year) for year in signals.tax_rules_missing)
    alerts.extend(_waiting_alert(item, signals.approval_waiting_days) for item in signals.approvals_waiting)
    return alerts


def _waiting_alert(item: tuple[str, str, str, float], limit: float) -> Alert:
    cycle_id, nit, name, days = item
    return Alert(
        "approval_waiting", nit, f"{days} d", f"{limit} d",
        f"{nit} {name}: la quincena {cycle_id} espera la aprobación de su contador hace {days} días "
        f"(más de {limit}); su exportación no sale hasta que alguien la apruebe o la rechace.",
    )  # fmt: skip


def tax_rules_alert(year: int) -> Alert:
    """Spanish, for the accountants: the year's withholding rules file is missing."""
    return Alert(
        "tax_rules", "firm", f"rules-{year}.json", "presente",
        f"Faltan las reglas de retención de {year} (include/tax/rules-{year}.json): la DIAN publica la UVT "
        f"en diciembre; agréguelas (ver README, Retenciones) o desde el 1 de enero de {year} cada factura de "
        f"{year} irá a revisión.",
    )  # fmt: skip


def _agreement_alerts(signals: Signals, thresholds: Thresholds) -> list[Alert]:
    """Agreement below the minimum (firm, or a company with enough reviewed lines), and a fall after
    a model or prompt change larger than the allowed drop."""
    alerts: list[Alert] = []
    for subject, kept, reviewed, cycle in signals.agreement:
        if not reviewed or (subject != "firm" and reviewed < signals.agreement_min_lines):
            continue
        share = Decimal(kept) / Decimal(reviewed)
        if share < thresholds.min_agreement:
            who = "la firma" if subject == "firm" else f"empresa {subject}"
            alerts.append(
                Alert(
                    "agreement", subject, pct(share), pct(thresholds.min_agreement),
                    f"{who}, quincena {cycle}: los contadores mantuvieron {kept} de {reviewed} propuestas del "
                    f"modelo ({pct_es(share)}), por debajo de {pct_es(thresholds.min_agreement)}: revise las "
                    "cuentas más corregidas",
                )
            )  # fmt: skip
    judged = [v for v in signals.agreement_versions if v[2] >= signals.agreement_min_lines]
    if len(judged) >= 2:
        (before, kept0, n0), (after, kept1, n1) = judged[-2], judged[-1]
        drop = Decimal(kept0) / Decimal(n0) - Decimal(kept1) / Decimal(n1)
        if drop > thresholds.max_agreement_drop:
            alerts.append(
                Alert(
                    "agreement_drop", after, pct(drop), pct(thresholds.max_agreement_drop),
                    f"el acuerdo cayó {pct_es(drop)} de {before} ({kept0}/{n0}) a {after} ({kept1}/{n1}): el cambio "
                    "de modelo o de prompt empeoró la clasificación; corra quincena eval con ambos",
                )
            )  # fmt: skip
    return alerts


def _budget_alert(subject: str, forecast: Decimal, budget: Decimal, ratio: Decimal, thresholds: Thresholds) -> Alert:
    who = "la firma" if subject == "firm" else f"empresa {subject}"
    return Alert(
        "budget", subject, pct(ratio), pct(thresholds.budget_ratio),
        f"{who}: la proyección a fin de mes, {usd(forecast)}, es el {pct_es(ratio)} del presupuesto mensual de "
        f"{usd(budget)}",
    )  # fmt: skip


def _balance_alerts(signals: Signals, thresholds: Thresholds) -> list[Alert]:
    if signals.balance_available is False:
        return [Alert("low_balance", "account", "unavailable", "available", "DeepSeek dice que el saldo se agotó")]
    if signals.balance_usd is None:
        return []  # unknown is reported, not alerted: a failed balance request is not a low balance
    if signals.balance_usd < thresholds.min_balance_usd:
        return [
            Alert(
                "low_balance", "account", f"US${signals.balance_usd}", f"US${thresholds.min_balance_usd}",
                f"el saldo de DeepSeek, {usd(signals.balance_usd)}, está por debajo de "
                f"{usd(thresholds.min_balance_usd)}: recargue",
            )
        ]  # fmt: skip
    if signals.runway_days is not None and signals.runway_days < thresholds.min_runway_days:
        days = signals.runway_days.quantize(Decimal("0.1"))
        return [
            Alert(
                "low_balance", "account", f"{days} days", f"{thresholds.min_runway_days} days",
                f"el saldo de DeepSeek, {usd(signals.balance_usd)}, dura {es.number(days, 1)} días al gasto de "
                "esta semana: recargue",
            )
        ]  # fmt: skip
    return []


def pct(value: Decimal, signed: bool = False) -> str:
    """A fraction as a percentage with two decimals, as an alert's value: 0.0512 -> 5.12%."""
    text = f"{(value * 100).quantize(Decimal('0.01'), ROUND_HALF_UP)}%"
    return f"+{text}" if signed and value > 0 else text


def pct_es(value: Decimal, signed: bool = False) -> str:
    """The same for a person, in Colombian notation: 0.0512 -> 5,12 %."""
    text = es.percent(value, 2)
    return f"+{text}" if signed and value > 0 else text


def usd(value: Any) -> str:
    """US$ in Colombian notation, to the figure's own precision: US$1.234,50."""
    from quincena.core.html import usd as html_usd

    return html_usd(value)


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
        **_agreement_signals(figures.get("agreement")),
        tax_rules_missing=tuple((figures.get("tax_rules") or {}).get("missing_years", ())),
        **_waiting_signals(figures.get("approvals")),
    )


def _waiting_signals(approvals: Mapping[str, Any] | None) -> dict[str, Any]:
    if not approvals:
        return {}
    waiting = tuple(
        (a["cycle_id"], a["company_nit"], a["company_name"], float(a["days"])) for a in approvals["waiting"]
    )
    return {"approvals_waiting": waiting, "approval_waiting_days": float(approvals["days"])}


def _agreement_signals(agreement: Mapping[str, Any] | None) -> dict[str, Any]:
    if not agreement or not agreement.get("latest_cycle"):
        return {}
    cycle = agreement["latest_cycle"]
    latest = agreement["latest"]
    subjects = [("firm", int(latest["kept"]), int(latest["reviewed"]), cycle)]
    subjects += [
        (c["nit"], int(c["kept"]), int(c["reviewed"]), cycle) for c in agreement["companies"] if c["cycle_id"] == cycle
    ]
    versions = tuple(
        (f"{v['model']} / prompt {v['prompt_version']}", int(v["kept"]), int(v["reviewed"]))
        for v in agreement["versions"]
    )
    return {
        "agreement": tuple(subjects),
        "agreement_versions": versions,
        "agreement_min_lines": int(agreement.get("min_lines", 20)),
    }


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
