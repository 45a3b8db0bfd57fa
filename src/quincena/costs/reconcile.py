"""Reconcile DeepSeek's usage export (read by costs.usage_export) with our api_calls ledger.

A gap in a day x key x model group reads as one of:
- token amounts match but the cost differs → **prices changed** (implied price vs our price table);
- DeepSeek counts more than we recorded → **calls we did not record**;
- we recorded more than DeepSeek billed → **recorded calls that were not billed**.
"""

from __future__ import annotations

import csv
import logging
import shutil
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from quincena.core import config, db
from quincena.core.cells import safe_row
from quincena.core.numbers import NumberError, non_negative_decimal, plain
from quincena.costs.usage_export import TYPES, ExportError, UsageExport, read_export

log = logging.getLogger(__name__)

_MILLION = Decimal(1_000_000)
_PCT = Decimal("0.01")
MATCH = "match"
PRICES_CHANGED = "prices changed"
UNRECORDED = "calls we did not record"
NOT_BILLED = "recorded calls that were not billed"


# -- comparing ---------------------------------------------------------------------------------
GroupKey = tuple[date, str, str]  # (UTC day, key name, canonical model)


@dataclass
class Side:
    amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(TYPES, Decimal(0)))
    costs: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(TYPES, Decimal(0)))
    cost: Decimal = Decimal(0)
    present: bool = False


@dataclass
class Reconciliation:
    source: str
    period: tuple[date, date]
    tolerance: Decimal
    currency: str | None
    rows: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    notes: list[str]
    csv_path: Path | None = None

    @property
    def gaps(self) -> list[dict[str, Any]]:
        return [g for g in self.groups if g["verdict"] != MATCH]

    def verdicts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for group in self.groups:
            counts[group["verdict"]] += 1
        return dict(sorted(counts.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.source,
            "status": "gaps" if self.gaps else "match",
            "period": [self.period[0].isoformat(), self.period[1].isoformat()],
            "tolerance": str(self.tolerance),
            "currency": self.currency,
            "groups": len(self.groups),
            "gaps": len(self.gaps),
            "verdicts": self.verdicts(),
            "gap_groups": [plain(g) for g in self.gaps],
            "notes": self.notes,
            "csv": str(self.csv_path) if self.csv_path else None,
            "error": None,
        }


def _canonical(model: str, prices: Any) -> str:
    """The export and the ledger may name a model by an alias (deepseek-chat → deepseek-v4-flash)."""
    try:
        return prices.resolve(model)
    except Exception:  # unknown to the price table: compare by the name as written
        return model


def export_sides(export: UsageExport, prices: Any) -> dict[GroupKey, Side]:
    sides: dict[GroupKey, Side] = defaultdict(Side)
    for row in export.amounts:
        side = sides[(row.day, row.key_name, _canonical(row.model, prices))]
        side.present = True
        side.amounts[row.type] += row.amount
        if row.price is not None:
            cost = row.price * row.amount
            side.costs[row.type] += cost
            side.cost += cost
    return sides


def ledger_sides(rows: Iterable[Mapping[str, Any]], prices: Any) -> dict[GroupKey, Side]:
    sides: dict[GroupKey, Side] = defaultdict(Side)
    for row in rows:
        side = sides[(row["utc_date"], row["key_name"], _canonical(row["model"], prices))]
        side.present = True
        for kind in TYPES:
            side.amounts[kind] += Decimal(row[kind])
        side.cost += Decimal(row["cost_usd"])
    return sides


def gap(export: Decimal, ledger: Decimal, tolerance: Decimal) -> bool:
    """Relative to the larger side, so a value against zero is always a gap."""
    larger = max(abs(export), abs(ledger))
    return bool(larger) and abs(export - ledger) / larger > tolerance


def _diff_pct(export: Decimal, ledger: Decimal) -> Decimal | None:
    if not ledger:
        return None
    return ((export - ledger) / ledger * 100).quantize(_PCT, ROUND_HALF_UP)


def _our_rates(model: str, day: date, prices: Any, unit_tokens: int) -> dict[str, str]:
    """Our table's price per 1M tokens on that day (off-peak / peak where both exist)."""
    try:
        entry = prices.entry(model, datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12))
    except Exception:
        return {}
    scale = _MILLION / Decimal(unit_tokens)
    out = {}
    for kind, attr in (("input_cache_hit_tokens", "cache_hit"), ("input_cache_miss_tokens", "cache_miss"),
                       ("output_tokens", "output")):  # fmt: skip
        base = getattr(entry.base, attr) * scale
        peak = getattr(entry.peak, attr) * scale if entry.peak else None
        out[kind] = f"{base.normalize():f}" + (f" / peak {peak.normalize():f}" if peak is not None else "")
    return out


