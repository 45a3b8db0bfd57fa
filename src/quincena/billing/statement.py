"""The month's statement per client company, and the firm's summary, from the exact ledger rows.

Figures are ``statement_month.sql`` over ``api_calls``: the same rows and counters as
``cycle_costs``, by the calls' UTC month (the month DeepSeek bills), so the firm summary's total is
Σ ``api_calls.cost_usd`` of the month and can be checked against the reconciled DeepSeek total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from quincena.core import config, db, es, periods
from quincena.core.numbers import plain
from quincena.costs import monthly

_CENT = Decimal("0.01")
_COUNTERS = ("invoices", "ok_calls", "prompt_cache_hit_tokens", "prompt_cache_miss_tokens", "completion_tokens",
             "in_flight_calls")  # fmt: skip
CSV_COLUMNS = ("mes", "nit", "empresa", "quincena", "facturas", "llamadas", "tokens_cache", "tokens_sin_cache",
               "tokens_salida", "costo_usd", "costo_cop", "participacion")  # fmt: skip


class StatementError(ValueError):
    """A setting or argument the statement cannot use (one line, for the CLI)."""


@dataclass(frozen=True)
class Rate:
    """COP per US$: the TRM of a date the firm chose, or a fixed rate (``on`` None)."""

    cop_per_usd: Decimal
    on: date | None = None

    def label(self) -> str:
        rate = f"{es.number(self.cop_per_usd)} COP por US$ 1"
        return f"TRM del {es.long_date(self.on)}: {rate}" if self.on else f"Tasa fija de la firma: {rate}"

    def cop(self, usd: Decimal) -> Decimal:
        return (usd * self.cop_per_usd).quantize(_CENT, ROUND_HALF_UP)


def parse_rate(value: str | None, on: str | None) -> Rate | None:
    if value is None:
        return None
    try:
        rate = Decimal(value.replace(",", ".")) if value.count(",") == 1 and "." not in value else Decimal(value)
    except InvalidOperation:
        raise StatementError(f"exchange rate {value!r} is not a number of COP per USD (e.g. 4012.35)") from None
    if not rate.is_finite() or rate <= 0:
        raise StatementError(f"exchange rate {value!r} must be a positive number of COP per USD")
    try:
        day = date.fromisoformat(on) if on else None
    except ValueError:
        raise StatementError(f"rate date {on!r} is not a date (YYYY-MM-DD)") from None
    return Rate(rate, day)


@dataclass
class Statement:
    """One client's month (or, with ``nit`` None, the calls filed under no company)."""

    nit: str | None
    name: str
    dv: int | None
    lines: list[dict[str, Any]]
    total: dict[str, Any]
    share: Decimal = Decimal(0)

    @property
    def cost_usd(self) -> Decimal:
        return self.total["cost_usd"]


@dataclass
class MonthStatements:
    month: date
    firm: str
    rate: Rate | None
    statements: list[Statement]
    unattributed: Statement | None
    reconciliation: dict[str, Any] | None
    issued: date = field(default_factory=lambda: datetime.now(UTC).date())

    @property
    def total_usd(self) -> Decimal:
        parts = [*self.statements, *([self.unattributed] if self.unattributed else [])]
        return sum((s.cost_usd for s in parts), Decimal(0))

    def reconciliation_status(self) -> str:
        """What the client reads about the month's check against DeepSeek's own usage report."""
        found = self.reconciliation
        if not found or found["status"] == monthly.MISSING:
            return "Aún no conciliado con el reporte de uso de DeepSeek."
        if Decimal(found["ledger_usd"]) != self.total_usd:
            return "Conciliación desactualizada: el registro cambió después de conciliar; se conciliará de nuevo."
        if found["status"] == monthly.RECONCILED:
            tolerance = es.percent(Decimal(found["tolerance"]), 0)
            return f"Conciliado con el reporte de uso de DeepSeek (diferencias dentro de la tolerancia de {tolerance})."
        return "Con diferencias frente al reporte de uso de DeepSeek: la firma las revisa antes de facturar."


