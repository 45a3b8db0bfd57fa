"""The firm's supplier overrides: `quincena suppliers import FILE.csv` (nit, declarante[, name])."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from quincena.core import db, spreadsheet
from quincena.core.nit import InvalidNit, parse_nit


class SupplierFileError(spreadsheet.SpreadsheetError):
    """The file cannot be imported; the message names the line."""


@dataclass(frozen=True)
class SupplierOverride:
    nit: str
    declarante: bool
    name: str | None = None


def _row(row: dict[str, str], line: int) -> SupplierOverride:
    raw = (row.get("nit") or "").strip()
    try:
        nit = parse_nit(raw, row.get("dv"))[0]
    except InvalidNit as exc:
        raise SupplierFileError(f"line {line}: {exc}") from None
    declarante = spreadsheet.flag(row.get("declarante"), "declarante", line)
    return SupplierOverride(nit, declarante, (row.get("name") or "").strip() or None)


def read_csv(path: Path) -> list[SupplierOverride]:
    """Parse and validate the whole file before anything is written."""
    rows = spreadsheet.read_rows(path, ("nit", "declarante"), _row, SupplierFileError)
    spreadsheet.refuse_repeated((r.nit for r in rows), path, "NIT", SupplierFileError)
    return rows


def upsert(rows: list[SupplierOverride]) -> int:
    with db.transaction() as cur:
        db.execute_many("tax_supplier_import", [vars(r) for r in rows], cur)
    return len(rows)
