"""Vouchers (comprobantes): one per exported invoice, balanced, rendered into a template's rows and files."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from quincena.books.export.templates import DATE_FIELDS, NUMERIC_FIELDS, Column, Template

Cell = str | int | Decimal | None


class ExportError(ValueError):
    """An export that cannot be written as asked, said in one line."""


@dataclass(frozen=True)
class Voucher:
    number: int
    invoice_id: int
    invoice_number: str
    lines: tuple[dict[str, Any], ...]  # export_lines rows, in seq order

    @property
    def debit(self) -> Decimal:
        return sum((Decimal(ln["debit"]) for ln in self.lines), Decimal(0))

    @property
    def credit(self) -> Decimal:
        return sum((Decimal(ln["credit"]) for ln in self.lines), Decimal(0))


def group(rows: list[dict[str, Any]]) -> list[Voucher]:
    """export_lines rows (ordered by voucher number, seq) into balanced vouchers; an unbalanced one is an error."""
    by_number: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_number.setdefault(row["voucher_number"], []).append(row)
    vouchers = [
        Voucher(number, lines[0]["invoice_id"], lines[0]["invoice_number"], tuple(lines))
        for number, lines in sorted(by_number.items())
    ]
    for voucher in vouchers:
        if voucher.debit != voucher.credit:
            raise ExportError(
                f"voucher {voucher.number} (invoice {voucher.invoice_number}) does not balance: "
                f"debits {voucher.debit} vs credits {voucher.credit}"
            )
    return vouchers


def split(vouchers: list[Voucher], row_limit: int | None) -> list[list[Voucher]]:
    """Files' worth of vouchers: at most ``row_limit`` lines each, a voucher never split across files."""
    if not vouchers:
        return []
    if row_limit is None:
        return [vouchers]
    parts: list[list[Voucher]] = [[]]
    used = 0
    for voucher in vouchers:
        size = len(voucher.lines)
        if size > row_limit:
            raise ExportError(
                f"voucher {voucher.number} (invoice {voucher.invoice_number}) has {size} lines, "
                f"more than the format's row limit of {row_limit}"
            )
        if used + size > row_limit:
            parts.append([])
            used = 0
        parts[-1].append(voucher)
        used += size
    return parts


def line_fields(row: dict[str, Any], template: Template) -> dict[str, Any]:
    """The values a template column may draw from, for one journal line."""
    return {
        "company_nit": row["company_nit"],
        "company_name": row["company_name"],
        "cycle_id": row["cycle_id"],
        "voucher_type": template.voucher_type,
        "voucher_number": row["voucher_number"],
        "date": row["issue_date"],
        "due_date": row["due_date"],
        "account": row["account"],
        "third_party": row["supplier_nit"],  # the NIT without check digit
        "third_party_dv": row["supplier_dv"] or "",
        "third_party_name": row["supplier_name"],
        "description": _described(row),
        "debit": Decimal(row["debit"]),
        "credit": Decimal(row["credit"]),
        "base": None if row["base"] is None else Decimal(row["base"]),
        "rate": None if row["rate"] is None else Decimal(row["rate"]),
        "tax": row["tax"] or "",
        "tax_code": template.tax_code(row["tax"], row["concept"]),
        "concept": row["concept"] or "",
        "invoice_number": row["invoice_number"],
        "cufe": row["cufe"],
        "doc_type": row["doc_type"],
        "line_no": row["seq"],
    }


def _described(row: dict[str, Any]) -> str | None:
    """A note's lines name the voucher of the invoice they amend, so the accounting program can match them."""
    if not row.get("original_voucher"):
        return row["description"]
    reference = f"Ref. comprobante {row['original_voucher']} (factura {row['original_number']})"
    return f"{reference}: {row['description']}" if row["description"] else reference


def digest(voucher: Voucher) -> str:
    """What "this voucher changed" means between two export versions: every line it carries."""
    payload = json.dumps(voucher.lines, default=str, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def cell(column: Column, fields: dict[str, Any], template: Template) -> Cell:
    """One cell: numbers stay numbers (the CSV writer formats them), dates and text are text, truncated."""
    if column.field is None:
        return column.value or None
    value = fields[column.field]
    if value is None:
        return None
    if column.field in NUMERIC_FIELDS:
        places = 6 if column.field == "rate" else template.decimals
        number = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return None if column.blank_zero and number == 0 else number
    if column.field in DATE_FIELDS:
        return value.strftime(template.date_format) if isinstance(value, date) else str(value)
    if isinstance(value, int):
        return value
    text = " ".join(str(value).split())  # no line breaks or tabs inside a cell
    return text[: column.max_length] if column.max_length else text


def rows(vouchers: list[Voucher], template: Template) -> list[list[Cell]]:
    """The data rows of some vouchers, in the template's column order."""
    return [
        [cell(column, fields, template) for column in template.columns]
        for voucher in vouchers
        for fields in (line_fields(line, template) for line in voucher.lines)
    ]


def number_text(value: Decimal, template: Template) -> str:
    """A number as the CSV's importer reads it: no thousands separator, the template's decimal separator."""
    text = format(value, "f")
    return text.replace(".", template.decimal_separator)
