"""`quincena causacion`, `quincena tax rules` and `quincena suppliers import` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from quincena.cli import main as cli_main
from quincena.core import companies, db
from quincena.core.companies import Company
from tests.fixtures import dian_docs as d


def test_tax_rules_prints_each_period_of_the_year(capsys) -> None:
    assert cli_main(["tax", "rules", "--year", "2025"]) == 0
    shown = json.loads(capsys.readouterr().out)
    starts = [p["in_force_on"] for p in shown["periods"]]
    assert starts == ["2025-01-01", "2025-06-01"]  # Decreto 0572
    assert [p["retefuente"]["concepts"]["compras"]["base_uvt"] for p in shown["periods"]] == ["27", "10"]
    assert cli_main(["tax", "rules", "--year", "1999"]) == 2
    assert "no withholding rules for 1999" in capsys.readouterr().err


def test_causacion_prints_the_entry_and_rejects_bad_files(clean_db: str, tmp_path: Path, capsys) -> None:
    companies.upsert([Company(d.COMPANY_NIT, int(d.COMPANY_DV), "Ferretería", gran_contribuyente=True)])
    path = tmp_path / "fe.xml"
    path.write_text(d.invoice_xml(), encoding="utf-8")
    assert cli_main(["causacion", str(path), "--company", d.COMPANY_NIT, "--account", "1=511025"]) == 0
    entry = json.loads(capsys.readouterr().out)
    lines = {ln["account"]: ln for ln in entry["lines"]}
    # honorarios 1,234,567.89 × 11 % = 135,802; ReteIVA 15 % × 234,567.90 = 35,185 (line 2 on 519595:
    # servicios 185,000 ≥ 104,748 → ReteFuente 4 % = 7,400 and ReteIVA 15 % × 35,150 = 5,272.50 → 5,273)
    assert lines["236515"]["credit"] == "135802" and lines["236515"]["rate"] == "0.11"
    assert lines["236525"]["credit"] == "7400" and lines["236525"]["base"] == "185000.00"
    reteiva = [ln for ln in entry["lines"] if ln["tax"] == "reteiva"]
    assert sorted(ln["credit"] for ln in reteiva) == ["35185", "5273"]
    assert entry["totals"]["balanced"] and entry["problem"] is None
    assert "calculada" in entry["review"]  # the XML states other ReteIVA figures
    assert any("line 2: no --account given" in n for n in entry["notes"])

    bad = tmp_path / "bad.xml"
    bad.write_text("<Invoice>", encoding="utf-8")
    assert cli_main(["causacion", str(bad), "--company", d.COMPANY_NIT]) == 2
    err = capsys.readouterr().err.strip()
    assert "rejected (malformed_xml)" in err and len(err.splitlines()) == 1
    assert cli_main(["causacion", str(path), "--company", d.COMPANY_NIT, "--account", "1=240810"]) == 2
    assert "not a purchase sub-account" in capsys.readouterr().err


def test_suppliers_import_sets_declarante_and_the_entry_follows(clean_db: str, tmp_path: Path, capsys) -> None:
    companies.upsert([Company(d.COMPANY_NIT, int(d.COMPANY_DV), "Ferretería")])
    overrides = tmp_path / "suppliers.csv"
    overrides.write_text(f"nit,declarante\n{d.SUPPLIER_NIT}-{d.SUPPLIER_DV},false\n", encoding="utf-8")
    assert cli_main(["suppliers", "import", str(overrides)]) == 0
    row = db.query("tax_supplier_get", {"nit": d.SUPPLIER_NIT})[0]
    assert (row["declarante"], row["declarante_source"]) == (False, "import")
    bad = tmp_path / "bad.csv"
    bad.write_text("nit,declarante\n860034313-7,quizas\n", encoding="utf-8")
    assert cli_main(["suppliers", "import", str(bad)]) == 2
    assert "line 2: declarante must be true/false" in capsys.readouterr().err
    # the override reaches the entry: line 2 (servicios 185,000) at the no-declarante 6 % = 11,100
    invoice = tmp_path / "fe.xml"
    invoice.write_text(d.invoice_xml(), encoding="utf-8")
    assert cli_main(["causacion", str(invoice), "--company", d.COMPANY_NIT, "--account", "1=511025"]) == 0
    lines = {ln["account"]: ln for ln in json.loads(capsys.readouterr().out)["lines"]}
    assert (lines["236525"]["credit"], lines["236525"]["rate"]) == ("11100", "0.06")
