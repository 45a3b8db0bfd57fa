"""What is left to review: cycles, companies with their counts, invoices with their lines and proposals."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from quincena.chart import store as chart_store
from quincena.core import db, puc

_REASONS = re.compile(r";\s*(?=item \d+:)")


def cycles(nits: Collection[str] | None = None) -> list[dict[str, Any]]:
    """Cycles with invoices, newest first, with their count in review (of ``nits`` only, when given)."""
    return db.query("review_cycles", {"nits": None if nits is None else sorted(nits)})


def companies(cycle_id: str, company_nit: str | None = None) -> list[dict[str, Any]]:
    """A cycle's companies (or just one): invoices, in review, classified, quarantined files, approval decision."""
    return db.query("review_cycle_companies", {"cycle_id": cycle_id, "company_nit": company_nit})


def company(cycle_id: str, company_nit: str) -> dict[str, Any] | None:
    rows = companies(cycle_id, company_nit)
    return rows[0] if rows else None


def invoice_links(company_nit: str, cycle_id: str, status: str) -> list[dict[str, Any]]:
    """Id and number of a company-cycle's invoices in ``status`` (links, without their lines)."""
    return db.query("review_invoice_links", {"company_nit": company_nit, "cycle_id": cycle_id, "status": status})


def invoices(
    company_nit: str, cycle_id: str, status: str | None = "review", invoice_id: int | None = None
) -> list[dict[str, Any]]:
    """Invoices of a company and cycle (by default those in review), each with ``lines`` and ``history``."""
    params = {"company_nit": company_nit, "cycle_id": cycle_id, "status": status, "invoice_id": invoice_id}
    rows = db.query("review_invoices", params)
    for row in rows:
        row["lines"] = row["lines"] or []
        row["history"] = row["history"] or []
        row["reasons"] = reasons(row["status_reason"])
    return rows


def reasons(status_reason: str | None) -> list[str]:
    """The separate reasons of a review (the classifier joins one per line with "; ", each "item N: ...")."""
    return [r.strip() for r in _REASONS.split(status_reason or "") if r.strip()]


def invoice(company_nit: str, cycle_id: str, invoice_id: int) -> dict[str, Any] | None:
    rows = invoices(company_nit, cycle_id, status=None, invoice_id=invoice_id)
    return rows[0] if rows else None


def chart_codes(company_nit: str, cycle_id: str) -> list[dict[str, Any]]:
    """The accounts the company-cycle's entries use, with their invoice counts."""
    return db.query("chart_cycle_codes", {"company_nit": company_nit, "cycle_id": cycle_id})


def quarantined(company_nit: str, cycle_id: str) -> list[dict[str, Any]]:
    """The company's quarantined inbox files of the cycle with their reasons."""
    return db.query("review_quarantined_files", {"company_nit": company_nit, "cycle_id": cycle_id})


def purchase_accounts(company_nit: str | None = None) -> list[Any]:
    """The accounts a line may take, by code: the company's own (its chart) or the catalog's purchase
    sub-accounts (each with ``code`` and ``name``)."""
    if company_nit:
        return sorted(chart_store.targets(company_nit).values(), key=lambda a: a.code)
    return sorted(puc.purchase_accounts().values(), key=lambda a: a.code)


def search_accounts(text: str, limit: int = 20, company_nit: str | None = None) -> list[Any]:
    """Accounts a line may take whose code starts with, or whose name contains, ``text`` (accents ignored)."""
    from quincena.classify.classifier import description_key

    wanted = text.strip()
    words = description_key(wanted)
    found = [
        a
        for a in purchase_accounts(company_nit)
        if (wanted.isdigit() and a.code.startswith(wanted)) or (words and words in description_key(a.name))
    ]
    return found[:limit]
