"""Client statements: their totals are the month's api_calls rows, which the reconciled DeepSeek
export confirms; the PDF is a real PDF whose text says what the client needs.

November 2026 ledger (each answered call US$0.0093 off-peak, US$0.0186 peak; 130k tokens):
- Alfa SAS (900000001): 2026-11-Q1 3 calls + a 429 (billed nothing), 2026-11-Q2 1 peak call on Mon Nov 23;
  2 invoices in Q1;
- Beta SAS (900000002): 2026-11-Q1 2 calls, one at Nov 1 03:00 UTC (Oct 31 in Bogotá: still November
  for DeepSeek, whose days are UTC);
- one call filed under no company;
- outside the month: Alfa's call at Dec 1 00:00 UTC and Beta's at Oct 31 23:59 UTC.
"""

from __future__ import annotations

import shutil
import subprocess
import zlib
from decimal import Decimal
from pathlib import Path

import pytest

from quincena.billing import statement
from quincena.cli import main as cli_main
from quincena.core import db
from quincena.costs import cycle_costs, monthly
from tests.costs.health_seed import OFF, PEAK, at, call, insert_calls
from tests.costs.test_reconcile import amount_lines as lines_for
from tests.costs.test_reconcile import write_csv

A, B = "900000001", "900000002"
NOVEMBER = monthly.parse_month("2026-11")
PEAK_PRICES = {"input_cache_hit_tokens": "0.000000006", "input_cache_miss_tokens": "0.0000003",
               "output_tokens": "0.0000012"}  # fmt: skip
INVOICE = """
INSERT INTO invoices (company_nit, cufe, doc_type, number, issue_date, currency, supplier_nit, supplier_name,
    customer_nit, line_extension_amount, tax_exclusive_amount, tax_inclusive_amount, payable_amount, cycle_id,
    source_file)
VALUES (%s, %s, 'invoice', %s, '2026-11-05', 'COP', '800000001', 'Proveedor SAS', %s, 100, 100, 119, 119,
    '2026-11-Q1', 'inbox/fe.xml')
"""


def _in(cycle: str, row: dict) -> dict:
    row["cycle_id"] = cycle
    return row


def _seed() -> None:
    db.query_text("INSERT INTO companies (nit, dv, name) VALUES (%s, 1, 'Alfa SAS'), (%s, 2, 'Beta SAS')", (A, B))
    for number in ("FE-1", "FE-2"):
        db.query_text(INVOICE, (A, f"cufe-{number}", number, A))
    q1, q2 = "2026-11-Q1", "2026-11-Q2"
    insert_calls([
        _in(q1, call("k1", at("2026-11-05T15:00:00"), company=A)),
        _in(q1, call("k1", at("2026-11-05T15:01:00"), company=A)),
        _in(q1, call("k1", at("2026-11-05T15:02:00"), company=A)),
        _in(q1, call("k1", at("2026-11-05T15:03:00"), "rate_limited", company=A)),
        _in(q2, call("k1", at("2026-11-23T02:00:00"), company=A, cost=PEAK)),
        _in(q1, call("k2", at("2026-11-01T03:00:00"), company=B)),  # a Sunday: off-peak
        _in(q1, call("k2", at("2026-11-05T15:00:00"), company=B)),
        _in(q1, call("k2", at("2026-11-05T16:00:00"), company=None)),
        _in(q2, call("k1", at("2026-12-01T00:00:00"), company=A)),  # December
        _in("2026-10-Q2", call("k2", at("2026-10-31T23:59:00"), company=B)),  # October
    ])  # fmt: skip


