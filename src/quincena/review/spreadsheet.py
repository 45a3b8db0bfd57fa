"""The worklist as a spreadsheet: export to CSV for Excel (Spanish), import the filled-in accounts back.

Excel in a Spanish locale opens a CSV by double click when it is UTF-8 with a BOM and separated by
semicolons (its list separator there), amounts with a decimal comma. One row per invoice line; the
accountant fills ``cuenta`` (a PUC code, "511025" or "511025 — Honorarios") and may write ``sí`` in
``aprobar`` to approve the invoice. The import checks every row first (account in the catalog's purchase
sub-accounts, invoice of that company and cycle, line of that invoice) and writes nothing unless all are
valid; errors name the file's line numbers. Importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quincena.chart import store as chart_store
from quincena.core import db
from quincena.core.cells import safe_rows
from quincena.review import actions, worklist

COLUMNS = (
    "ciclo", "nit_empresa", "factura_id", "numero", "fecha", "nit_proveedor", "proveedor", "total_factura",
    "motivo_revision", "linea_id", "linea", "descripcion", "valor_linea", "cuenta_propuesta", "confianza",
    "origen", "cuenta", "aprobar",
)  # fmt: skip
YES = {"si", "sí", "s", "x", "yes", "1", "true"}


class SpreadsheetError(ValueError):
    """The file is refused as a whole; ``errors`` lists every problem with its line number."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class ImportResult:
    rows: int = 0  # data rows read
    filled: int = 0  # rows with an account
    changed_lines: int = 0  # classifications written (0 on a repeated import)
    approved: list[int] = field(default_factory=list)  # invoices approved


def _comma(value: Any) -> str:
    return "" if value is None else str(value).replace(".", ",")


def export_rows(cycle_id: str, company_nit: str | None = None) -> list[dict[str, str]]:
    """One row per line of each invoice in review of the cycle (one company or all)."""
    nits = [company_nit] if company_nit else [c["nit"] for c in worklist.companies(cycle_id) if c["review"]]
    rows = []
    for nit in nits:
        for invoice in worklist.invoices(nit, cycle_id, status="review"):
            for line in invoice["lines"]:
                rows.append(
                    {
                        "ciclo": cycle_id,
                        "nit_empresa": nit,
                        "factura_id": str(invoice["id"]),
                        "numero": invoice["number"],
                        "fecha": invoice["issue_date"].isoformat(),
                        "nit_proveedor": invoice["supplier_nit"],
                        "proveedor": invoice["supplier_name"],
                        "total_factura": _comma(invoice["tax_inclusive_amount"]),
                        "motivo_revision": invoice["status_reason"] or "",
                        "linea_id": str(line["line_id"]),
                        "linea": str(line["line_no"]),
                        "descripcion": line["description"],
                        "valor_linea": _comma(line["line_total"]),
                        "cuenta_propuesta": line["account"] or "",
                        "confianza": _comma(line["confidence"]),
                        "origen": line["source"] or "",
                        "cuenta": "",
                        "aprobar": "",
                    }
                )
    return rows


def export_csv(cycle_id: str, out: Path, company_nit: str | None = None) -> int:
    """Write the worklist to ``out``; returns the number of line rows."""
    rows = export_rows(cycle_id, company_nit)
    with Path(out).open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, delimiter=";")
        writer.writeheader()
        writer.writerows(safe_rows(rows))  # supplier text never runs as a formula in Excel
    return len(rows)


def _read(path: Path) -> list[tuple[int, dict[str, str]]]:
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpreadsheetError(["el archivo no está en UTF-8: guárdelo como «CSV UTF-8»"]) from None
    first = text.splitlines()[0] if text else ""
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    missing = {"ciclo", "nit_empresa", "factura_id", "linea_id", "cuenta"} - set(reader.fieldnames or ())
    if missing:
        raise SpreadsheetError([f"línea 1: faltan las columnas {', '.join(sorted(missing))}"])
    return [(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}) for row in reader]


@dataclass
class _Planned:
    company_nit: str
    cycle_id: str
    invoice_id: int
    accounts: dict[int, str] = field(default_factory=dict)
    approve: bool = False


def _plan(rows: list[tuple[int, dict[str, str]]]) -> tuple[dict[int, _Planned], list[str]]:
    """Validate every row against the company's accounts and the database; nothing is written here."""
    errors: list[str] = []
    planned: dict[int, _Planned] = {}
    lines_of: dict[int, dict[int, str]] = {}
    allowed: dict[str, Any] = {}  # company -> the accounts its lines may take (its chart, or the catalog)
    for number, row in rows:
        if not row.get("cuenta") and row.get("aprobar", "").lower() not in YES:
            continue
        try:
            invoice_id, line_id = int(row["factura_id"]), int(row["linea_id"])
        except ValueError:
            errors.append(f"línea {number}: factura_id y linea_id deben ser números")
            continue
        known = _invoice(invoice_id, row["nit_empresa"], row["ciclo"], lines_of)
        if known is None:
            errors.append(
                f"línea {number}: la factura {invoice_id} no es de la empresa {row['nit_empresa']} "
                f"en el ciclo {row['ciclo']}"
            )
            continue
        if line_id not in known:
            errors.append(f"línea {number}: la línea {line_id} no es de la factura {invoice_id}")
            continue
        plan = planned.setdefault(invoice_id, _Planned(row["nit_empresa"], row["ciclo"], invoice_id))
        if row.get("cuenta"):
            try:
                company = plan.company_nit
                if company not in allowed:
                    allowed[company] = chart_store.bookable(company)
                plan.accounts[line_id] = actions.account_code(row["cuenta"], allowed[company])
            except actions.ReviewError as exc:
                errors.append(f"línea {number}: {exc}")
        plan.approve = plan.approve or row.get("aprobar", "").lower() in YES
    return planned, errors


def _invoice(invoice_id: int, nit: str, cycle_id: str, cache: dict[int, dict[int, str]]) -> dict[int, str] | None:
    if invoice_id not in cache:
        found = worklist.invoice(nit, cycle_id, invoice_id) if nit and cycle_id else None
        if found is None:
            return None
        cache[invoice_id] = {ln["line_id"]: ln["description"] for ln in found["lines"]}
    return cache[invoice_id]


def import_csv(path: Path, user: str) -> ImportResult:
    """Apply the accounts of a filled-in export: all rows or none (SpreadsheetError lists every problem)."""
    rows = _read(path)
    planned, errors = _plan(rows)
    if errors:
        raise SpreadsheetError(errors)
    who = user
    result = ImportResult(rows=len(rows), filled=sum(len(p.accounts) for p in planned.values()))
    conn = db.connect()
    try:
        with conn.transaction():  # every invoice or none
            for plan in planned.values():
                try:
                    if plan.approve:
                        outcome = actions.approve_invoice(
                            plan.company_nit, plan.cycle_id, plan.invoice_id, who, plan.accounts, conn=conn
                        )
                        result.approved.append(plan.invoice_id)
                    else:
                        outcome = actions.save_accounts(
                            plan.company_nit, plan.cycle_id, plan.invoice_id, plan.accounts, who, conn=conn
                        )
                except actions.ReviewError as exc:
                    raise SpreadsheetError([f"factura {plan.invoice_id}: {exc}"]) from exc
                result.changed_lines += outcome.changed_lines
    finally:
        conn.close()
    return result
