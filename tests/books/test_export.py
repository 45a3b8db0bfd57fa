"""Export to the accounting programs (issue 14) on the real PostgreSQL, every produced file read back.

The data comes through the real path (tests/books/export_case.py, fixture ``posted``). Golden files:
tests/books/golden/ (set QUINCENA_TEST_UPDATE_GOLDEN=1 once to rewrite them after an intended change of a
template, then check the diff).
"""

from __future__ import annotations

import csv
import io
import os
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from quincena.books import entries
from quincena.books import export as exporter
from quincena.books.export import templates
from quincena.core import db
from tests.books.export_case import CYCLE, NIT, approve
from tests.fixtures import dian_docs as d

GOLDEN = Path(__file__).parent / "golden"
FORMATS = ("siigo", "worldoffice", "helisa", "csv")
AMOUNT_HEADERS = {  # format -> (debit, credit) headers
    "siigo": ("Débito", "Crédito"),
    "worldoffice": ("Detalle Con: Débito", "Detalle Con: Crédito"),
    "helisa": ("Débito", "Crédito"),
    "csv": ("Débito", "Crédito"),
}
NUMBER_HEADERS = {
    "siigo": "Consecutivo comprobante",
    "worldoffice": "Encab: Documento Número",
    "helisa": "Número",
    "csv": "Comprobante",
}


def read_rows(path: Path, template: templates.Template) -> list[list[str]]:
    """Every row of a produced file as text (header included), read the way the program would."""
    if template.file_type == "xlsx":
        sheet = openpyxl.load_workbook(path).active
        assert sheet.title == template.sheet_name
        return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    text = path.read_bytes().decode(template.encoding)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=template.delimiter))


def amount(text: str, template: templates.Template) -> Decimal:
    if not text:
        return Decimal(0)
    if template.file_type == "csv":
        assert "," not in text or template.decimal_separator == ","  # no thousands separators
        text = text.replace(template.decimal_separator, ".")
    return Decimal(text).quantize(Decimal("0.01"))


def check_file(path: Path, template: templates.Template) -> dict[str, tuple[Decimal, Decimal]]:
    """Columns equal the template, the row limit holds; returns each voucher's (debits, credits)."""
    rows = read_rows(path, template)
    assert rows[0] == template.headers
    data = rows[1:]
    assert data, path
    if template.row_limit:
        assert len(data) <= template.row_limit
    debit_header, credit_header = AMOUNT_HEADERS[template.format]
    i_debit, i_credit = template.headers.index(debit_header), template.headers.index(credit_header)
    i_number = template.headers.index(NUMBER_HEADERS[template.format])
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for row in data:
        assert len(row) == len(template.headers)
        debit, credit = totals.get(row[i_number], (Decimal(0), Decimal(0)))
        totals[row[i_number]] = (debit + amount(row[i_debit], template), credit + amount(row[i_credit], template))
    return totals


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_matches_its_template_balances_and_its_golden_file(posted: None, tmp_path: Path, fmt: str) -> None:
    approve()
    template = templates.load(fmt)
    result = exporter.export_company_cycle(NIT, CYCLE, fmt, tmp_path / "out", created_by="test")

    assert (result.status, result.version, result.vouchers) == ("new", 1, 2)
    [path] = result.files
    totals = check_file(path, template)
    assert sorted(totals) == ["1", "2"]  # one voucher per invoice, numbered from 1 in issue order
    assert all(debit == credit and debit > 0 for debit, credit in totals.values())
    # invoice 1,689,285.79; credit note NC-77 44,030.00
    assert sorted(debit for debit, _ in totals.values()) == [Decimal("44030.00"), Decimal("1689285.79")]

    golden = GOLDEN / path.name
    if os.environ.get("QUINCENA_TEST_UPDATE_GOLDEN"):
        golden.write_bytes(path.read_bytes())
    if template.file_type == "csv":
        assert path.read_bytes() == golden.read_bytes()
    else:  # an .xlsx zip carries timestamps: compare cell by cell
        assert read_rows(path, template) == read_rows(golden, template)


