"""DIAN UBL 2.1 parsing: each document type, zips, and hostile or broken input."""

from __future__ import annotations

import json
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from quincena.cli import main as cli_main
from quincena.ingest import dian, files
from quincena.ingest.dian import RejectedDocument, TaxAmount
from tests.fixtures import dian_docs as d


def _rejected(data: bytes | str, filename: str = "doc.xml", **kwargs) -> RejectedDocument:
    payload = data.encode() if isinstance(data, str) else data
    with pytest.raises(RejectedDocument) as info:
        dian.parse_file(payload, filename, **kwargs)
    return info.value


def _assert_reference_invoice(doc: dian.DianDocument) -> None:
    """Every field of tests/fixtures/dian_docs.invoice_xml, exactly."""
    assert doc.doc_type == "invoice"
    assert doc.number == d.INVOICE_NUMBER
    assert doc.cufe == d.CUFE and doc.cufe_scheme == "CUFE-SHA384"
    assert doc.invoice_type_code == "01"
    assert doc.issue_date == date(2026, 11, 5) and doc.due_date == date(2026, 12, 5)
    assert doc.currency == "COP"
    assert (doc.supplier.nit, doc.supplier.dv, doc.supplier.name) == ("860034313", "7", "Contadores & Papeles S.A.S.")
    assert doc.supplier.dv_ok is True
    assert (doc.customer.nit, doc.customer.dv) == ("900373115", "3")
    t = doc.totals
    assert t.line_extension == Decimal("1419567.89")
    assert t.tax_exclusive == Decimal("1419567.89")
    assert t.tax_inclusive == Decimal("1689285.79")
    assert (t.allowance_total, t.charge_total) == (Decimal("0.00"), Decimal("0.00"))
    assert t.prepaid == Decimal("100000.00")
    assert t.payable == Decimal("1589285.79")
    assert doc.taxes == (TaxAmount("01", "IVA", Decimal("1419567.89"), Decimal("269717.90"), Decimal("19.00")),)
    assert doc.withholdings == (
        TaxAmount("06", "ReteRenta", Decimal("1234567.89"), Decimal("135802.47"), Decimal("11.00")),
        TaxAmount("05", "ReteIVA", Decimal("269717.90"), Decimal("40457.69"), Decimal("15.00")),
    )
    first, second = doc.lines
    assert (first.line_no, first.description, first.item_code) == (1, "Honorarios asesoría contable", "SKU-1")
    assert (first.quantity, first.unit_code, first.unit_price) == (Decimal("1.00"), "94", Decimal("1234567.89"))
    assert (first.line_total, first.tax_amount, first.tax_percent, first.iva_base) == (
        Decimal("1234567.89"),
        Decimal("234567.90"),
        Decimal("19.00"),
        Decimal("1234567.89"),  # the IVA subtotal's TaxableAmount
    )
    assert (second.quantity, second.line_total, second.tax_amount) == (
        Decimal("10.00"),
        Decimal("185000.00"),
        Decimal("35150.00"),
    )
    assert sum(line.line_total for line in doc.lines) == t.line_extension
    for amount in (t.line_extension, t.payable, first.unit_price, first.quantity):
        assert isinstance(amount, Decimal)


def test_attached_document_wrapping_an_invoice() -> None:
    (doc,) = dian.parse_file(d.attached_xml(d.invoice_xml()).encode(), "ad0860034313.xml")
    _assert_reference_invoice(doc)
    assert doc.envelope == "AttachedDocument"
    assert doc.dian_response_code == "02"
    assert doc.profile_execution_id == "1"


def test_attached_document_with_escaped_text_instead_of_cdata() -> None:
    (doc,) = dian.parse_file(d.attached_xml(d.invoice_xml(), cdata=False).encode(), "ad.xml")
    _assert_reference_invoice(doc)
    assert doc.dian_response_code == "02"


def test_bare_invoice() -> None:
    (doc,) = dian.parse_file(d.invoice_xml().encode(), "fv.xml")
    _assert_reference_invoice(doc)
    assert doc.envelope == "Invoice"
    assert doc.dian_response_code is None


def test_credit_note() -> None:
    (doc,) = dian.parse_file(d.attached_xml(d.credit_note_xml(), response=None).encode(), "nc.xml")
    assert doc.doc_type == "credit_note"
    assert (doc.number, doc.cufe, doc.cufe_scheme) == ("NC-77", "c" * 96, "CUDE-SHA384")
    assert doc.invoice_type_code == "91"
    assert doc.billing_reference == d.CUFE
    assert doc.dian_response_code is None
    (line,) = doc.lines
    assert (line.quantity, line.line_total, line.tax_amount) == (
        Decimal("2.00"),
        Decimal("37000.00"),
        Decimal("7030.00"),
    )
    assert doc.totals.tax_inclusive == doc.totals.payable == Decimal("44030.00")


