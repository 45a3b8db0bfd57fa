"""`quincena review export|import` on a real first quincena: Excel-friendly CSV, all-or-nothing import
with errors by line number, idempotent."""

from __future__ import annotations

import csv
import getpass
from pathlib import Path

from quincena.cli import main
from quincena.core import db
from quincena.review import spreadsheet, worklist
from tests.helpers import HOSTILE, assert_no_formula, count
from tests.review.conftest import CYCLE_1


def _export(nit: str, out: Path) -> list[dict[str, str]]:
    assert main(["review", "export", "--cycle", CYCLE_1, "--company", nit, "--out", str(out)]) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    with out.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def _write(rows: list[dict[str, str]], out: Path) -> Path:
    with out.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=spreadsheet.COLUMNS, delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    return out


def test_export_fill_import_is_all_or_nothing_and_idempotent(first_cycle, tmp_path, capsys) -> None:
    nit = first_cycle["company_nit"]
    rows = _export(nit, tmp_path / "revision.csv")
    in_review = count("SELECT count(*) AS n FROM invoices WHERE status = 'review' AND cycle_id = %s", (CYCLE_1,))
    assert len({r["factura_id"] for r in rows}) == in_review > 0
    assert all(r["motivo_revision"] for r in rows) and "," in rows[0]["total_factura"]  # decimal comma
    for row in rows:
        row["cuenta"] = row["cuenta_propuesta"] or "513520 — Reparaciones locativas"
        row["aprobar"] = "sí"

    bad = [dict(r) for r in rows]
    bad[1]["cuenta"] = "1105"  # not a purchase sub-account: file line 3
    bad[2]["factura_id"] = "999999"  # not an invoice of this company and cycle: file line 4
    assert main(["review", "import", str(_write(bad, tmp_path / "mala.csv"))]) == 2
    err = capsys.readouterr().err
    assert "línea 3:" in err and "1105" in err and "línea 4:" in err and "999999" in err
    assert count("SELECT count(*) AS n FROM classification_history") == 0  # nothing written

    good = _write(rows, tmp_path / "buena.csv")
    assert main(["review", "import", str(good)]) == 0
    assert count("SELECT count(*) AS n FROM invoices WHERE status = 'review' AND cycle_id = %s", (CYCLE_1,)) == 0
    audited = count("SELECT count(*) AS n FROM classification_history")
    assert audited >= len(rows)
    # The audit names the person: the OS user who ran the import (or --as NAME), never a default.
    assert db.query_text("SELECT DISTINCT changed_by FROM classification_history") == [
        {"changed_by": getpass.getuser()}
    ]
    capsys.readouterr()

    assert main(["review", "import", str(good), "--as", "luisa"]) == 0  # the same file again changes nothing
    assert "0 lines changed, " in capsys.readouterr().out
    assert count("SELECT count(*) AS n FROM classification_history") == audited


def test_the_export_neutralises_formulas_and_still_imports(first_cycle, tmp_path) -> None:
    nit = first_cycle["company_nit"]
    invoice = worklist.invoices(nit, CYCLE_1)[0]
    db.query_text("UPDATE invoices SET supplier_name = %s, number = %s WHERE id = %s",
                  (HOSTILE, "-2+3", invoice["id"]))  # fmt: skip
    db.query_text("UPDATE invoice_lines SET description = %s WHERE invoice_id = %s", ("@SUM(A1)|cmd", invoice["id"]))
    out = tmp_path / "revision.csv"
    spreadsheet.export_csv(CYCLE_1, out, nit)
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert_no_formula(cell for row in rows for cell in row.values())
    mine = [r for r in rows if r["factura_id"] == str(invoice["id"])]
    assert mine[0]["proveedor"] == "'" + HOSTILE and mine[0]["numero"] == "'-2+3"
    assert mine[0]["descripcion"] == "'@SUM(A1)|cmd" and "," in mine[0]["total_factura"]  # amounts untouched
    for row in mine:
        row["cuenta"] = "513520"
    _write(mine, tmp_path / "llena.csv")
    assert spreadsheet.import_csv(tmp_path / "llena.csv", "ana").changed_lines == len(mine)


def test_a_company_with_its_own_chart_is_filled_in_its_codes(first_cycle, tmp_path, capsys) -> None:
    from quincena.chart import store
    from quincena.devtools.sample import charts

    nit = first_cycle["company_nit"]
    store.import_chart(nit, charts.write_chart(tmp_path / "siigo.csv"), "ana")
    rows = _export(nit, tmp_path / "revision.csv")
    for row in rows:
        row["cuenta"], row["aprobar"] = "51952502 — Elementos de aseo y cafetería — operación", "sí"
    generic = [dict(r) for r in rows]
    generic[0]["cuenta"] = "519525"  # the catalog's sub-account: this company posts to its auxiliaries
    assert main(["review", "import", str(_write(generic, tmp_path / "generica.csv"))]) == 2
    err = capsys.readouterr().err
    assert "línea 2: la cuenta 519525 no es una cuenta de compras activa del plan de cuentas de la empresa" in err
    assert main(["review", "import", str(_write(rows, tmp_path / "buena.csv"))]) == 0
    accounts = db.query_text(
        "SELECT DISTINCT c.account_code FROM classifications c JOIN invoices i ON i.id = c.invoice_id "
        "WHERE i.id = ANY(%s) AND c.source = 'accountant'",
        ([int(r["factura_id"]) for r in rows],),
    )
    assert accounts == [{"account_code": "51952502"}]