def test_tax_lines_carry_base_and_tax_code_and_the_nit_without_check_digit(posted: None, tmp_path: Path) -> None:
    approve()
    [path] = exporter.export_company_cycle(NIT, CYCLE, "siigo", tmp_path, created_by="test").files
    sheet = openpyxl.load_workbook(path).active
    header = [c.value for c in sheet[1]]
    lines = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)]
    invoice = {line["Código cuenta contable"]: line for line in lines if line["Consecutivo comprobante"] == 1}
    assert {line["Identificación tercero"] for line in lines} == {d.SUPPLIER_NIT}  # 860034313, no "-7"
    assert (invoice["240810"]["Código impuesto"], invoice["240810"]["Base gravable libro compras/ventas"]) == (
        "IVA",
        1419567.89,
    )
    assert invoice["236515"]["Código impuesto"] == "RTEFTE" and invoice["236515"]["Crédito"] == 135802
    assert invoice["236515"]["Base gravable libro compras/ventas"] == 1234567.89
    assert invoice["236701"]["Código impuesto"] == "RTEIVA" and invoice["236801"]["Código impuesto"] == "RTEICA"
    assert invoice["511025"]["Código impuesto"] is None and invoice["511025"]["Débito"] == 1234567.89
    assert all(len(line["Descripción"]) <= 100 for line in lines)


def test_numbers_are_stable_and_a_correction_supersedes(posted: None, tmp_path: Path) -> None:
    approve()
    first = exporter.export_company_cycle(NIT, CYCLE, "csv", tmp_path, created_by="test")
    again = exporter.export_company_cycle(NIT, CYCLE, "csv", tmp_path, created_by="test")
    assert (again.status, again.version, again.files) == ("unchanged", 1, first.files)
    assert db.query_text("SELECT count(*) AS n FROM exports")[0]["n"] == 1

    # The accountant corrects the papelería line's account: the entry is re-proposed, the export changes.
    db.query_text(
        "UPDATE classifications SET account_code = '519595' WHERE account_code = '519530' AND invoice_id = "
        "(SELECT id FROM invoices WHERE number = %s)",
        (d.INVOICE_NUMBER,),
    )
    db.query_text("DELETE FROM journal_lines WHERE invoice_id = (SELECT id FROM invoices WHERE number = %s)",
                  (d.INVOICE_NUMBER,))  # fmt: skip
    entries.post_company_entries(NIT)
    db.query_text("UPDATE invoices SET status = 'classified', status_reason = NULL")
    second = exporter.export_company_cycle(NIT, CYCLE, "csv", tmp_path, created_by="test")

    assert (second.status, second.version, second.superseded_version) == ("new", 2, 1)
    assert first.files[0].exists() and second.files[0] != first.files[0]  # the older file is kept, not overwritten
    records = db.query_text("SELECT version, status, superseded_by, sha256 FROM exports ORDER BY version")
    assert [(r["version"], r["status"], r["superseded_by"]) for r in records] == [
        (1, "superseded", 2),
        (2, "current", None),
    ]
    template = templates.load("csv")
    old, new = check_file(first.files[0], template), check_file(second.files[0], template)
    assert sorted(old) == sorted(new) == ["1", "2"]  # same invoices, same voucher numbers
    assert "519595" in second.files[0].read_text(encoding="utf-8-sig")
    assert "519595" not in first.files[0].read_text(encoding="utf-8-sig")