def _export(folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    usage = lines_for([("2026-11-01", "k2", 1), ("2026-11-05", "k1", 3), ("2026-11-05", "k2", 2)]) + lines_for(
        [("2026-11-23", "k1", 1)], prices=PEAK_PRICES
    )
    write_csv(folder / "amount-2026-11.csv", usage)


def _pdf_text(path: Path) -> str:
    """The text fpdf2 wrote, from the PDF's own content streams (no PDF reader needed)."""
    data = path.read_bytes()
    text = []
    for chunk in data.split(b"stream\n")[1:]:
        body = chunk.split(b"\nendstream")[0]
        try:
            text.append(zlib.decompress(body).decode("latin-1"))
        except zlib.error:
            continue
    return "".join(text)


def test_statement_equals_the_ledger_equals_the_reconciled_month(clean_db, tmp_path) -> None:
    _seed()
    _export(tmp_path / "exports")
    reconciled = monthly.reconcile_month(NOVEMBER, tmp_path / "exports", Decimal("0.01"), tmp_path / "rec")
    assert reconciled.status == monthly.RECONCILED

    month = statement.build(NOVEMBER, statement.Rate(Decimal("4012.35"), NOVEMBER.replace(day=30)), "Contadores SAS")
    (ledger,) = db.query_text(
        "SELECT sum(cost_usd) AS usd FROM api_calls WHERE started_at >= '2026-11-01Z' AND started_at < '2026-12-01Z'"
    )
    assert month.total_usd == ledger["usd"] == reconciled.deepseek_usd == 6 * OFF + PEAK
    alfa, beta = month.statements
    assert (alfa.nit, alfa.cost_usd, beta.cost_usd, month.unattributed.cost_usd) == (A, 3 * OFF + PEAK, 2 * OFF, OFF)
    assert [(line["cycle_id"], line["invoices"], line["ok_calls"]) for line in alfa.lines] == [
        ("2026-11-Q1", 2, 3), ("2026-11-Q2", 0, 1),
    ]  # fmt: skip
    assert alfa.share == (3 * OFF + PEAK) / (6 * OFF + PEAK)
    assert "Conciliado" in month.reconciliation_status()

    # The same rows as cycle_costs: Q1 lies wholly in November, so its company figures are the statement's.
    costs = cycle_costs.compute("2026-11-Q1", [A, B])
    assert {c["member"]: c["cost_usd"] for c in costs.companies} == {
        A: next(line["cost_usd"] for line in alfa.lines if line["cycle_id"] == "2026-11-Q1"), B: beta.cost_usd,
    }  # fmt: skip


def test_cli_writes_pdf_csv_and_summary_in_spanish(clean_db, tmp_path, capsys, monkeypatch) -> None:
    _seed()
    _export(tmp_path / "exports")
    monthly.reconcile_month(NOVEMBER, tmp_path / "exports", Decimal("0.01"), tmp_path / "rec")
    monkeypatch.setenv("QUINCENA_FIRM_NAME", "Contadores Asociados SAS")
    out = tmp_path / "statements"
    args = ["statement", "--month", "2026-11", "--out", str(out), "--cop-per-usd", "4012.35",
            "--rate-date", "2026-11-30"]  # fmt: skip
    assert cli_main(args) == 0
    assert "account total US$0.0744" in capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert names == ["estado_900000001_2026-11.csv", "estado_900000001_2026-11.pdf", "estado_900000002_2026-11.csv",
                     "estado_900000002_2026-11.pdf", "resumen_2026-11.csv", "resumen_2026-11.pdf"]  # fmt: skip
    pdf = out / "estado_900000001_2026-11.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = _pdf_text(pdf)
    for expected in ("Contadores Asociados SAS", "Cliente: Alfa SAS", "NIT: 900000001-1", "noviembre de 2026",
                     "US$ 0,04650000", "2026-11-Q1", "TRM del 30 de noviembre de 2026: 4.012,35 COP",
                     "Conciliado con el reporte de uso de DeepSeek"):  # fmt: skip
        assert expected in text, expected
    csv_text = (out / "estado_900000001_2026-11.csv").read_text(encoding="utf-8")
    assert "2026-11,900000001,Alfa SAS,total,2,4,400000,80000,40000,0.04650000,186.57," in csv_text
    summary = (out / "resumen_2026-11.csv").read_text(encoding="utf-8")
    assert ",Llamadas sin empresa asignada,total," in summary
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: the PNG rendering is not checked")
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(pdf), str(tmp_path / "page")], check=True)
    png = (tmp_path / "page.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    if shutil.which("pdftotext"):
        extracted = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
        assert "Alfa SAS" in extracted and "US$ 0,04650000" in extracted


def test_one_company_and_bad_arguments(clean_db, tmp_path, capsys) -> None:
    _seed()
    assert cli_main(["statement", "--month", "2026-11", "--company", B, "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("estado")) == [
        "estado_900000002_2026-11.csv", "estado_900000002_2026-11.pdf",
    ]  # fmt: skip
    assert "Aún no conciliado" in capsys.readouterr().out
    assert cli_main(["statement", "--month", "2026-13", "--out", str(tmp_path)]) == 2
    assert cli_main(["statement", "--month", "2026-11", "--cop-per-usd", "cuatro mil", "--out", str(tmp_path)]) == 2
    assert cli_main(["statement", "--month", "2026-11", "--company", "123", "--out", str(tmp_path)]) == 2
