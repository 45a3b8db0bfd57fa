"""The export tests' case: the hand-written invoice and credit note of tests/fixtures/dian_docs.py, posted.

Ingested through the real inbox, classified by SQL (as an accountant would), posted by
entries.post_company_entries for a gran contribuyente in Bogotá (IVA, ReteFuente, ReteIVA and ReteICA
lines), and their review resolved.
"""

from __future__ import annotations

from pathlib import Path

from quincena.books import entries
from quincena.core import companies, db
from quincena.core.companies import Company
from quincena.ingest import inbox as ingest
from tests.fixtures import dian_docs as d
from tests.helpers import decide

NIT = d.COMPANY_NIT
CYCLE = "2026-11-Q1"
ACCOUNTS = {"Honorarios asesoría contable": "511025", "Resma papel carta 75 g": "519530"}


def approve(nit: str = NIT, cycle: str = CYCLE, decision: str = "approved") -> None:
    """The accountant's answer to an approval request of the company-cycle's current books."""
    assert decide(nit, cycle, decision).status == "applied"


def post_case(work: Path) -> None:
    """Invoice SETP990001234 and credit note NC-77 of 2026-11-Q1, posted and out of review."""
    company = Company(
        NIT, int(d.COMPANY_DV), "Ferretería El Tornillo S.A.S.", gran_contribuyente=True, ica_city="11001"
    )
    companies.upsert([company])
    inbox = work / "inbox"
    (inbox / NIT).mkdir(parents=True)
    (inbox / NIT / "fe.xml").write_text(d.invoice_xml(), encoding="utf-8")
    (inbox / NIT / "nc.xml").write_text(d.credit_note_xml(), encoding="utf-8")
    ingest.ingest_company(NIT, inbox)
    book_as_accountant(CYCLE)


def book_as_accountant(cycle_id: str) -> None:
    """Every line not yet classified gets the accountant's account (ACCOUNTS); entries are posted and the
    invoices accepted, as the review would leave them."""
    lines = db.query_text(
        "SELECT l.id, l.invoice_id, l.description FROM invoice_lines l "
        "WHERE NOT EXISTS (SELECT 1 FROM classifications c WHERE c.invoice_line_id = l.id)"
    )
    for line in lines:
        db.query_text(
            "INSERT INTO classifications (invoice_line_id, invoice_id, company_nit, account_code, confidence,"
            " source, cycle_id) VALUES (%s, %s, %s, %s, 0.99, 'accountant', %s)",
            (line["id"], line["invoice_id"], NIT, ACCOUNTS[line["description"]], cycle_id),
        )
    db.query_text("UPDATE invoices SET status = 'classified'")
    entries.post_company_entries(NIT)
    db.query_text("UPDATE invoices SET status = 'classified', status_reason = NULL")  # the accountant accepted
