"""A parsed DIAN document as database rows: the invoice, its lines, its taxes, what it says of its supplier."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from quincena.books.withholdings.engine import PERSON_TYPES
from quincena.core import db, periods
from quincena.ingest.dian import DianDocument, document_to_dict


def content_hash(doc: DianDocument) -> str:
    """What the document says, whatever envelope carried it (bare or inside an AttachedDocument)."""
    content = document_to_dict(doc)
    for envelope_only in ("envelope", "dian_response_code"):
        content.pop(envelope_only, None)
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def insert_invoice(
    cur,
    doc: DianDocument,
    nit: str,
    file_id: int,
    source: str,
    content: str,
    reasons: list[str],
    run_cycle: str | None = None,
) -> int | None:
    """Insert the document (None when its CUFE is already stored); ``run_cycle``: the quincena of the run
    that ingests it, which decides the quincena its books fall in (periods.books_cycle)."""
    t = doc.totals
    cur.execute(
        db.load_sql("ingest_invoice_insert"),
        {
            "company_nit": nit,
            "cufe": doc.cufe,
            "doc_type": doc.doc_type,
            "number": doc.number,
            "invoice_type_code": doc.invoice_type_code,
            "issue_date": doc.issue_date,
            "due_date": doc.due_date,
            "currency": doc.currency,
            "exchange_rate": doc.exchange_rate,
            "supplier_nit": doc.supplier.nit,
            "supplier_dv": doc.supplier.dv,
            "supplier_name": doc.supplier.name,
            "customer_nit": doc.customer.nit,
            "line_extension_amount": t.line_extension,
            "tax_exclusive_amount": t.tax_exclusive,
            "tax_inclusive_amount": t.tax_inclusive,
            "allowance_total_amount": t.allowance_total,
            "charge_total_amount": t.charge_total,
            "prepaid_amount": t.prepaid,
            "payable_amount": t.payable,
            "billing_reference": doc.billing_reference,
            "cycle_id": periods.books_cycle(doc.issue_date, run_cycle),
            "issue_cycle_id": periods.cycle_id_for(doc.issue_date),
            "source_file_id": file_id,
            "source_file": source,
            "content_sha256": content,
            "status": "review" if reasons else "pending",
            "status_reason": "; ".join(reasons)[:2000] or None,
        },
    )
    row = cur.fetchone()
    return None if row is None else row["id"]


def _supplier_row(doc: DianDocument) -> dict[str, Any]:
    """What the document says about its supplier's tax profile (person type, RUT responsibilities, city)."""
    supplier = doc.supplier
    return {
        "nit": supplier.nit,
        "name": supplier.name,
        "person_type": PERSON_TYPES.get(supplier.person_type_code or ""),
        "responsibilities": list(supplier.tax_level_codes),
        "city_code": supplier.city_code,
        "seen_on": doc.issue_date,
    }


def _line_rows(doc: DianDocument, invoice_id: int) -> list[dict[str, Any]]:
    rows, seen = [], set()
    for position, line in enumerate(doc.lines, start=1):
        line_no = line.line_no if line.line_no not in seen else 100_000 + position  # repeated cbc:ID
        seen.add(line_no)
        rows.append(
            {
                "invoice_id": invoice_id,
                "line_no": line_no,
                "description": line.description,
                "item_code": line.item_code,
                "quantity": line.quantity,
                "unit_code": line.unit_code,
                "unit_price": line.unit_price,
                "line_total": line.line_total,
                "tax_amount": line.tax_amount,
                "tax_percent": line.tax_percent,
                "iva_base": line.iva_base,
            }
        )
    return rows


def _tax_rows(doc: DianDocument, invoice_id: int) -> list[dict[str, Any]]:
    rows = []
    for kind, amounts in (("tax", doc.taxes), ("withholding", doc.withholdings)):
        for seq, tax in enumerate(amounts, start=1):
            rows.append(
                {
                    "invoice_id": invoice_id,
                    "kind": kind,
                    "seq": seq,
                    "scheme_id": tax.scheme_id,
                    "scheme_name": tax.scheme_name,
                    "taxable_amount": tax.taxable_amount,
                    "amount": tax.amount,
                    "percent": tax.percent,
                }
            )
    return rows


def insert_details(cur, doc: DianDocument, invoice_id: int) -> None:
    """The stored invoice's lines and taxes, and what it teaches about its supplier's tax profile."""
    db.execute_many("ingest_invoice_line_insert", _line_rows(doc, invoice_id), cur)
    db.execute_many("ingest_invoice_tax_insert", _tax_rows(doc, invoice_id), cur)
    cur.execute(db.load_sql("tax_supplier_learn"), _supplier_row(doc))
