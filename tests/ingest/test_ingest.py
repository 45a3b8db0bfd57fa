"""Inbox ingest into the real PostgreSQL: idempotent, exact amounts, every file accounted for."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from quincena.core import db
from quincena.ingest import inbox as ingest
from tests.fixtures import dian_docs as d

NIT = d.COMPANY_NIT


def _put(inbox: Path, relative: str, data: str | bytes) -> Path:
    path = inbox / NIT / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _counts() -> dict[str, int]:
    row = db.query_text(
        "SELECT (SELECT count(*) FROM ingested_files) AS files, (SELECT count(*) FROM invoices) AS invoices,"
        " (SELECT count(*) FROM invoice_lines) AS lines, (SELECT count(*) FROM invoice_taxes) AS taxes"
    )[0]
    return dict(row)


def _files() -> dict[str, dict]:
    rows = db.query_text("SELECT path, outcome, reason_code, reason, documents, sha256 FROM ingested_files")
    return {row["path"].rsplit("/", 1)[-1]: row for row in rows}


def test_each_document_type_lands_with_exact_amounts(inbox: Path) -> None:
    _put(inbox, "2026-11-05/ad0860034313.xml", d.attached_xml(d.invoice_xml()))
    _put(inbox, "2026-11-10/nc.xml", d.credit_note_xml())
    _put(inbox, "2026-11-20/z.ZIP", d.zip_bytes({"nd.xml": d.debit_note_xml().encode(), "nd.pdf": d.PDF}))

    report = ingest.ingest_company(NIT, inbox, cycle_id="2026-11-Q1")

    assert (report.files_seen, report.ingested, report.quarantined, report.duplicates) == (3, 3, 0, 0)
    assert (report.invoices_added, report.lines_added) == (3, 4)
    assert report.cycles == {"2026-11-Q1": 2, "2026-11-Q2": 1}
    assert report.invoices_in_cycle == 2
    invoices = {r["doc_type"]: r for r in db.query_text("SELECT * FROM invoices")}
    inv = invoices["invoice"]
    assert inv["cufe"] == d.CUFE and inv["number"] == d.INVOICE_NUMBER
    assert (inv["supplier_nit"], inv["supplier_dv"], inv["customer_nit"]) == ("860034313", "7", NIT)
    assert inv["line_extension_amount"] == Decimal("1419567.89")
    assert inv["tax_inclusive_amount"] == Decimal("1689285.79")
    assert inv["prepaid_amount"] == Decimal("100000.00")
    assert inv["payable_amount"] == Decimal("1589285.79")
    assert (inv["status"], inv["cycle_id"], inv["currency"]) == ("pending", "2026-11-Q1", "COP")
    assert inv["source_file"] == f"{NIT}/2026-11-05/ad0860034313.xml"
    assert invoices["credit_note"]["billing_reference"] == d.CUFE
    assert invoices["debit_note"]["cycle_id"] == "2026-11-Q2"
    assert invoices["debit_note"]["source_file"].endswith("z.ZIP!nd.xml")

    lines = db.query_text(
        "SELECT line_no, description, quantity, unit_price, line_total, tax_amount, tax_percent, iva_base"
        " FROM invoice_lines WHERE invoice_id = %s ORDER BY line_no",
        (inv["id"],),
    )
    assert lines[0] == {
        "line_no": 1,
        "description": "Honorarios asesoría contable",
        "quantity": Decimal("1.000000"),
        "unit_price": Decimal("1234567.890000"),
        "line_total": Decimal("1234567.89"),
        "tax_amount": Decimal("234567.90"),
        "tax_percent": Decimal("19.0000"),
        "iva_base": Decimal("1234567.89"),
    }
    taxes = db.query_text(
        "SELECT kind, seq, scheme_id, taxable_amount, amount FROM invoice_taxes WHERE invoice_id = %s ORDER BY 1, 2",
        (inv["id"],),
    )
    assert [(t["kind"], t["scheme_id"], t["amount"]) for t in taxes] == [
        ("tax", "01", Decimal("269717.90")),
        ("withholding", "06", Decimal("135802.47")),
        ("withholding", "05", Decimal("40457.69")),
    ]
    assert {r["outcome"] for r in _files().values()} == {"ingested"}


def test_reingest_is_idempotent(inbox: Path) -> None:
    _put(inbox, "a/fv.xml", d.invoice_xml())
    _put(inbox, "a/nc.xml", d.credit_note_xml())
    _put(inbox, "a/roto.xml", "<Invoice>")
    first = ingest.ingest_company(NIT, inbox)
    after_first = _counts()

    second = ingest.ingest_company(NIT, inbox)

    assert _counts() == after_first == {"files": 3, "invoices": 2, "lines": 3, "taxes": 4}
    assert (first.ingested, first.quarantined, first.skipped) == (2, 1, 0)
    assert (second.files_seen, second.skipped, second.ingested, second.quarantined, second.invoices_added) == (
        3,
        3,
        0,
        0,
        0,
    )


def test_already_ingested_files_are_not_parsed_again(inbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _put(inbox, "fv.xml", d.invoice_xml())
    ingest.ingest_company(NIT, inbox)

    def fail(*args, **kwargs):
        raise AssertionError("parsed a file that was already ingested")

    monkeypatch.setattr(ingest, "read_payloads", fail)
    assert ingest.ingest_company(NIT, inbox).skipped == 1


def test_same_cufe_in_two_files_yields_one_invoice(inbox: Path) -> None:
    _put(inbox, "1/ad.xml", d.attached_xml(d.invoice_xml()))
    _put(inbox, "2/fv.xml", d.invoice_xml())  # the same invoice, bare: other bytes, same CUFE

    report = ingest.ingest_company(NIT, inbox)

    assert (report.ingested, report.duplicates, report.invoices_added) == (1, 1, 1)
    assert _counts()["invoices"] == 1
    files = _files()
    assert files["ad.xml"]["outcome"] == "ingested"
    assert files["fv.xml"]["outcome"] == "duplicate"
    assert d.INVOICE_NUMBER in files["fv.xml"]["reason"]


def test_byte_identical_copy_gets_its_own_row_without_parsing(inbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _put(inbox, "a/fv.xml", d.invoice_xml())
    _put(inbox, "a/roto.xml", "<Invoice>")
    ingest.ingest_company(NIT, inbox)
    _put(inbox, "reenviados/fv-copia.xml", d.invoice_xml())  # the supplier sent the same e-mail again
    _put(inbox, "reenviados/roto-copia.xml", "<Invoice>")
    monkeypatch.setattr(ingest, "read_payloads", lambda *a, **k: pytest.fail("a copy was parsed"))

    report = ingest.ingest_company(NIT, inbox)

    assert (report.files_seen, report.skipped, report.duplicates, report.quarantined) == (4, 2, 1, 1)
    files = _files()
    assert len(files) == 4  # every file in the inbox has its row
    assert files["fv-copia.xml"]["outcome"] == "duplicate"
    assert files["fv-copia.xml"]["reason"] == f"byte-identical to {NIT}/a/fv.xml"
    assert files["roto-copia.xml"]["reason_code"] == "malformed_xml"
    assert files["roto-copia.xml"]["reason"].startswith(f"byte-identical to {NIT}/a/roto.xml: the file is not")
    assert _counts()["invoices"] == 1
    assert ingest.ingest_company(NIT, inbox).skipped == 4


def test_byte_identical_copy_in_the_same_batch(inbox: Path) -> None:
    _put(inbox, "fv.xml", d.invoice_xml())
    _put(inbox, "reenviados/fv-copia.xml", d.invoice_xml())

    report = ingest.ingest_company(NIT, inbox)

    assert (report.files_seen, report.ingested, report.duplicates) == (2, 1, 1)
    assert _counts()["files"] == 2 and _counts()["invoices"] == 1


def test_bad_files_are_quarantined_and_the_batch_goes_on(inbox: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-PAYROLL-9f3a", encoding="utf-8")
    _put(inbox, "01-otro.xml", d.invoice_xml(customer_nit="800197268", customer_dv="4"))
    _put(inbox, "02-roto.xml", d.invoice_xml()[:700])
    _put(inbox, "03-pedido.xml", '<?xml version="1.0"?><PedidoCompra xmlns="urn:erp"><Total>1</Total></PedidoCompra>')
    _put(inbox, "04-xxe.xml", d.attached_xml(d.XXE_TEMPLATE.format(path=secret)))
    _put(inbox, "05-lol.xml", d.BILLION_LAUGHS)
    _put(inbox, "06-vacio.zip", d.zip_bytes({"f.pdf": d.PDF}))
    _put(inbox, "07-bueno.xml", d.invoice_xml())
    _put(inbox, "08-notas.txt", "not an invoice: ignored by extension")

    report = ingest.ingest_company(NIT, inbox)

    assert (report.files_seen, report.quarantined, report.ingested, report.invoices_added) == (7, 6, 1, 1)
    assert report.quarantine_reasons == {
        "hostile_xml": 2,
        "malformed_xml": 1,
        "no_documents": 1,
        "not_dian": 1,
        "wrong_customer": 1,
    }
    files = _files()
    assert files["01-otro.xml"]["reason_code"] == "wrong_customer"
    assert "800197268" in files["01-otro.xml"]["reason"]
    assert files["04-xxe.xml"]["reason_code"] == "hostile_xml"
    assert all(row["reason"] for row in files.values() if row["outcome"] == "quarantined")
    dumped = json.dumps(db.query_text("SELECT * FROM ingested_files"), default=str)
    dumped += json.dumps(db.query_text("SELECT * FROM invoices"), default=str)
    dumped += json.dumps(report.to_dict())
    assert "TOP-SECRET" not in dumped


def test_oversize_file_is_quarantined(inbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUINCENA_MAX_FILE_BYTES", "4096")
    _put(inbox, "grande.xml", d.invoice_xml(extra="<!-- " + "x" * 8000 + " -->"))
    hashed: list[Path] = []
    monkeypatch.setattr(ingest, "_sha256", lambda path: hashed.append(path) or "0" * 64)

    report = ingest.ingest_company(NIT, inbox)

    assert report.quarantine_reasons == {"too_large": 1}
    row = _files()["grande.xml"]
    assert row["outcome"] == "quarantined" and "limit is 4096" in row["reason"]
    assert hashed == []  # fingerprinted from head and tail, not read whole
    assert ingest.ingest_company(NIT, inbox).skipped == 1


def test_extensions_are_case_insensitive(inbox: Path) -> None:
    _put(inbox, "FV.XML", d.invoice_xml())
    _put(inbox, "nota.Zip", d.zip_bytes({"NC.Xml": d.credit_note_xml().encode()}))
    _put(inbox, "factura.pdf", d.PDF)
    assert ingest.ingest_company(NIT, inbox).invoices_added == 2


def test_company_given_with_check_digit_and_dots(inbox: Path) -> None:
    _put(inbox, "fv.xml", d.invoice_xml())
    assert ingest.ingest_company("900.373.115-3", inbox).invoices_added == 1


def test_unknown_company_is_a_clear_error(inbox: Path) -> None:
    with pytest.raises(ingest.UnknownCompany, match="860034313 is not registered"):
        ingest.ingest_company("860034313", inbox)


def test_missing_inbox_is_an_empty_report(inbox: Path) -> None:
    report = ingest.ingest_company(NIT, inbox / "nowhere")
    assert report.files_seen == 0 and report.to_dict()["files_seen"] == 0


def test_report_to_dict_is_plain_json(inbox: Path) -> None:
    _put(inbox, "fv.xml", d.invoice_xml())
    _put(inbox, "roto.xml", "<")
    data = ingest.ingest_company(NIT, inbox, cycle_id="2026-11-Q1").to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["quarantined_files"] == [
        {"path": f"{NIT}/roto.xml", "reason_code": "malformed_xml", "reason": data["quarantined_files"][0]["reason"]}
    ]
    assert data["invoices_in_cycle"] == 1


def test_bad_cycle_id_is_refused(inbox: Path) -> None:
    with pytest.raises(ValueError, match="not a quincena id"):
        ingest.ingest_company(NIT, inbox, cycle_id="2026-11")
