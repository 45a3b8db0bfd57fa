"""`quincena export` through the real CLI, the cycle's export step and the cycle report's exports section."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from quincena.cli import main as cli_main
from quincena.core import config, db
from quincena.costs import cycle_costs
from quincena.pipeline import export as export_step
from tests.books.export_case import CYCLE, NIT, approve
from tests.fixtures import dian_docs as d


def test_cli_refuses_an_unapproved_company_in_one_line(posted: None, tmp_path: Path, capsys) -> None:
    db.query_text("UPDATE invoices SET status = 'review', status_reason = 'checking' WHERE number = 'NC-77'")
    out = tmp_path / "out"
    args = ["export", "--cycle", CYCLE, "--company", NIT, "--format", "siigo", "--out", str(out)]
    assert cli_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"company {NIT} has no approval yet for {CYCLE}" in err and "1 invoice(s) in review" in err
    assert not out.exists()

    approve()
    assert cli_main(args) == 0
    printed = capsys.readouterr().out
    assert "siigo: version 1 written: 1 voucher(s), 7 line(s) in 1 file(s)" in printed
    assert "left out: 1 invoice(s) in review" in printed
    [path] = out.glob("*.xlsx")
    assert str(path) in printed
    assert openpyxl.load_workbook(path).active.max_row == 8  # header + the invoice's 7 lines


def test_cli_rejects_bad_arguments(posted: None, tmp_path: Path, capsys) -> None:
    base = ["export", "--out", str(tmp_path)]
    assert cli_main([*base, "--cycle", "2026-13-Q1", "--format", "csv"]) == 2
    assert "--cycle" in capsys.readouterr().err
    assert cli_main([*base, "--cycle", CYCLE, "--format", "contapyme"]) == 2
    assert "no export template 'contapyme' (known: csv, helisa, siigo, worldoffice)" in capsys.readouterr().err
    assert cli_main([*base, "--cycle", CYCLE, "--format", "csv", "--company", "900373115-4"]) == 2
    assert "--company" in capsys.readouterr().err


def test_cli_without_company_exports_the_approved_and_fails_on_the_others(
    posted: None,
    tmp_path: Path,
    capsys,
) -> None:
    db.query_text("INSERT INTO companies (nit, dv, name) VALUES ('901000009', 1, 'Otra S.A.S.')")
    approve()
    assert cli_main(["export", "--cycle", CYCLE, "--format", "csv", "--out", str(tmp_path / "out")]) == 1
    captured = capsys.readouterr()
    assert f"company {NIT}: csv: version 1 written: 2 voucher(s)" in captured.out
    assert "skipped: company 901000009 has no approval yet" in captured.err
    assert len(list((tmp_path / "out").glob("*.csv"))) == 1


def test_the_cycle_step_exports_every_configured_format_and_the_report_lists_them(
    posted: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = {"company_nit": NIT, "company_name": "Ferretería", "cycle_id": CYCLE}
    skipped = export_step.export_company(target)
    assert skipped["exported"] is False and "has no approval yet" in skipped["reason"]
    assert not config.company_export_dir(CYCLE, NIT).exists()

    approve()
    monkeypatch.setenv("QUINCENA_EXPORT_FORMATS", "siigo, csv")
    done = export_step.export_company(target)
    assert done["exported"] is True and [f["format"] for f in done["formats"]] == ["siigo", "csv"]
    out_dir = config.company_export_dir(CYCLE, NIT)
    assert out_dir == config.reports_dir() / CYCLE / "export" / NIT
    written = sorted(p.name for p in out_dir.iterdir())
    assert written == [f"movimientos_{NIT}_{CYCLE}_v1_1.csv", f"siigo_{NIT}_{CYCLE}_v1_1.xlsx"]
    records = db.query_text("SELECT format, created_by, run_id FROM exports ORDER BY format")
    assert [(r["format"], r["created_by"], r["run_id"]) for r in records] == [
        ("csv", "pipeline", None),
        ("siigo", "pipeline", None),
    ]

    costs = cycle_costs.aggregate_cycle(CYCLE, [NIT])
    html = costs.html_path.read_text(encoding="utf-8")
    assert "Exportaciones (archivos para los programas contables)" in html and f"siigo_{NIT}_{CYCLE}_v1_1.xlsx" in html
    listed = (costs.html_path.parent / "cycle_exports.csv").read_text(encoding="utf-8")
    assert listed.count(NIT) >= 2 and d.SUPPLIER_NIT not in listed