def _sum(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {name: sum(r[name] for r in rows) for name in _COUNTERS}
    total["cost_usd"] = sum((Decimal(r["cost_usd"]) for r in rows), Decimal(0))
    return total


def month_cycles(first: date) -> list[str]:
    return [periods.cycle_id_for(first), periods.cycle_id_for(first.replace(day=16))]


def build(first: date, rate: Rate | None = None, firm: str | None = None) -> MonthStatements:
    """Every company's statement of the month, from the ledger."""
    start, after = monthly.month_bounds(first)
    rows = db.query("statement_month", {
        "start": datetime.combine(start, time(), tzinfo=UTC), "end": datetime.combine(after, time(), tzinfo=UTC),
        "month_cycles": month_cycles(first),
    })  # fmt: skip
    by_company: dict[str | None, list[dict[str, Any]]] = {}
    for row in rows:
        by_company.setdefault(row["company_nit"], []).append(row)
    statements = []
    unattributed = None
    for nit, lines in by_company.items():
        statement = Statement(nit, lines[0]["company_name"] or "", lines[0]["company_dv"], lines, _sum(lines))
        if nit is None:
            statement.name = "Llamadas sin empresa asignada"
            unattributed = statement
        else:
            statements.append(statement)
    result = MonthStatements(first, firm or config.firm_name(), rate, statements, unattributed,
                             monthly.stored(monthly.month_label(first)))  # fmt: skip
    total = result.total_usd
    for statement in [*statements, *([unattributed] if unattributed else [])]:
        statement.share = statement.cost_usd / total if total else Decimal(0)
    return result


# -- files ---------------------------------------------------------------------------------------
def _csv_row(month: MonthStatements, statement: Statement, line: dict[str, Any], cycle: str) -> dict[str, Any]:
    return plain({
        "mes": monthly.month_label(month.month), "nit": statement.nit or "", "empresa": statement.name,
        "quincena": cycle, "facturas": line["invoices"], "llamadas": line["ok_calls"],
        "tokens_cache": line["prompt_cache_hit_tokens"], "tokens_sin_cache": line["prompt_cache_miss_tokens"],
        "tokens_salida": line["completion_tokens"], "costo_usd": Decimal(line["cost_usd"]),
        "costo_cop": month.rate.cop(Decimal(line["cost_usd"])) if month.rate else "",
        "participacion": statement.share.quantize(Decimal("0.000001"), ROUND_HALF_UP),
    })  # fmt: skip


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    from quincena.costs.reconcile import write_rows

    return write_rows(path, CSV_COLUMNS, rows)


def write(month: MonthStatements, out_dir: Path, company: str | None = None) -> list[Path]:
    """Per company a PDF and a CSV (only ``company`` when given), then the firm's summary (PDF + CSV)."""
    from quincena.billing import pdf

    out_dir.mkdir(parents=True, exist_ok=True)
    label = monthly.month_label(month.month)
    chosen = [s for s in month.statements if company is None or s.nit == company]
    if company is not None and not chosen:
        raise StatementError(f"company {company} has no DeepSeek calls or invoices in {label}")
    written: list[Path] = []
    for statement in chosen:
        base = out_dir / f"estado_{statement.nit}_{label}"
        rows = [_csv_row(month, statement, line, line["cycle_id"] or "") for line in statement.lines]
        rows.append(_csv_row(month, statement, statement.total, "total"))
        written += [pdf.statement_pdf(month, statement, base.with_suffix(".pdf")),
                    _write_csv(base.with_suffix(".csv"), rows)]  # fmt: skip
    everyone = [*month.statements, *([month.unattributed] if month.unattributed else [])]
    summary = [_csv_row(month, s, s.total, "total") for s in everyone]
    base = out_dir / f"resumen_{label}"
    written += [pdf.summary_pdf(month, base.with_suffix(".pdf")), _write_csv(base.with_suffix(".csv"), summary)]
    return written
