"""The firm's client registry: `quincena companies import companies.csv` (idempotent upsert)."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from quincena.core import db
from quincena.core.nit import InvalidNit, parse_nit

CSV_COLUMNS = ("nit", "name", "active", "monthly_budget_usd")
# The buyer's tax profile (issue 13): optional columns, defaults as for an ordinary legal person.
PROFILE_FLAGS = {  # column: default when the column or the cell is empty
    "withholding_agent": True,
    "gran_contribuyente": False,
    "reteiva_agent": False,
    "autorretenedor": False,
    "iva_deductible": True,
}
PROFILE_COLUMNS = (*PROFILE_FLAGS, "regimen", "ica_city")
REGIMES = ("ordinario", "simple")
_TRUE = {"", "1", "true", "yes", "si", "sí", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


class CompanyFileError(ValueError):
    """The registry file cannot be imported; the message names the line."""


@dataclass(frozen=True)
class Company:
    nit: str
    dv: int
    name: str
    active: bool = True
    monthly_budget_usd: Decimal | None = None
    withholding_agent: bool = True
    gran_contribuyente: bool = False
    reteiva_agent: bool = False
    autorretenedor: bool = False
    iva_deductible: bool = True
    regimen: str = "ordinario"
    ica_city: str | None = None  # DIVIPOLA code where it is a ReteICA agent


def _flag(row: dict[str, str], column: str, line: int) -> bool:
    text = (row.get(column) or "").strip().lower()
    if not text:
        return PROFILE_FLAGS[column]
    if text not in _TRUE | _FALSE:
        raise CompanyFileError(f"line {line}: {column} must be true/false, got {text!r}")
    return text in _TRUE


def _profile(row: dict[str, str], line: int) -> dict:
    regimen = (row.get("regimen") or "").strip().lower() or "ordinario"
    if regimen not in REGIMES:
        raise CompanyFileError(f"line {line}: regimen must be ordinario or simple, got {regimen!r}")
    city = (row.get("ica_city") or "").strip() or None
    if city is not None and not (len(city) == 5 and city.isdigit()):
        raise CompanyFileError(f"line {line}: ica_city must be a 5-digit DIVIPOLA code (11001 Bogotá), got {city!r}")
    return {**{c: _flag(row, c, line) for c in PROFILE_FLAGS}, "regimen": regimen, "ica_city": city}


def _parse_row(row: dict[str, str], line: int) -> Company:
    try:
        nit, dv = parse_nit(row.get("nit") or "", row.get("dv"))
    except InvalidNit as exc:
        raise CompanyFileError(f"line {line}: {exc}") from None
    name = (row.get("name") or "").strip()
    if not name:
        raise CompanyFileError(f"line {line}: name is empty")
    active_text = (row.get("active") or "").strip().lower()
    if active_text not in _TRUE | _FALSE:
        raise CompanyFileError(f"line {line}: active must be true/false, got {active_text!r}")
    budget_text = (row.get("monthly_budget_usd") or "").strip()
    if "," in budget_text and "." not in budget_text:  # Spanish decimal comma: 120,50
        budget_text = budget_text.replace(",", ".")
    try:
        budget = Decimal(budget_text) if budget_text else None
    except InvalidOperation:
        raise CompanyFileError(f"line {line}: monthly_budget_usd {budget_text[:20]!r} is not a number") from None
    if budget is not None and not budget.is_finite():
        raise CompanyFileError(f"line {line}: monthly_budget_usd must be a finite number, got {budget_text[:20]!r}")
    if budget is not None and budget < 0:
        raise CompanyFileError(f"line {line}: monthly_budget_usd must not be negative")
    return Company(nit, dv, name, active_text in _TRUE, budget, **_profile(row, line))


def read_csv(path: Path) -> list[Company]:
    """Parse and validate the whole file before anything is written."""
    text = read_spreadsheet_text(path, CompanyFileError)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    try:
        fields = [name.strip().lower() for name in reader.fieldnames or ()]
        reader.fieldnames = fields
        missing = {"nit", "name"} - set(fields)
        if missing:
            raise CompanyFileError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        companies = [_parse_row(row, reader.line_num) for row in reader]
    except csv.Error as exc:
        raise CompanyFileError(f"{path}: line {reader.line_num}: not a readable CSV ({exc})") from None
    seen: set[str] = set()
    for company in companies:
        if company.nit in seen:
            raise CompanyFileError(f"{path}: NIT {company.nit} appears twice")
        seen.add(company.nit)
    return companies


def read_spreadsheet_text(path: Path, error: type[Exception]) -> str:
    """A CSV as a spreadsheet saves it: UTF-8 (with or without BOM) or Excel's Windows-1252; refused
    clearly, naming the line, when it is neither or holds NUL bytes (a binary file, e.g. an .xlsx)."""
    data = path.read_bytes()
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        raise error(f"{path}: line {line}: holds a NUL byte; is it a spreadsheet (.xlsx) instead of a CSV?")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(f"{path}: line {line}: neither UTF-8 nor Windows-1252 text; save it as CSV UTF-8") from None


def _delimiter(text: str) -> str:
    """Excel in Spanish separates with ';' (the comma is the decimal mark): follow the header."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def write_csv(companies: list[Company], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS + PROFILE_COLUMNS)
        for c in companies:
            budget = "" if c.monthly_budget_usd is None else str(c.monthly_budget_usd)
            flags = ["true" if getattr(c, f) else "false" for f in PROFILE_FLAGS]
            row = [f"{c.nit}-{c.dv}", c.name, "true" if c.active else "false", budget, *flags, c.regimen]
            writer.writerow([*row, c.ica_city or ""])


def upsert(companies: list[Company]) -> int:
    with db.transaction() as cur:
        db.execute_many("company_upsert", [asdict(c) for c in companies], cur)
    return len(companies)


def active_nits() -> list[str]:
    return [row["nit"] for row in db.query("company_list_active")]