def test_debit_note_totals_come_from_requested_monetary_total() -> None:
    (doc,) = dian.parse_file(d.debit_note_xml().encode(), "nd.xml")
    assert doc.doc_type == "debit_note"
    assert doc.invoice_type_code == "92"
    assert doc.billing_reference == d.CUFE
    assert doc.totals.line_extension == Decimal("37000.00")
    assert doc.totals.payable == Decimal("44030.00")
    assert doc.lines[0].quantity == Decimal("1.00")
    assert doc.lines[0].description == "Ajuste en precio resmas"


def test_supplier_with_wrong_check_digit_is_kept_as_given() -> None:
    (doc,) = dian.parse_file(d.invoice_xml(supplier_dv="2").encode(), "fv.xml")
    assert doc.supplier.dv == "2"
    assert doc.supplier.dv_ok is False


def test_zip_with_xml_and_pdf(tmp_path: Path) -> None:
    path = tmp_path / "z0860034313.ZIP"
    path.write_bytes(d.zip_bytes({"ad0860034313.xml": d.attached_xml(d.invoice_xml()).encode(), "ad.pdf": d.PDF}))
    (doc,) = dian.parse_file(path)
    _assert_reference_invoice(doc)
    payloads = dian.read_payloads(path)
    assert [p.name for p in payloads] == ["z0860034313.ZIP!ad0860034313.xml"]


def test_zip_with_two_documents_and_a_receipt() -> None:
    data = d.zip_bytes(
        {
            "fv.xml": d.invoice_xml().encode(),
            "nc.xml": d.credit_note_xml().encode(),
            "ar.xml": d.APPLICATION_RESPONSE.encode(),  # DIAN's receipt: skipped, not an error
            "fv.pdf": d.PDF,
        }
    )
    docs = dian.parse_file(data, "bundle.zip")
    assert [doc.doc_type for doc in docs] == ["invoice", "credit_note"]


def test_zip_without_xml() -> None:
    assert _rejected(d.zip_bytes({"factura.pdf": d.PDF}), "f.zip").code == "no_documents"


