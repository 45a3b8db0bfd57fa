"""The firm's client registry: `quincena companies import companies.csv` (idempotent upsert)."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from quincena.core import db, spreadsheet
from quincena.core.cells import safe_list
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


class CompanyFileError(spreadsheet.SpreadsheetError):
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
    return spreadsheet.flag(row.get(column), column, line, default=PROFILE_FLAGS[column])


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
    active = spreadsheet.flag(row.get("active"), "active", line, default=True)
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
    return Company(nit, dv, name, active, budget, **_profile(row, line))


def read_csv(path: Path) -> list[Company]:
    """Parse and validate the whole file before anything is written."""
    companies = spreadsheet.read_rows(path, ("nit", "name"), _parse_row, CompanyFileError)
    spreadsheet.refuse_repeated((c.nit for c in companies), path, "NIT", CompanyFileError)
    return companies


def write_csv(companies: list[Company], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS + PROFILE_COLUMNS)
        for c in companies:
            budget = "" if c.monthly_budget_usd is None else str(c.monthly_budget_usd)
            flags = ["true" if getattr(c, f) else "false" for f in PROFILE_FLAGS]
            row = [f"{c.nit}-{c.dv}", c.name, "true" if c.active else "false", budget, *flags, c.regimen]
            writer.writerow(safe_list([*row, c.ica_city or ""]))


def upsert(companies: list[Company]) -> int:
    with db.transaction() as cur:
        db.execute_many("company_upsert", [asdict(c) for c in companies], cur)
    return len(companies)


def active_nits() -> list[str]:
    return [row["nit"] for row in db.query("company_list_active")]
