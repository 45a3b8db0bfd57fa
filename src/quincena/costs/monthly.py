"""A closed month reconciled per UTC day: our ledger against DeepSeek's ``amount-YYYY-M.csv``.

The per day × key × model comparison is ``costs.reconcile``'s; this adds the month's frame: which
export speaks for the month, one line per UTC day (ledger, DeepSeek, difference), a flag when the
difference passes the tolerance, and the likely cause, then keeps the verdict in
``month_reconciliations`` for the client statements.

Likely causes, from what the day's groups show:
- **calendar**: tokens match, and DeepSeek's price per token lies between our off-peak and peak
  rates: the split of the day into peak and off-peak differs (peak days or hours wrong in one table);
- **price change**: tokens match, and DeepSeek's price is outside our rates for that day;
- **calls outside quincena**: DeepSeek counted usage our ledger does not have (another program
  using the key, or lost rows);
- **recorded calls not billed**: we recorded usage DeepSeek did not bill on that day;
- **missing export**: no export for the month, or the day is absent from it.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from quincena.core import config, db
from quincena.core.numbers import plain
from quincena.costs import reconcile
from quincena.costs.usage_export import ExportError, UsageExport, read_export

log = logging.getLogger(__name__)

CALENDAR = "calendar"
PRICE_CHANGE = "price change"
OUTSIDE = "calls outside quincena"
NOT_BILLED = "recorded calls not billed"
MISSING = "missing export"
RECONCILED, DIFFERENCES = "reconciled", "differences"
DAY_COLUMNS = ("utc_date", "ledger_usd", "deepseek_usd", "difference_usd", "flagged", "cause")
_MILLION = Decimal(1_000_000)
_EIGHT = Decimal("0.00000001")
_RATE_KINDS = (("input_cache_hit_tokens", "cache_hit"), ("input_cache_miss_tokens", "cache_miss"),
               ("output_tokens", "output"))  # fmt: skip


def parse_month(text: str) -> date:
    """``YYYY-MM`` as the month's first day; ValueError says what was expected."""
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise ValueError(f"month {text!r} is not YYYY-MM (e.g. 2026-11)") from None


def month_bounds(first: date) -> tuple[date, date]:
    after = date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)
    return first, after


def month_label(first: date) -> str:
    return f"{first.year}-{first.month:02d}"


@dataclass
class MonthReconciliation:
    month: str
    status: str
    source: str | None
    tolerance: Decimal
    days: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    result: reconcile.Reconciliation | None = None

    @property
    def ledger_usd(self) -> Decimal:
        return sum((d["ledger_usd"] for d in self.days), Decimal(0))

    @property
    def deepseek_usd(self) -> Decimal | None:
        if self.source is None:
            return None
        return sum((d["deepseek_usd"] or Decimal(0) for d in self.days), Decimal(0))

    @property
    def flagged(self) -> list[dict[str, Any]]:
        return [d for d in self.days if d["flagged"]]

    def to_dict(self) -> dict[str, Any]:
        return plain({
            "month": self.month, "status": self.status, "source": self.source, "tolerance": self.tolerance,
            "ledger_usd": self.ledger_usd, "deepseek_usd": self.deepseek_usd,
            "flagged_days": [d["utc_date"] for d in self.flagged], "notes": self.notes,
        })  # fmt: skip

    def lines(self) -> list[str]:
        total = f"ledger US${_usd(self.ledger_usd)}" + (
            f", DeepSeek US${_usd(self.deepseek_usd)}" if self.deepseek_usd is not None else ", no DeepSeek export"
        )
        out = [f"{self.month}: {self.status.upper()} ({total}; tolerance {(self.tolerance * 100).normalize():f}%)"]
        out += [
            f"{d['utc_date']}: ledger US${_usd(d['ledger_usd'])} vs DeepSeek "
            + (f"US${_usd(d['deepseek_usd'])}" if d["deepseek_usd"] is not None else "none")
            + f" (difference {_usd(d['difference_usd'], sign=True)}) — likely cause: {d['cause']}"
            for d in self.flagged
        ]
        return out + [f"note: {n}" for n in self.notes]


def _usd(value: Decimal, sign: bool = False) -> str:
    return format(value.quantize(_EIGHT, ROUND_HALF_UP), "+f" if sign else "f")


