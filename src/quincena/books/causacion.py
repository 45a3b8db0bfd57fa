"""The proposed entry of one DIAN document straight from its XML (`quincena causacion`, the corpus checks).

The same path as the cycle (entries.propose) with the lines' accounts given by hand instead of the
classifier: the accountant's tool to check a case.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from quincena.books import entries
from quincena.books.withholdings.engine import PERSON_TYPES, BuyerProfile, SupplierProfile
from quincena.ingest.dian import DianDocument

DEFAULT_ACCOUNT = "519595"  # Diversos: otros, for a line given no account


def invoice_of(doc: DianDocument, accounts: dict[int, str], default: str = DEFAULT_ACCOUNT) -> dict[str, Any]:
    """The entries_invoices_to_post shape of a parsed document, each line on its given account."""
    t = doc.totals
    return {
        "id": None,
        "number": doc.number,
        "doc_type": doc.doc_type,
        "issue_date": doc.issue_date,
        "billing_reference": doc.billing_reference,
        "supplier_nit": doc.supplier.nit,
        "supplier_name": doc.supplier.name,
        "line_extension_amount": t.line_extension,
        "tax_inclusive_amount": t.tax_inclusive,
        "allowance_total_amount": t.allowance_total,
        "charge_total_amount": t.charge_total,
        "lines": [
            {
                "account": accounts.get(line.line_no, default),
                "amount": str(line.line_total),
                "tax_amount": str(line.tax_amount),
                "iva_base": str(line.iva_base),
            }
            for line in doc.lines
        ],
        "taxes": [
            {"kind": kind, "scheme_id": tax.scheme_id, "amount": str(tax.amount)}
            for kind, amounts in (("tax", doc.taxes), ("withholding", doc.withholdings))
            for tax in amounts
        ],
    }


def supplier_of(doc: DianDocument, declarante: bool | None = None) -> SupplierProfile:
    party = doc.supplier
    return SupplierProfile(
        nit=party.nit,
        person_type=PERSON_TYPES.get(party.person_type_code or ""),
        responsibilities=party.tax_level_codes,
        city=party.city_code,
        declarante=declarante,
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def proposal_dict(
    doc: DianDocument,
    buyer: BuyerProfile,
    supplier: SupplierProfile,
    accounts: dict[int, str],
    original: dict[str, Any] | None = None,
    earlier: dict[str, Decimal] | None = None,
) -> dict[str, Any]:
    """The proposed entry as JSON-ready data: lines with account, debit, credit, base, rate, concept, why.
    ``original`` and ``earlier``: as for entries.propose."""
    invoice = invoice_of(doc, accounts)
    proposal = entries.propose(invoice, buyer, supplier, original, earlier)
    debit = sum((ln.debit for ln in proposal.lines), Decimal(0))
    credit = sum((ln.credit for ln in proposal.lines), Decimal(0))
    notes = list(proposal.notes)
    notes += [
        f"line {line.line_no}: no --account given, {DEFAULT_ACCOUNT} (diversos: otros) assumed"
        for line in doc.lines
        if line.line_no not in accounts
    ]
    if doc.customer.nit != buyer.nit:
        notes.append(f"the document is addressed to NIT {doc.customer.nit}, not to company {buyer.nit}")
    return {
        "document": {
            "number": doc.number,
            "doc_type": doc.doc_type,
            "issue_date": doc.issue_date.isoformat(),
            "currency": doc.currency,
            "supplier": {
                "nit": supplier.nit,
                "name": doc.supplier.name,
                "person_type": supplier.person_type,
                "responsibilities": list(supplier.responsibilities),
                "city": supplier.city,
                "declarante": supplier.declarante,
            },
        },
        "lines": [
            {
                "account": ln.account,
                "debit": str(ln.debit),
                "credit": str(ln.credit),
                "base": _text(ln.base),
                "rate": _text(ln.rate),
                "concept": ln.concept,
                "tax": ln.tax,
                "why": ln.why,
            }
            for ln in proposal.lines
        ],
        "totals": {"debit": str(debit), "credit": str(credit), "balanced": debit == credit},
        "problem": entries.totals_problem(invoice, proposal.lines),
        "review": proposal.review_reason,
        "notes": notes,
    }
