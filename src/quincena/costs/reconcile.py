"""Reconcile DeepSeek's usage export with our api_calls ledger.

The platform's Usage page exports a ZIP with, per month, ``amount-YYYY-M.csv``
(``user_id,utc_date,model,api_key_name,api_key,type,price,amount``; one row per day x model x key x
type, type in request_count / input_cache_hit_tokens / input_cache_miss_tokens / output_tokens;
price per token) and ``cost-YYYY-M.csv`` (``user_id,utc_date,model,wallet_type,cost,currency``).
Accepted variants: UTF-8 BOM, CRLF line ends, compact dates (20260725), the CSVs inside a folder of
the ZIP. Anything else is an ExportError with a one-line message.

The masked ``api_key`` column is never kept, printed or stored: keys are named by ``api_key_name``.

A gap in a day x key x model group reads as one of:
- token amounts match but the cost differs → **prices changed** (implied price vs our price table);
- DeepSeek counts more than we recorded → **calls we did not record**;
- we recorded more than DeepSeek billed → **recorded calls that were not billed**.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import shutil
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from quincena.core import db

log = logging.getLogger(__name__)

TYPES = ("request_count", "input_cache_hit_tokens", "input_cache_miss_tokens", "output_tokens")
AMOUNT_COLUMNS = ("utc_date", "model", "api_key_name", "type", "price", "amount")
COST_COLUMNS = ("utc_date", "model", "cost", "currency")
_AMOUNT_RE = re.compile(r"amount-(\d{4})-(\d{1,2})\.csv", re.IGNORECASE)
_COST_RE = re.compile(r"cost-(\d{4})-(\d{1,2})\.csv", re.IGNORECASE)
_MAX_BYTES = 50 * 1024 * 1024  # a month of 7 keys is a few hundred rows; far more is not an export
_MILLION = Decimal(1_000_000)
_PCT = Decimal("0.01")
MATCH = "match"
PRICES_CHANGED = "prices changed"
UNRECORDED = "calls we did not record"
NOT_BILLED = "recorded calls that were not billed"


class ExportError(ValueError):
    """The file is not a usage export we can read; the message is one line, fit for the user."""


@dataclass(frozen=True)
class UsageRow:
    day: date
    model: str
    key_name: str
    type: str
    price: Decimal | None  # per token, account currency; empty for request_count
    amount: Decimal


@dataclass(frozen=True)
class CostRow:
    day: date
    model: str
    cost: Decimal
    currency: str


@dataclass
class UsageExport:
    source: str
    amounts: list[UsageRow]
    costs: list[CostRow] = field(default_factory=list)
    months: list[tuple[int, int]] = field(default_factory=list)

    @property
    def currency(self) -> str | None:
        found = {c.currency for c in self.costs}
        return found.pop() if len(found) == 1 else None

    def period(self, today: date | None = None) -> tuple[date, date]:
        """[first, after) the export speaks for: its whole month(s), up to yesterday (UTC).

        A month-named export covers every day of its month so far, so a day missing at its end
        is a gap too; today is left out because its usage is still being counted. Without a month
        in the file name, the days between the first and the last row.
        """
        days = [r.day for r in self.amounts]
        first, after = min(days), max(days) + timedelta(days=1)
        if self.months:
            year, month = self.months[0]
            first = min(first, date(year, month, 1))
            year, month = self.months[-1]
            month_end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
            today = today or datetime.now(UTC).date()
            after = max(after, min(month_end, today))
        return first, after


# -- reading the export ------------------------------------------------------------------------
def read_export(path: Path) -> UsageExport:
    """Parse a usage export: the ZIP, or an amount CSV on its own."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    if path.stat().st_size > _MAX_BYTES:
        raise ExportError(f"{path.name}: {path.stat().st_size} bytes is too large for a usage export")
    data = path.read_bytes()
    if zipfile.is_zipfile(io.BytesIO(data)):
        return _read_zip(path.name, data)
    if path.suffix.lower() == ".zip":
        raise ExportError(f"{path.name}: not a readable ZIP file")
    months = _months([path.name], _AMOUNT_RE)
    return UsageExport(path.name, _parse_amounts(_text(data, path.name), path.name), [], months)


def _read_zip(name: str, data: bytes) -> UsageExport:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [m for m in archive.namelist() if not m.endswith("/") and "__MACOSX" not in m]
            # The CSVs may sit in a folder inside the ZIP: match on the base name.
            amount_files = [m for m in members if _AMOUNT_RE.fullmatch(m.rsplit("/", 1)[-1])]
            cost_files = [m for m in members if _COST_RE.fullmatch(m.rsplit("/", 1)[-1])]
            if not amount_files:
                found = ", ".join(members) or "nothing"
                raise ExportError(f"{name}: no amount-YYYY-M.csv inside the ZIP (found: {found})")
            amounts = [row for m in sorted(amount_files) for row in _parse_amounts(_member(archive, m), m)]
            costs = [row for m in sorted(cost_files) for row in _parse_costs(_member(archive, m), m)]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise ExportError(f"{name}: corrupt ZIP file ({type(exc).__name__})") from None
    months = _months([m.rsplit("/", 1)[-1] for m in amount_files], _AMOUNT_RE)
    return UsageExport(name, amounts, costs, months)