def _verdict(exp: Side, led: Side, amount_gaps: list[str], cost_gap: bool) -> str:
    if not amount_gaps and not cost_gap:
        return MATCH
    if not amount_gaps:
        return PRICES_CHANGED
    # More usage on DeepSeek's side than in our ledger: we called without recording (or the ledger
    # lost rows). Less: we recorded attempts DeepSeek did not bill (or billed to another key/day).
    first = amount_gaps[0]
    return UNRECORDED if exp.amounts[first] > led.amounts[first] else NOT_BILLED


def compare(
    export: UsageExport,
    ledger_rows: Iterable[Mapping[str, Any]],
    prices: Any,
    tolerance: Decimal = Decimal("0.01"),
    unit_tokens: int = 1_000_000,
) -> Reconciliation:
    """The export against the ledger rows; ExportError when its numbers cannot even be added up."""
    try:
        return _compare(export, ledger_rows, prices, tolerance, unit_tokens)
    except ArithmeticError as exc:  # sums or roundings of numbers the reader let through
        raise ExportError(f"{export.source}: numbers out of range to compare ({type(exc).__name__})") from None


def _compare(
    export: UsageExport,
    ledger_rows: Iterable[Mapping[str, Any]],
    prices: Any,
    tolerance: Decimal,
    unit_tokens: int,
) -> Reconciliation:
    exported = export_sides(export, prices)
    recorded = ledger_sides(ledger_rows, prices)
    currency = export.currency or ("USD" if not export.costs else None)
    compare_cost = currency == "USD"
    notes = _cost_file_notes(export, tolerance)
    if not compare_cost:
        notes.append(f"export billed in {currency or 'mixed currencies'}: costs not compared, token amounts only")
    rows: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    for key in sorted(set(exported) | set(recorded)):
        exp, led = exported.get(key, Side()), recorded.get(key, Side())
        day, key_name, model = key
        amount_gaps = [k for k in TYPES if gap(exp.amounts[k], led.amounts[k], tolerance)]
        cost_gap = compare_cost and gap(exp.cost, led.cost, tolerance)
        verdict = _verdict(exp, led, amount_gaps, cost_gap)
        for kind in TYPES:
            rows.append(_row(key, kind, exp.amounts[kind], led.amounts[kind], kind in amount_gaps, verdict))
        if compare_cost:
            rows.append(_row(key, "cost_usd", exp.cost, led.cost, cost_gap, verdict))
        group = {
            "utc_date": day, "key_name": key_name, "model": model, "verdict": verdict,
            "in_export": exp.present, "in_ledger": led.present,
            "amount_gaps": amount_gaps, "cost_gap": cost_gap,
            "export_cost": exp.cost, "ledger_cost_usd": led.cost,
        }  # fmt: skip
        if verdict == PRICES_CHANGED:
            group["implied_price_per_1m"] = {
                k: f"{(exp.costs[k] / exp.amounts[k] * _MILLION).normalize():f}" for k in TYPES[1:] if exp.amounts[k]
            }
            group["our_price_per_1m"] = _our_rates(model, day, prices, unit_tokens)
        groups.append(group)
    return Reconciliation(export.source, export.period(), tolerance, currency, rows, groups, notes)


def _row(key: GroupKey, kind: str, exp: Decimal, led: Decimal, gap: bool, verdict: str) -> dict[str, Any]:
    return {
        "utc_date": key[0], "key_name": key[1], "model": key[2], "type": kind,
        "export": exp, "ledger": led, "diff": exp - led, "diff_pct": _diff_pct(exp, led),
        "gap": gap, "verdict": verdict,
    }  # fmt: skip


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _cost_file_notes(export: UsageExport, tolerance: Decimal) -> list[str]:
    """The cost file is DeepSeek's own total per day: it should equal Σ price × amount."""
    if not export.costs:
        return []
    billed: dict[date, Decimal] = defaultdict(Decimal)
    for row in export.amounts:
        if row.price is not None:
            billed[row.day] += row.price * row.amount
    charged: dict[date, Decimal] = defaultdict(Decimal)
    for cost in export.costs:
        charged[cost.day] += cost.cost
    return [
        f"{day}: cost file says {_fmt(charged[day])}, amount file Σ price × amount is {_fmt(billed[day])}"
        for day in sorted(set(billed) | set(charged))
        if gap(charged[day], billed[day], tolerance)
    ]