# -- which export -------------------------------------------------------------------------------
def find_export(first: date, folder: Path) -> tuple[UsageExport | None, list[str]]:
    """The newest readable export in ``folder`` (or its ``reconciled/``) that has the month's amount file."""
    notes: list[str] = []
    candidates = [p for d in (folder, folder / "reconciled") if d.is_dir() for p in d.iterdir()
                  if p.is_file() and p.suffix.lower() in (".zip", ".csv")]  # fmt: skip
    for path in sorted(candidates, key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            export = read_export(path)
        except ExportError as exc:
            notes.append(f"{path.name} skipped: {exc}")
            continue
        if (first.year, first.month) in export.months:
            return _only_month(export, first), notes
    return None, notes


def _only_month(export: UsageExport, first: date) -> UsageExport:
    """An export may hold several months: keep the one asked for."""
    start, after = month_bounds(first)
    amounts = [r for r in export.amounts if start <= r.day < after]
    costs = [c for c in export.costs if start <= c.day < after]
    return UsageExport(export.source, amounts, costs, [(first.year, first.month)])


# -- per day ------------------------------------------------------------------------------------
def _rates_per_million(prices: Any, model: str, day: date, unit: int) -> dict[str, tuple[Decimal, Decimal]]:
    try:
        entry = prices.entry(model, datetime.combine(day, time(12), tzinfo=UTC))
    except Exception:  # unknown to our calendar: nothing to compare with
        return {}
    scale = _MILLION / Decimal(unit)
    peak = entry.peak or entry.base
    return {kind: (getattr(entry.base, attr) * scale, getattr(peak, attr) * scale) for kind, attr in _RATE_KINDS}


def _price_cause(group: dict[str, Any], prices: Any, unit: int) -> str:
    """Calendar when DeepSeek's price per token lies between our off-peak and peak rates for every type."""
    ours = _rates_per_million(prices, group["model"], group["utc_date"], unit)
    implied = {k: Decimal(v) for k, v in group.get("implied_price_per_1m", {}).items()}
    if not ours or not implied:
        return PRICE_CHANGE
    inside = all(ours[k][0] <= v <= ours[k][1] for k, v in implied.items() if k in ours)
    split = any(ours[k][0] != ours[k][1] for k in implied if k in ours)
    return CALENDAR if inside and split else PRICE_CHANGE


def group_cause(group: dict[str, Any], prices: Any, unit: int) -> str | None:
    verdict = group["verdict"]
    if verdict == reconcile.MATCH:
        return None
    if not group["in_export"]:
        return MISSING
    if verdict == reconcile.PRICES_CHANGED:
        return _price_cause(group, prices, unit)
    return OUTSIDE if verdict == reconcile.UNRECORDED else NOT_BILLED


def day_lines(result: reconcile.Reconciliation, prices: Any, unit: int, first: date) -> list[dict[str, Any]]:
    """One line per UTC day of the month: sums over the day's key × model groups."""
    start, after = month_bounds(first)
    ledger: dict[date, Decimal] = defaultdict(Decimal)
    billed: dict[date, Decimal] = defaultdict(Decimal)
    causes: dict[date, list[str]] = defaultdict(list)
    for group in result.groups:
        day = group["utc_date"]
        ledger[day] += group["ledger_cost_usd"]
        billed[day] += group["export_cost"]
        cause = group_cause(group, prices, unit)
        if cause and cause not in causes[day]:
            causes[day].append(cause)
    days = []
    for offset in range((after - start).days):
        day = start + timedelta(days=offset)
        flagged = bool(causes[day]) or reconcile.gap(billed[day], ledger[day], result.tolerance)
        days.append({
            "utc_date": day, "ledger_usd": ledger[day], "deepseek_usd": billed[day],
            "difference_usd": billed[day] - ledger[day], "flagged": flagged,
            "cause": ", ".join(causes[day]) or (PRICE_CHANGE if flagged else ""),
        })  # fmt: skip
    return days


def _missing_days(first: date) -> list[dict[str, Any]]:
    start, after = month_bounds(first)
    rows = reconcile.load_ledger((start, after))
    ledger: dict[date, Decimal] = defaultdict(Decimal)
    for row in rows:
        ledger[row["utc_date"]] += Decimal(row["cost_usd"])
    return [
        {"utc_date": day, "ledger_usd": ledger[day], "deepseek_usd": None, "difference_usd": -ledger[day],
         "flagged": bool(ledger[day]), "cause": MISSING if ledger[day] else ""}
        for day in (start + timedelta(days=i) for i in range((after - start).days))
    ]  # fmt: skip


# -- running it ----------------------------------------------------------------------------------
def reconcile_month(
    first: date, folder: Path | None = None, tolerance: Decimal | None = None, out_dir: Path | None = None
) -> MonthReconciliation:
    """Reconcile the month, store its verdict, write the per-day CSV (and the detail CSV)."""
    from quincena.deepseek import prices as price_table

    folder = folder or config.usage_exports_dir()
    tolerance = reconcile.default_tolerance() if tolerance is None else tolerance
    out_dir = out_dir or config.reports_dir() / "monthly" / month_label(first)
    export, notes = find_export(first, folder)
    if export is None:
        month = MonthReconciliation(month_label(first), MISSING, None, tolerance, _missing_days(first), notes)
    else:
        prices, unit = price_table.load_with_unit()
        result = reconcile.compare(export, reconcile.load_ledger(month_bounds(first)), prices, tolerance, unit)
        reconcile.write_csv(result, out_dir / "reconciliation_detail.csv")
        days = day_lines(result, prices, unit, first)
        status = DIFFERENCES if any(d["flagged"] for d in days) else RECONCILED
        month = MonthReconciliation(month_label(first), status, export.source, tolerance, days,
                                    notes + result.notes, result)  # fmt: skip
    reconcile.write_rows(out_dir / "reconciliation_days.csv", DAY_COLUMNS, month.days)
    store(month)
    for line in month.lines():
        log.info("%s", line)
    return month


def store(month: MonthReconciliation) -> None:
    db.execute("month_reconciliation_upsert", {
        "month": month.month, "status": month.status, "source": month.source, "ledger_usd": month.ledger_usd,
        "deepseek_usd": month.deepseek_usd, "tolerance": month.tolerance,
        "days": json.dumps(plain(month.days)),
    })  # fmt: skip


def stored(month: str) -> dict[str, Any] | None:
    rows = db.query("month_reconciliation_get", {"month": month})
    return rows[0] if rows else None