def test_a_file_not_on_record_is_never_overwritten(posted: None, tmp_path: Path) -> None:
    approve()
    [path] = exporter.export_company_cycle(NIT, CYCLE, "csv", tmp_path, created_by="test").files
    before = path.read_bytes()
    db.query_text("DELETE FROM exports")  # e.g. a restored database that forgot version 1
    db.query_text("UPDATE journal_lines SET description = 'corregido' WHERE seq = 1")
    with pytest.raises(exporter.ExportError, match=r"already exists .*move it away"):
        exporter.export_company_cycle(NIT, CYCLE, "csv", tmp_path, created_by="test")
    assert path.read_bytes() == before and db.query_text("SELECT count(*) AS n FROM exports")[0]["n"] == 0


def test_only_approved_companies_and_invoices_are_exported(posted: None, tmp_path: Path) -> None:
    db.query_text("UPDATE invoices SET status = 'review', status_reason = 'checking' WHERE number = 'NC-77'")
    with pytest.raises(exporter.NotApproved, match=r"no approval yet.*1 invoice\(s\) in review"):
        exporter.export_company_cycle(NIT, CYCLE, "csv", tmp_path, created_by="test")
    approve(decision="rejected")
    with pytest.raises(exporter.NotApproved, match="was rejected by ana"):
        exporter.export_company_cycle(NIT, CYCLE, "csv", tmp_path, created_by="test")
    assert not list(tmp_path.glob("*.csv"))
    assert db.query_text("SELECT count(*) AS n FROM voucher_numbers")[0]["n"] == 0

    approve()
    result = exporter.export_company_cycle(NIT, CYCLE, "csv", tmp_path, created_by="test")
    assert (result.vouchers, result.left_out_in_review) == (1, 1)
    # The credit note, accepted later, gets the next number; the invoice keeps number 1.
    db.query_text("UPDATE invoices SET status = 'classified', status_reason = NULL")
    later = exporter.export_company_cycle(NIT, CYCLE, "csv", tmp_path, created_by="test")
    numbers = db.query_text(
        "SELECT i.number, v.number AS voucher FROM voucher_numbers v JOIN invoices i ON i.id = v.invoice_id"
    )
    assert {r["number"]: r["voucher"] for r in numbers} == {d.INVOICE_NUMBER: 1, "NC-77": 2}
    assert (later.version, later.vouchers, later.left_out_in_review) == (2, 2, 0)


def _bulk_company(nit: str, invoices: int) -> None:
    """A company with ``invoices`` classified invoices of 4 balanced journal lines each (straight SQL)."""
    db.query_text("INSERT INTO companies (nit, dv, name) VALUES (%s, 1, 'Bulk S.A.S.')", (nit,))
    db.query_text(
        "INSERT INTO invoices (company_nit, cufe, doc_type, number, issue_date, currency, supplier_nit, supplier_name,"
        " customer_nit, line_extension_amount, tax_exclusive_amount, tax_inclusive_amount, payable_amount, cycle_id,"
        " status, source_file)"
        " SELECT %s, 'cufe-' || n, 'invoice', 'F-' || n, DATE '2026-11-02' + (n %% 10), 'COP', '800111222',"
        " 'Proveedor', %s, 1000, 1000, 1190, 1190, %s, 'classified', 'bulk.xml' FROM generate_series(1, %s) n",
        (nit, nit, CYCLE, invoices),
    )
    db.query_text(
        "INSERT INTO journal_lines (invoice_id, seq, account_code, debit, credit, description)"
        " SELECT i.id, l.seq, l.account, l.debit, l.credit, 'Proveedor ' || i.number FROM invoices i,"
        " (VALUES (1, '513525', 1000.00, 0), (2, '240810', 190.00, 0), (3, '236525', 0, 40.00),"
        "         (4, '233595', 0, 1150.00)) AS l (seq, account, debit, credit)"
        " WHERE i.company_nit = %s",
        (nit,),
    )