# -- running it --------------------------------------------------------------------------------
def load_ledger(period: tuple[date, date]) -> list[dict[str, Any]]:
    start = datetime.combine(period[0], datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(period[1], datetime.min.time(), tzinfo=UTC)
    return db.query("reconcile_ledger", {"start": start, "end": end})


CSV_COLUMNS = ("utc_date", "key_name", "model", "type", "export", "ledger", "diff", "diff_pct", "gap", "verdict")


def write_rows(path: Path, columns: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """A CSV of plain values (exact Decimals, ISO dates), its folder made as needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(safe_row(plain(r)) for r in rows)
    return path


def write_csv(result: Reconciliation, path: Path) -> Path:
    result.csv_path = write_rows(path, CSV_COLUMNS, result.rows)
    return path


def reconcile_file(path: Path, tolerance: Decimal = Decimal("0.01"), csv_path: Path | None = None) -> Reconciliation:
    """Read an export, compare it with the ledger over the days it covers, write the CSV."""
    from quincena.deepseek import prices as price_table

    export = read_export(path)
    prices, unit = price_table.load_with_unit()
    result = compare(export, load_ledger(export.period()), prices, tolerance, unit)
    if csv_path is not None:
        write_csv(result, csv_path)
    log.info("reconciled %s: %d group(s), %d gap(s) %s", export.source, len(result.groups), len(result.gaps),
             result.verdicts())  # fmt: skip
    return result


def describe(result: Reconciliation) -> list[str]:
    """Human lines: a summary, then one line per gap saying what it looks like."""
    first, after = result.period
    verdicts = ", ".join(f"{n} {v}" for v, n in result.verdicts().items()) or "nothing to compare"
    lines = [
        f"{result.source}: {first} .. {after - timedelta(days=1)}, {len(result.groups)} day×key×model group(s): "
        f"{verdicts} (tolerance {(result.tolerance * 100).normalize():f}%)"
    ]
    for group in result.gaps:
        where = (group["utc_date"], group["key_name"], group["model"])
        head = f"{group['utc_date']} {group['key_name']} {group['model']}: {group['verdict'].upper()}"
        details = [
            f"{r['type']} export {_fmt(r['export'])} vs ledger {_fmt(r['ledger'])} (diff {r['diff'].normalize():+f}"
            + (f", {r['diff_pct']:+f}%)" if r["diff_pct"] is not None else ", not in ledger)")
            for r in result.rows
            if r["gap"] and (r["utc_date"], r["key_name"], r["model"]) == where
        ]
        if group["verdict"] == PRICES_CHANGED:
            ours = group.get("our_price_per_1m", {})
            details += [
                f"{kind}: DeepSeek charged {price}/1M, our table says {ours.get(kind, 'n/a')}"
                for kind, price in group["implied_price_per_1m"].items()
            ]
        lines.append(head + ("; " + "; ".join(details) if details else ""))
    lines += [f"note: {n}" for n in result.notes]
    return lines


def default_tolerance() -> Decimal:
    """Relative gap the DAG's reconciliation allows: QUINCENA_RECONCILE_TOLERANCE, default 1 %."""
    try:
        return non_negative_decimal(config.reconcile_tolerance_text(), below=Decimal(1))
    except NumberError as exc:
        raise ValueError(f"QUINCENA_RECONCILE_TOLERANCE must be in [0, 1): {exc}") from None


def reconcile_folder(folder: Path, out_dir: Path, tolerance: Decimal = Decimal("0.01")) -> dict[str, Any]:
    """The DAG's optional step: reconcile every export dropped in ``folder`` (ZIP or amount CSV).

    A reconciled file moves to ``folder/reconciled/`` so next week does not report it again; a file
    that cannot be read stays (and is reported) until someone replaces it.
    """
    results: list[dict[str, Any]] = []
    if not folder.is_dir():
        log.info("no usage export folder %s: nothing to reconcile", folder)
        return {"folder": str(folder), "files": results}
    done = folder / "reconciled"
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".zip", ".csv")):
        try:
            result = reconcile_file(path, tolerance, out_dir / f"{path.stem}.csv")
        except ExportError as exc:
            log.warning("usage export %s rejected: %s", path.name, exc)
            results.append({"file": path.name, "status": "error", "groups": 0, "gaps": 0, "verdicts": {},
                            "csv": None, "error": str(exc)})  # fmt: skip
            continue
        for line in describe(result):
            log.info("%s", line)
        results.append(result.to_dict())
        done.mkdir(exist_ok=True)
        shutil.move(str(path), done / path.name)
    return {"folder": str(folder), "files": results}
