"""The buyer's tax profile in the companies registry: optional columns, validated, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from quincena.cli import main as cli_main
from quincena.core import companies, db


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "companies.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_old_files_keep_working_with_the_default_profile(tmp_path: Path) -> None:
    [company] = companies.read_csv(_csv(tmp_path, "nit,name\n900373115-3,Ferretería\n"))
    assert (company.withholding_agent, company.gran_contribuyente, company.reteiva_agent) == (True, False, False)
    assert (company.autorretenedor, company.iva_deductible, company.regimen, company.ica_city) == (
        False,
        True,
        "ordinario",
        None,
    )


def test_profile_columns_are_read(tmp_path: Path) -> None:
    text = (
        "nit,name,withholding_agent,gran_contribuyente,reteiva_agent,autorretenedor,regimen,ica_city,iva_deductible\n"
        "900373115-3,Ferretería,true,si,no,yes,ORDINARIO,11001,false\n"
        "860034313-7,Dulces,false,,,,simple,,\n"
    )
    first, second = companies.read_csv(_csv(tmp_path, text))
    assert (first.gran_contribuyente, first.autorretenedor, first.ica_city, first.iva_deductible) == (
        True,
        True,
        "11001",
        False,
    )
    assert (second.withholding_agent, second.regimen, second.iva_deductible) == (False, "simple", True)


@pytest.mark.parametrize(
    ("header", "cell", "message"),
    [
        ("regimen", "comun", "line 2: regimen must be ordinario or simple, got 'comun'"),
        ("ica_city", "Bogota", "line 2: ica_city must be a 5-digit DIVIPOLA code"),
        ("gran_contribuyente", "maybe", "line 2: gran_contribuyente must be true/false, got 'maybe'"),
    ],
)
def test_bad_profile_cells_are_one_line_errors(tmp_path: Path, header: str, cell: str, message: str) -> None:
    with pytest.raises(companies.CompanyFileError, match=message):
        companies.read_csv(_csv(tmp_path, f"nit,name,{header}\n900373115-3,Ferretería,{cell}\n"))


def test_profile_is_stored_and_round_trips(clean_db: str, tmp_path: Path) -> None:
    path = _csv(tmp_path, "nit,name,gran_contribuyente,ica_city,iva_deductible\n900373115-3,Ferretería,true,11001,no\n")
    assert cli_main(["companies", "import", str(path)]) == 0
    row = db.query("tax_company_profile", {"nit": "900373115"})[0]
    assert (row["gran_contribuyente"], row["ica_city"], row["iva_deductible"], row["regimen"]) == (
        True,
        "11001",
        False,
        "ordinario",
    )
    again = tmp_path / "again.csv"
    companies.write_csv(companies.read_csv(path), again)
    assert companies.read_csv(again) == companies.read_csv(path)