def _member(archive: zipfile.ZipFile, member: str) -> str:
    info = archive.getinfo(member)
    if info.file_size > _MAX_BYTES:
        raise ExportError(f"{member}: {info.file_size} bytes is too large for a usage export")
    return _text(archive.read(member), member)


def _months(names: Iterable[str], pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    found = []
    for name in names:
        match = pattern.fullmatch(name)
        if match and 1 <= int(match.group(2)) <= 12:
            found.append((int(match.group(1)), int(match.group(2))))
    return sorted(found)


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")  # tolerates the BOM some exports start with
    except UnicodeDecodeError:
        raise ExportError(f"{name}: not UTF-8 text (is it really a DeepSeek CSV?)") from None


def _rows(text: str, name: str, required: Iterable[str]) -> Iterable[tuple[int, dict[str, str]]]:
    if "\x00" in text:
        raise ExportError(f"{name}: binary content, not a CSV")
    reader = csv.reader(io.StringIO(text, newline=""))  # csv handles CRLF and LF alike
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ExportError(f"{name}: empty file") from None
    except csv.Error as exc:
        raise ExportError(f"{name}: unreadable CSV header ({exc})") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise ExportError(f"{name}: not a DeepSeek usage CSV: missing column(s) {', '.join(missing)}")
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue  # blank line (a trailing CRLF)
            if len(values) != len(header):
                raise ExportError(f"{name} line {reader.line_num}: {len(values)} fields, expected {len(header)}")
            yield reader.line_num, dict(zip(header, (v.strip() for v in values), strict=True))
    except csv.Error as exc:
        raise ExportError(f"{name} line {reader.line_num}: unreadable CSV ({exc})") from None


def _day(text: str, name: str, line: int) -> date:
    for fmt in ("%Y-%m-%d", "%Y%m%d"):  # 2026-07-25, or the compact 20260725 some exports use
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ExportError(f"{name} line {line}: utc_date {text!r} is not a date (expected 2026-07-25 or 20260725)")


def _number(text: str, column: str, name: str, line: int) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ExportError(f"{name} line {line}: {column} {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise ExportError(f"{name} line {line}: {column} {text!r} must be a number >= 0")
    return value


def _parse_amounts(text: str, name: str) -> list[UsageRow]:
    rows = []
    for line, row in _rows(text, name, AMOUNT_COLUMNS):
        kind = row["type"]
        if kind not in TYPES:
            raise ExportError(f"{name} line {line}: unknown type {kind!r} (expected one of {', '.join(TYPES)})")
        price = _number(row["price"], "price", name, line) if row["price"] else None
        if price is None and kind != "request_count":
            raise ExportError(f"{name} line {line}: {kind} has no price")
        # Only the key's NAME is kept: the masked api_key column is dropped right here.
        rows.append(
            UsageRow(
                _day(row["utc_date"], name, line), row["model"], row["api_key_name"], kind, price,
                _number(row["amount"], "amount", name, line),
            )
        )  # fmt: skip
    if not rows:
        raise ExportError(f"{name}: no usage rows")
    return rows


def _parse_costs(text: str, name: str) -> list[CostRow]:
    return [
        CostRow(_day(row["utc_date"], name, line), row["model"], _number(row["cost"], "cost", name, line),
                row["currency"].upper())
        for line, row in _rows(text, name, COST_COLUMNS)
    ]  # fmt: skip


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
            "gap_groups": [_plain(g) for g in self.gaps],
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


def _gap(export: Decimal, ledger: Decimal, tolerance: Decimal) -> bool:
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
        amount_gaps = [k for k in TYPES if _gap(exp.amounts[k], led.amounts[k], tolerance)]
        cost_gap = compare_cost and _gap(exp.cost, led.cost, tolerance)
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
        if _gap(charged[day], billed[day], tolerance)
    ]


# -- running it --------------------------------------------------------------------------------
def load_ledger(period: tuple[date, date]) -> list[dict[str, Any]]:
    start = datetime.combine(period[0], datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(period[1], datetime.min.time(), tzinfo=UTC)
    return db.query("reconcile_ledger", {"start": start, "end": end})


CSV_COLUMNS = ("utc_date", "key_name", "model", "type", "export", "ledger", "diff", "diff_pct", "gap", "verdict")


def write_csv(result: Reconciliation, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(_plain(r) for r in result.rows)
    result.csv_path = path
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def reconcile_file(path: Path, tolerance: Decimal = Decimal("0.01"), csv_path: Path | None = None) -> Reconciliation:
    """Read an export, compare it with the ledger over the days it covers, write the CSV."""
    from quincena.costs import health

    export = read_export(path)
    prices, unit = health.load_price_table()
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


def default_exports_dir() -> Path:
    import os

    from quincena.core import config

    return Path(os.environ.get("QUINCENA_USAGE_EXPORTS", config.local_dir() / "usage_exports"))


def default_tolerance() -> Decimal:
    """Relative gap the DAG's reconciliation allows: QUINCENA_RECONCILE_TOLERANCE, default 1 %."""
    import os

    text = os.environ.get("QUINCENA_RECONCILE_TOLERANCE", "").strip() or "0.01"
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"QUINCENA_RECONCILE_TOLERANCE: not a number: {text!r}") from None
    if not value.is_finite() or not 0 <= value < 1:
        raise ValueError(f"QUINCENA_RECONCILE_TOLERANCE must be in [0, 1), got {text!r}")
    return value


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
