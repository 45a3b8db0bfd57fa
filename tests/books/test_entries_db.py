"""The cycle's entry step on the real PostgreSQL: ingest → classified → post_company_entries with the engine.

The hand-written invoice (tests/fixtures/dian_docs.py), issued 2026-11-05 by a persona jurídica:
  honorarios 1,234,567.89 (IVA 234,567.90) + papelería 185,000.00 (IVA 35,150.00); IVA 269,717.90;
  total 1,689,285.79. Its XML states ReteFuente 135,802.47 and ReteIVA 40,457.69.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from quincena.books import entries
from quincena.core import companies, db
from quincena.core.companies import Company
from quincena.ingest import inbox as ingest
from tests.fixtures import dian_docs as d

NIT = d.COMPANY_NIT
ACCOUNTS = {"Honorarios asesoría contable": "511025", "Resma papel carta 75 g": "519530"}


@pytest.fixture
def inbox(clean_db: str, tmp_path: Path) -> Path:
    root = tmp_path / "inbox"
    (root / NIT).mkdir(parents=True)
    return root


def _ingest_and_classify(inbox: Path, *docs: tuple[str, str], accounts: dict[str, str] = ACCOUNTS) -> None:
    for name, xml in docs:
        (inbox / NIT / name).write_text(xml, encoding="utf-8")
    ingest.ingest_company(NIT, inbox)
    for line in db.query_text("SELECT l.id, l.invoice_id, l.description FROM invoice_lines l"):
        db.query_text(
            "INSERT INTO classifications (invoice_line_id, invoice_id, company_nit, account_code, confidence,"
            " source, cycle_id) VALUES (%s, %s, %s, %s, 0.99, 'accountant', '2026-11-Q1')",
            (line["id"], line["invoice_id"], NIT, accounts[line["description"]]),
        )
    db.query_text("UPDATE invoices SET status = 'classified'")


def _journal(number: str) -> dict[str, dict]:
    rows = db.query_text(
        "SELECT j.* FROM journal_lines j JOIN invoices i ON i.id = j.invoice_id WHERE i.number = %s", (number,)
    )
    return {r["account_code"]: r for r in rows}


def test_the_cycle_posts_computed_withholdings_and_reviews_the_xmls(inbox: Path) -> None:
    companies.upsert([Company(NIT, int(d.COMPANY_DV), "Ferretería El Tornillo S.A.S.")])
    _ingest_and_classify(inbox, ("fe.xml", d.invoice_xml()), ("nc.xml", d.credit_note_xml()))

    assert entries.post_company_entries(NIT) == {"entries_posted": 2, "flagged_for_review": 1}

    # Invoice: ReteFuente honorarios 11 % × 1,234,567.89 = 135,802.47 → 135,802 (the XML's, to the peso);
    # papelería 185,000 < 523,740 (10 UVT 2026): none; the buyer is no ReteIVA agent: none, the XML says
    # 40,457.69 → review. Payable 1,689,285.79 − 135,802 = 1,553,483.79.
    invoice = _journal(d.INVOICE_NUMBER)
    assert invoice["236515"]["credit"] == Decimal("135802.00")
    assert (invoice["236515"]["base"], invoice["236515"]["rate"]) == (Decimal("1234567.89"), Decimal("0.110000"))
    assert (invoice["236515"]["concept"], invoice["236515"]["tax"]) == ("honorarios", "retefuente")
    assert "236701" not in invoice
    assert invoice["233525"]["credit"] == Decimal("1553483.79")
    assert sum(r["debit"] for r in invoice.values()) == sum(r["credit"] for r in invoice.values())
    status = db.query_text("SELECT status, status_reason FROM invoices WHERE number = %s", (d.INVOICE_NUMBER,))[0]
    assert status["status"] == "review"
    assert "reteiva: XML 40457.69, calculada 0" in status["status_reason"]

    # Credit note NC-77 (37,000 of 1,419,567.89 = 2.6064 %): ReteFuente reversed 135,802 × 0.026064 = 3,539.58
    # → 3,540 debited (base 1,234,567.89 × 0.026064 = 32,178.11); payable debited 44,030 − 3,540 = 40,490.
    note = _journal("NC-77")
    assert (note["236515"]["debit"], note["236515"]["base"]) == (Decimal("3540.00"), Decimal("32178.11"))
    assert note["233595"]["debit"] == Decimal("40490.00")
    assert note["519530"]["credit"] == Decimal("37000.00") and note["240810"]["credit"] == Decimal("7030.00")


def test_gran_contribuyente_buyer_in_bogota(inbox: Path) -> None:
    company = Company(
        NIT, int(d.COMPANY_DV), "Ferretería El Tornillo S.A.S.", gran_contribuyente=True, ica_city="11001"
    )
    companies.upsert([company])
    _ingest_and_classify(inbox, ("fe.xml", d.invoice_xml()))
    entries.post_company_entries(NIT)
    # ReteIVA 15 % of the honorarios' IVA 234,567.90 = 35,185.185 → 35,185 (papelería below its base);
    # ReteICA 9.66 ‰ × 1,234,567.89 = 11,925.93 → 11,926 (supplier's city unknown: the buyer's applies)
    invoice = _journal(d.INVOICE_NUMBER)
    assert invoice["236701"]["credit"] == Decimal("35185.00")
    assert invoice["236801"]["credit"] == Decimal("11926.00")
    # payable 1,689,285.79 − 135,802 − 35,185 − 11,926 = 1,506,372.79
    assert invoice["233525"]["credit"] == Decimal("1506372.79")


def test_ingest_learns_the_supplier_profile_and_keeps_unknown_codes(inbox: Path) -> None:
    companies.upsert([Company(NIT, int(d.COMPANY_DV), "Ferretería El Tornillo S.A.S.")])
    xml = d.invoice_xml()
    xml = xml.replace(
        "</cbc:CompanyID>", '</cbc:CompanyID><cbc:TaxLevelCode listName="48">O-15;ZZ-9</cbc:TaxLevelCode>', 1
    )
    xml = xml.replace(
        "<cac:PartyTaxScheme>",
        "<cac:PhysicalLocation><cac:Address><cbc:ID>05001</cbc:ID></cac:Address></cac:PhysicalLocation>"
        "<cac:PartyTaxScheme>",
        1,
    )
    _ingest_and_classify(inbox, ("fe.xml", xml))
    supplier = db.query("tax_supplier_get", {"nit": d.SUPPLIER_NIT})[0]
    assert (supplier["person_type"], supplier["responsibilities"], supplier["city_code"]) == (
        "juridica",
        ["O-15", "ZZ-9"],
        "05001",
    )
    entries.post_company_entries(NIT)
    # autorretenedor (O-15): no ReteFuente; payable = the whole 1,689,285.79
    invoice = _journal(d.INVOICE_NUMBER)
    assert "236515" not in invoice and invoice["233525"]["credit"] == Decimal("1689285.79")


def test_honorarios_to_a_natural_person_turn_11_percent_once_the_years_payments_pass_3300_uvt(inbox: Path) -> None:
    """3,300 UVT 2026 = 172,834,200. The supplier is made a natural person (10 % until then)."""
    companies.upsert([Company(NIT, int(d.COMPANY_DV), "Ferretería El Tornillo S.A.S.")])
    later = d.invoice_xml(number="SETP990001300", cufe="b" * 96, issue_date="2026-11-20")
    _ingest_and_classify(inbox, ("fe.xml", d.invoice_xml()), ("nc.xml", d.credit_note_xml()), ("fe2.xml", later))
    db.query_text("UPDATE suppliers SET person_type = 'natural'")
    entries.post_company_entries(NIT)
    first, second = _journal(d.INVOICE_NUMBER)["236515"], _journal("SETP990001300")["236515"]
    assert (first["rate"], first["credit"]) == (Decimal("0.100000"), Decimal("123457.00"))
    assert second["rate"] == Decimal("0.100000") and "≤ 3300 UVT" in second["why"]
    invoice = db.query_text("SELECT id, supplier_nit, issue_date FROM invoices WHERE number = 'SETP990001300'")[0]
    # what the books held before the second invoice: the first's base less the credit note's reversal
    assert entries.earlier_in_year(NIT, invoice) == {"honorarios": Decimal("1234567.89") - Decimal("32178.11")}

    def repost_second() -> dict:  # (its XML's withholdings differ from ours: it went to review when posted)
        db.query_text("DELETE FROM journal_lines WHERE invoice_id = %s", (invoice["id"],))
        db.query_text("UPDATE invoices SET status = 'classified' WHERE id = %s", (invoice["id"],))
        entries.post_company_entries(NIT)
        return _journal("SETP990001300")["236515"]

    # A year of fees: the first invoice's base as if 172,000,000 had been paid → 171,967,821.89 earlier
    # + 1,234,567.89 = 173,202,389.78 > 172,834,200 → 11 % × 1,234,567.89 = 135,802.47 → 135,802
    db.query_text("UPDATE journal_lines SET base = 172000000 WHERE concept = 'honorarios' AND credit > 0")
    crossed = repost_second()
    assert (crossed["rate"], crossed["credit"]) == (Decimal("0.110000"), Decimal("135802.00"))
    assert "173202389.78 > 3300 UVT (172834200" in crossed["why"]
    # the same payments issued in another year do not count
    db.query_text("UPDATE invoices SET issue_date = '2025-12-31' WHERE number = %s", (d.INVOICE_NUMBER,))
    assert repost_second()["rate"] == Decimal("0.100000")


def test_a_vigilancia_service_is_withheld_on_the_aiu_the_xml_charges_iva_on(inbox: Path) -> None:
    """The fixture's first line taken as vigilancia (513505): its IVA is charged on all of 1,234,567.89, so
    the AIU is the whole service: 2 % = 24,691.36 → 24,691. Without the line's IVA-taxable amount (a line
    ingested before it was kept) the minimum 10 % is withheld and the invoice goes to review."""
    companies.upsert([Company(NIT, int(d.COMPANY_DV), "Ferretería El Tornillo S.A.S.")])
    vigilancia = {**ACCOUNTS, "Honorarios asesoría contable": "513505"}
    _ingest_and_classify(inbox, ("fe.xml", d.invoice_xml()), accounts=vigilancia)
    entries.post_company_entries(NIT)
    line = _journal(d.INVOICE_NUMBER)["236525"]
    assert (line["concept"], line["base"], line["credit"]) == ("aseo_vigilancia", Decimal("1234567.89"), 24691)

    db.query_text("DELETE FROM journal_lines")
    db.query_text("UPDATE invoice_lines SET iva_base = NULL")
    db.query_text("UPDATE invoices SET status = 'classified', status_reason = NULL")
    entries.post_company_entries(NIT)
    line = _journal(d.INVOICE_NUMBER)["236525"]
    assert (line["base"], line["credit"]) == (Decimal("123456.79"), 2469)  # 10 % of the service, 2 %
    reason = db.query_text("SELECT status, status_reason FROM invoices")[0]
    assert reason["status"] == "review" and "no discrimina el IVA sobre el AIU" in reason["status_reason"]