def test_siigo_splits_at_500_records_without_splitting_a_voucher(clean_db: str, tmp_path: Path) -> None:
    _bulk_company("901000001", 130)  # 520 lines
    approve("901000001")
    template = templates.load("siigo")
    result = exporter.export_company_cycle("901000001", CYCLE, "siigo", tmp_path, created_by="test")
    assert len(result.files) == 2 and result.lines == 520
    seen: list[str] = []
    for path in result.files:
        totals = check_file(path, template)  # ≤ 500 rows, each voucher balances within its file
        assert all(debit == credit == Decimal("1190.00") for debit, credit in totals.values())
        seen += totals
    assert len(seen) == len(set(seen)) == 130  # no voucher appears in two files
    assert [int(n) for n in seen] == list(range(1, 131))
    parts = db.query_text("SELECT part, parts, lines, first_voucher, last_voucher FROM exports ORDER BY part")
    assert [(p["part"], p["parts"], p["lines"], p["first_voucher"], p["last_voucher"]) for p in parts] == [
        (1, 2, 500, 1, 125),
        (2, 2, 20, 126, 130),
    ]


def test_a_corrected_template_from_the_firm_wins_and_makes_a_new_version(
    clean_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bulk_company("901000002", 5)
    approve("901000002")
    first = exporter.export_company_cycle("901000002", CYCLE, "csv", tmp_path / "out", created_by="test")
    firm = tmp_path / "templates"
    firm.mkdir()
    text = (templates.templates_dirs()[0] / "csv.json").read_text(encoding="utf-8")
    text = text.replace('"row_limit": null', '"row_limit": 6').replace('"delimiter": ";"', '"delimiter": "\\t"')
    (firm / "csv.json").write_text(text.replace('"Tercero"', '"NIT tercero"'), encoding="utf-8")
    monkeypatch.setenv("QUINCENA_EXPORT_TEMPLATES", str(firm))

    template = templates.load("csv")
    assert (template.row_limit, template.delimiter, template.source) == (6, "\t", str(firm / "csv.json"))
    second = exporter.export_company_cycle("901000002", CYCLE, "csv", tmp_path / "out", created_by="test")
    assert (second.version, second.superseded_version, len(second.files)) == (2, 1, 5)  # 4 lines a voucher, 6 a file
    for path in second.files:
        assert read_rows(path, template)[0][6] == "NIT tercero"
        check_file(path, template)
    assert first.files[0].exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace('"field": "debit"', '"field": "debito"'), "column 9 ('Débito'): unknown field 'debito'"),
        (lambda t: t.replace('"file_type": "csv"', '"file_type": "ods"'), "'file_type' must be one of csv, xlsx"),
        (lambda t: t.replace('"delimiter": ";"', '"delimiter": ","'), "the delimiter and the decimal separator"),
        (lambda t: t.replace("_v{version}", ""), "'file_name' must contain {version} and {part}"),
        (lambda t: t.replace('"encoding": "utf-8-sig"', '"encoding": "klingon"'), "'encoding' 'klingon'"),
        (lambda t: t.replace('"row_limit": null', '"row_limit": 0'), "'row_limit' must be a positive"),
        (lambda t: t.replace('"columns"', '"colums"'), "unknown key(s) colums"),
        (lambda t: t[:-3], "not valid JSON"),
    ],
)
def test_a_broken_template_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change, message: str
) -> None:
    text = (templates.templates_dirs()[0] / "csv.json").read_text(encoding="utf-8")
    (tmp_path / "csv.json").write_text(change(text), encoding="utf-8")
    monkeypatch.setenv("QUINCENA_EXPORT_TEMPLATES", str(tmp_path))
    with pytest.raises(templates.TemplateError) as caught:
        templates.load("csv")
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert str(tmp_path / "csv.json") in str(caught.value)


def test_every_shipped_template_loads() -> None:
    assert set(FORMATS) <= set(templates.available())
    for name in FORMATS:
        template = templates.load(name)
        assert template.format == name and template.headers
    assert templates.load("siigo").row_limit == 500
    assert templates.load("csv").encoding == "utf-8-sig"
