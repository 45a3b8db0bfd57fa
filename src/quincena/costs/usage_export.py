"""Read DeepSeek's usage export (the platform's Usage page).

The export is a ZIP with, per month, ``amount-YYYY-M.csv``
(``user_id,utc_date,model,api_key_name,api_key,type,price,amount``; one row per day x model x key x
type, type in request_count / input_cache_hit_tokens / input_cache_miss_tokens / output_tokens;
price per token) and ``cost-YYYY-M.csv`` (``user_id,utc_date,model,wallet_type,cost,currency``).
Accepted variants: UTF-8 BOM, CRLF line ends, compact dates (20260725), the CSVs inside a folder of
the ZIP. Anything else is an ExportError with a one-line message.

The masked ``api_key`` column is never kept, printed or stored: keys are named by ``api_key_name``.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from quincena.core.numbers import NumberError, non_negative_decimal

TYPES = ("request_count", "input_cache_hit_tokens", "input_cache_miss_tokens", "output_tokens")
AMOUNT_COLUMNS = ("utc_date", "model", "api_key_name", "type", "price", "amount")
COST_COLUMNS = ("utc_date", "model", "cost", "currency")
_AMOUNT_RE = re.compile(r"amount-(\d{4})-(\d{1,2})\.csv", re.IGNORECASE)
_COST_RE = re.compile(r"cost-(\d{4})-(\d{1,2})\.csv", re.IGNORECASE)
_MAX_BYTES = 50 * 1024 * 1024  # a month of 7 keys is a few hundred rows; far more is not an export


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
    encrypted = f"{member}: encrypted inside the ZIP; download the export again, without a password"
    if info.flag_bits & 0x1:
        raise ExportError(encrypted)
    try:
        data = archive.read(member)
    except NotImplementedError:  # zipfile's word for a compression method it cannot read
        raise ExportError(f"{member}: unsupported compression method {info.compress_type} in the ZIP") from None
    except RuntimeError:  # encryption zipfile found on its own (a flag in the local header only)
        raise ExportError(
            f"{member}: encrypted inside the ZIP; download the export again, without a password"
        ) from None
    except (zlib.error, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ExportError(f"{member}: corrupt compressed data in the ZIP ({type(exc).__name__})") from None
    return _text(data, member)


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
        return non_negative_decimal(text)
    except NumberError as exc:
        raise ExportError(f"{name} line {line}: {column} {exc}") from None


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