def test_broken_zip() -> None:
    data = d.zip_bytes({"fv.xml": d.invoice_xml().encode()})
    assert _rejected(data[: len(data) // 2], "f.zip").code == "invalid_zip"


def test_zip_bomb_is_stopped_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUINCENA_MAX_FILE_BYTES", str(1024 * 1024))
    bomb = d.zip_bytes({"fv.xml": b"<a>" + b" " * (50 * 1024 * 1024) + b"</a>"})
    assert len(bomb) < 1024 * 1024  # small on disk
    error = _rejected(bomb, "bomb.zip")
    assert error.code == "too_large"
    assert "expands beyond" in error.reason


def test_zip_with_too_many_members() -> None:
    data = d.zip_bytes({f"f{i}.xml": b"<a/>" for i in range(files.MAX_ZIP_MEMBERS + 1)})
    assert _rejected(data, "many.zip").code == "too_large"


def test_one_bad_member_rejects_the_whole_zip() -> None:
    data = d.zip_bytes({"fv.xml": d.invoice_xml().encode(), "roto.xml": b"<Invoice><cbc:ID>"})
    error = _rejected(data, "mixed.zip")
    assert error.code == "malformed_xml"
    assert error.reason.startswith("roto.xml:")


def test_oversize_file_is_refused_without_reading_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUINCENA_MAX_FILE_BYTES", "1000")
    path = tmp_path / "big.xml"
    path.write_bytes(b"<a>" + b"x" * 5000 + b"</a>")
    opened: list[Path] = []
    original_open = Path.open

    def spy_open(self: Path, *args, **kwargs):
        opened.append(self)
        return original_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spy_open)
    with pytest.raises(RejectedDocument) as info:
        dian.parse_file(path)
    assert info.value.code == "too_large"
    assert "5007 bytes" in info.value.reason
    assert path not in opened
    assert _rejected(b"<a>" + b"x" * 2000 + b"</a>").code == "too_large"


@pytest.mark.parametrize(
    ("data", "code", "hint"),
    [
        ("<Invoice><cbc:ID>1</Invoice>", "malformed_xml", "not well-formed"),
        ("", "malformed_xml", "not well-formed"),
        ("\x00\x01binary", "malformed_xml", "not well-formed"),
        ('<?xml version="1.0"?><nomina xmlns="urn:erp:nomina"><empleado/></nomina>', "not_dian", "not a UBL"),
        ("<html><body>factura</body></html>", "not_dian", "not a UBL"),
        (d.APPLICATION_RESPONSE, "unsupported_document", "ApplicationResponse"),
        (
            '<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>',
            "unsupported_document",
            "not an Invoice",
        ),
        (d.attached_xml(d.APPLICATION_RESPONSE), "unsupported_document", "wraps <ApplicationResponse>"),
        (d.attached_xml("<Invoice>"), "malformed_xml", "embedded"),
        (d.attached_xml(""), "missing_field", "no embedded document"),
        (d.invoice_xml().replace(f"{d.CUFE}</cbc:UUID>", "</cbc:UUID>"), "missing_field", "CUFE"),
        (d.invoice_xml().replace(">1589285.79<", ">1.589.285,79<"), "missing_field", "not a number"),
        (d.invoice_xml().replace(">1589285.79<", ">NaN<"), "missing_field", "out of range"),
        (d.invoice_xml().replace(">2026-11-05<", ">05/11/2026<", 1), "missing_field", "not a date"),
        (d.invoice_xml().replace("InvoiceLine", "Renglon"), "missing_field", "no lines"),
    ],
)
def test_bad_documents_are_rejected_with_a_reason(data: str, code: str, hint: str) -> None:
    error = _rejected(data)
    assert error.code == code
    assert hint in error.reason


def test_rejection_codes_are_a_fixed_set() -> None:
    with pytest.raises(ValueError):
        RejectedDocument("oops", "not a code")


def test_xxe_is_refused_and_the_file_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-PAYROLL-9f3a", encoding="utf-8")
    hostile = d.XXE_TEMPLATE.format(path=secret)
    for data in (hostile, d.attached_xml(hostile)):  # also when hidden inside the AttachedDocument
        error = _rejected(data)
        assert error.code == "hostile_xml"
        assert "TOP-SECRET" not in error.reason
        assert "DTD" in error.reason


def test_billion_laughs_is_refused_without_expanding() -> None:
    started = time.perf_counter()
    error = _rejected(d.BILLION_LAUGHS)
    assert error.code == "hostile_xml"
    assert "lollol" not in error.reason
    assert time.perf_counter() - started < 1.0  # expanding would take gigabytes and far longer


def test_hostile_application_response_rejects_the_file() -> None:
    error = _rejected(d.attached_xml(d.invoice_xml(), response=d.BILLION_LAUGHS))
    assert error.code == "hostile_xml"


def test_document_to_dict_is_exact_json() -> None:
    (doc,) = dian.parse_file(d.invoice_xml().encode(), "fv.xml")
    data = json.loads(json.dumps(dian.document_to_dict(doc)))
    assert data["totals"]["payable"] == "1589285.79"
    assert data["issue_date"] == "2026-11-05"
    assert data["lines"][0]["unit_price"] == "1234567.89"
    assert data["withholdings"][1] == {
        "scheme_id": "05",
        "scheme_name": "ReteIVA",
        "taxable_amount": "269717.90",
        "amount": "40457.69",
        "percent": "15.00",
    }
    assert data["supplier"]["nit"] == "860034313"


def test_parse_cli_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ad.zip"
    path.write_bytes(d.zip_bytes({"ad.xml": d.attached_xml(d.invoice_xml()).encode(), "ad.pdf": d.PDF}))
    assert cli_main(["parse", str(path)]) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["file"] == str(path)
    (document,) = output["documents"]
    assert document["cufe"] == d.CUFE
    assert document["totals"]["tax_inclusive"] == "1689285.79"
    assert document["dian_response_code"] == "02"


@pytest.mark.parametrize(
    ("content", "hint"),
    [
        (d.BILLION_LAUGHS, "[hostile_xml]"),
        ("<Invoice>", "[malformed_xml]"),
        ("<nomina/>", "[not_dian]"),
    ],
)
def test_parse_cli_rejects_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], content, hint) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(content, encoding="utf-8")
    assert cli_main(["parse", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"quincena parse: {path}: ")
    assert hint in captured.err
    assert captured.err.count("\n") == 1


def test_parse_cli_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["parse", str(tmp_path / "nada.xml")]) == 2
    assert "no such file" in capsys.readouterr().err
