"""The firm's supplier overrides: `quincena suppliers import FILE.csv` (nit, declarante[, name])."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from quincena.core import db
from quincena.core.nit import InvalidNit, parse_nit

_TRUE = {"1", "true", "yes", "si", "sí", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


class SupplierFileError(ValueError):
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
    text = (row.get("declarante") or "").strip().lower()
    if text not in _TRUE | _FALSE:
        raise SupplierFileError(f"line {line}: declarante must be true/false, got {text!r}")
    return SupplierOverride(nit, text in _TRUE, (row.get("name") or "").strip() or None)


def read_csv(path: Path) -> list[SupplierOverride]:
    """Parse and validate the whole file before anything is written."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"nit", "declarante"} - set(reader.fieldnames or ())
        if missing:
            raise SupplierFileError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        rows = [_row(row, reader.line_num) for row in reader]
    seen: set[str] = set()
    for row in rows:
        if row.nit in seen:
            raise SupplierFileError(f"{path}: NIT {row.nit} appears twice")
        seen.add(row.nit)
    return rows


def upsert(rows: list[SupplierOverride]) -> int:
    with db.transaction() as cur:
        db.execute_many("tax_supplier_import", [vars(r) for r in rows], cur)
    return len(rows)
