"""The foundation: migrations, PUC catalog, company registry, NIT check digits."""

from decimal import Decimal
from pathlib import Path

import pytest

from quincena.cli import main as cli_main
from quincena.core import companies, db, puc
from quincena.core.nit import InvalidNit, check_digit, parse_nit


@pytest.mark.parametrize(
    ("nit", "dv"),
    [("860034313", 7), ("800197268", 4), ("890900608", 9), ("899999068", 1)],  # Davivienda, DIAN, Éxito, Ecopetrol,
)
def test_check_digit_matches_dian(nit: str, dv: int) -> None:
    assert check_digit(nit) == dv


def test_parse_nit_normalizes_and_verifies() -> None:
    assert parse_nit("900.373.115-3") == ("900373115", 3)
    assert parse_nit("900373115", dv="3") == ("900373115", 3)
    assert parse_nit("900373115") == ("900373115", 3)
    with pytest.raises(InvalidNit, match="check digit 2 is wrong"):
        parse_nit("900373115-2")
    with pytest.raises(InvalidNit):
        parse_nit("ABC")


def test_migrations_are_recorded_once(database_uri: str) -> None:
    assert db.migrate() == []  # already applied by the fixture
    versions = [r["version"] for r in db.query_text("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions[0] == "001_init"


def test_catalog_loaded_with_hierarchy(database_uri: str) -> None:
    rows = {r["code"]: r for r in db.query_text("SELECT * FROM puc_accounts")}
    assert len(rows) == len(puc.catalog())
    assert rows["513530"]["parent"] == "5135" and rows["5135"]["parent"] == "51"
    targets = puc.purchase_accounts()
    assert "513530" in targets and "240810" not in targets  # IVA is the entry's other side
    assert all(len(code) == 6 for code in targets)


def test_companies_import_is_idempotent(clean_db: str, tmp_path: Path) -> None:
    path = tmp_path / "companies.csv"
    path.write_text(
        "nit,name,active,monthly_budget_usd\n"
        "900.373.115-3,Ferretería El Tornillo SAS,true,12.50\n"
        "860034313,Dulces del Valle Ltda,false,\n",
        encoding="utf-8",
    )
    assert cli_main(["companies", "import", str(path)]) == 0
    assert cli_main(["companies", "import", str(path)]) == 0
    rows = db.query_text("SELECT nit, dv, active, monthly_budget_usd FROM companies ORDER BY nit")
    assert rows == [
        {"nit": "860034313", "dv": 7, "active": False, "monthly_budget_usd": None},
        {"nit": "900373115", "dv": 3, "active": True, "monthly_budget_usd": Decimal("12.50")},
    ]
    assert companies.active_nits() == ["900373115"]


def test_companies_import_rejects_bad_check_digit(clean_db: str, tmp_path: Path, capsys) -> None:
    path = tmp_path / "companies.csv"
    path.write_text("nit,name\n900373115-3,Good\n860034313-1,Bad\n", encoding="utf-8")
    assert cli_main(["companies", "import", str(path)]) == 2
    assert "line 3" in capsys.readouterr().err
    assert db.query_text("SELECT count(*) AS n FROM companies")[0]["n"] == 0  # nothing half-imported
