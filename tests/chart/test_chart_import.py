"""A company's own chart: imported from its program's export (CSV and .xlsx), validated under the PUC all or
nothing with one line per bad row, re-imports that show what changed, the map of generic sub-accounts, and
the CLI — against the real PostgreSQL."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from quincena.chart import store
from quincena.chart.reading import ChartError, read_chart
from quincena.core import companies, db
from quincena.core.companies import Company
from quincena.devtools.sample import charts

NIT = "900100200"


@pytest.fixture
def company(clean_db) -> str:
    companies.upsert([Company(NIT, 1, "Ferretería El Tornillo S.A.S.")])
    return NIT


def _csv(path: Path, rows: list[tuple], header=("código", "nombre", "cuenta padre", "activa", "acepta movimientos")):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


GOOD = [
    ("5", "Gastos", "", "sí", "no"),
    ("51", "Operacionales de administración", "5", "sí", "no"),
    ("5135", "Servicios", "51", "sí", "no"),
    ("513530", "Energía eléctrica", "5135", "sí", "no"),
    ("51353001", "Energía sede norte", "513530", "sí", "sí"),
    ("51353002", "Energía planta", "513530", "sí", "sí"),
    ("513535", "Teléfono", "5135", "sí", "sí"),
    ("11", "Disponible", "1", "sí", "no"),
    ("1105", "Caja", "11", "sí", "no"),
    ("110505", "Caja general", "1105", "sí", "sí"),
]


def test_a_good_file_is_kept_with_its_postable_purchase_accounts(company, tmp_path) -> None:
    result = store.import_chart(company, _csv(tmp_path / "plan.csv", GOOD), "ana", "worldoffice")
    assert (result.accounts, result.recorded, len(result.added)) == (10, True, 10)
    chart = store.load(company)
    assert chart.accounts["51353001"]["parent"] == "513530" and chart.accounts["513530"]["movements"] is False
    # Postable and under a purchase sub-account: the two auxiliaries and 513535 itself; never the cash account.
    assert sorted(chart.targets()) == ["51353001", "51353002", "513535"]
    assert chart.targets()["51353002"].puc_code == "513530"
    assert store.last_import(company)["imported_by"] == "ana"


def test_every_bad_row_is_named_and_nothing_is_imported(company, tmp_path) -> None:
    store.import_chart(company, _csv(tmp_path / "plan.csv", GOOD), "ana", "worldoffice")
    bad = [
        *GOOD,
        ("51-35-30-99", "Código con guiones", "513530", "sí", "sí"),  # not digits
        ("5135301", "Siete dígitos", "513530", "sí", "sí"),  # not a PUC length
        ("51353003", "", "513530", "sí", "sí"),  # no name
        ("51353001", "Energía repetida", "513530", "sí", "sí"),  # twice
        ("51404001", "Sin padre", "514040", "sí", "sí"),  # parent neither in the file nor in the PUC
        ("51353004", "Padre equivocado", "513535", "sí", "sí"),  # declared parent disagrees with the code
        ("51353005", "Quizás", "513530", "tal vez", "sí"),  # neither yes nor no
        ("5135", "Servicios otra vez", "51", "sí", "sí"),  # also twice
        ("77", "Grupo inventado", "7", "sí", "no"),  # not a PUC group
    ]
    with pytest.raises(ChartError) as caught:
        store.import_chart(company, _csv(tmp_path / "malo.csv", bad), "ana", "worldoffice")
    lines = str(caught.value).splitlines()
    expected = [
        "row 12: code '51-35-30-99' is not made of digits",
        "row 13: code 5135301 has 7 digits",
        "row 14: account 51353003 has no name",
        "row 15: account 51353001 appears twice (first on row 6)",
        "row 16: the parent 514040 of 51404001 is neither in the file nor in the PUC",
        "row 17: account 51353004 declares parent 513535, but its code sits under 513530",
        "row 18: account 51353005: activa 'tal vez' is neither yes nor no",
        "row 19: account 5135 appears twice (first on row 4)",
        "row 20: 77 is not a class or group of the PUC",
    ]
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), (line, start)
    assert len(store.load(company).accounts) == 10  # the chart on file is untouched
    with pytest.raises(ChartError, match="accepts movements but has sub-accounts"):
        store.import_chart(company, _csv(tmp_path / "hoja.csv", [*GOOD[:3], ("513530", "Energía", "5135", "sí", "sí"),
                                                                   GOOD[4]]), "ana", "worldoffice")  # fmt: skip


def test_a_reimport_shows_what_changed_and_the_same_file_changes_nothing(company, tmp_path) -> None:
    path = _csv(tmp_path / "plan.csv", GOOD)
    store.import_chart(company, path, "ana", "worldoffice")
    assert store.import_chart(company, path, "luis", "worldoffice").recorded is False
    assert db.query_text("SELECT count(*) AS n FROM chart_imports")[0]["n"] == 1
    changed = [r for r in GOOD if r[0] != "51353002"]  # removed
    changed = [("513535", "Teléfono e internet", "5135", "no", "sí") if r[0] == "513535" else r for r in changed]
    changed.append(("51353003", "Energía bodega", "513530", "sí", "sí"))
    result = store.import_chart(company, _csv(tmp_path / "plan2.csv", changed), "luis", "worldoffice")
    assert (result.added, result.removed, result.changed) == (["51353003"], ["51353002"], ["513535"])
    assert sorted(store.targets(company)) == ["51353001", "51353003"]  # 513535 is now inactive
    last = db.query_text("SELECT added, removed, changed, changes, imported_by FROM chart_imports ORDER BY id DESC")[0]
    assert (last["added"], last["removed"], last["changed"], last["imported_by"]) == (1, 1, 1, "luis")
    assert {"code": "51353002", "change": "removed"} in last["changes"]


def test_the_siigo_export_reads_as_csv_and_as_xlsx(company, tmp_path) -> None:
    from openpyxl import Workbook

    path = charts.write_chart(tmp_path / "siigo.csv")
    program, accounts = read_chart(path)
    assert program.program == "siigo" and len(accounts) == len(charts.chart_rows())
    book = Workbook()
    sheet = book.active
    sheet.append(charts.HEADER)
    for row in charts.chart_rows():
        sheet.append([int(row[0]), *row[1:]])  # codes typed as numbers, as Excel keeps them
    book.save(tmp_path / "siigo.xlsx")
    result = store.import_chart(company, tmp_path / "siigo.xlsx", "ana")
    assert result.program == "siigo" and result.accounts == len(accounts)
    targets = store.targets(company)
    assert charts.INACTIVE not in targets and "51353001" in targets and "513530" not in targets
    assert all(t.puc_code == code[:6] for code, t in targets.items())


def test_the_map_is_validated_and_applied_to_export_codes(company, tmp_path) -> None:
    store.import_chart(company, charts.write_chart(tmp_path / "siigo.csv"), "ana")
    bad = _csv(tmp_path / "mapa.csv", [("513530", "51353009"), ("999999", "99999901"), ("513535", "51353001")],
               header=("puc_code", "company_code"))  # fmt: skip
    with pytest.raises(ChartError) as caught:
        store.import_map(company, bad)
    assert str(caught.value).splitlines() == [
        "row 2: 51353009 is not an active account of the company's chart that accepts movements",
        "row 3: '999999' is not a sub-account of the catalog",
        "row 4: '51353001' is not an auxiliary under 513535",
    ]
    good = _csv(tmp_path / "mapa.csv", [("513530", "51353002")], header=("puc_code", "company_code"))
    assert store.import_map(company, good) == store.MapResult(1, ["513530 -> 51353002"], [], [])
    chart = store.load(company)
    assert chart.export_code("513530") == "51353002"  # the map
    assert chart.export_code("51353001") == "51353001"  # the company's own account
    assert chart.export_code("240810") == "24081001"  # its one auxiliary
    assert chart.export_code("513535") is None  # two auxiliaries and no map: the export refuses it
    assert chart.export_code(charts.INACTIVE) is None
    with pytest.raises(ChartError, match="company 800999999 is not in the registry"):
        store.import_map("800999999", good)
    again = _csv(tmp_path / "mapa.csv", [("513530", "51353001"), ("513535", "51353501")],
                 header=("puc_code", "company_code"))  # fmt: skip
    changes = store.import_map(company, again)
    assert changes == store.MapResult(2, ["513535 -> 51353501"], [], ["513530 -> 51353001 (was 51353002)"])
    assert store.import_map(company, again) == store.MapResult(2, [], [], [])  # the same map: nothing changes


def test_the_cli_imports_shows_and_refuses_in_one_line_per_row(company, tmp_path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "quincena.cli", "chart", *args], capture_output=True, text=True)

    path = charts.write_chart(tmp_path / "siigo.csv")
    hostile = '=HYPERLINK("http://x.test";"Energía planta")'  # a name from the company's file
    rows = [(c, hostile if c == "51353002" else n, *rest) for c, n, *rest in charts.chart_rows()]
    _csv(path, rows, header=charts.HEADER)
    done = cli("import", "--company", company, str(path))
    assert done.returncode == 0, done.stderr
    assert f"{len(charts.chart_rows())} accounts imported" in done.stdout and "added" in done.stdout
    assert "nothing changed" in cli("import", "--company", company, str(path)).stdout
    shown = cli("show", "--company", company)
    assert shown.returncode == 0 and shown.stdout.startswith("code,name,parent,active,movements\n")
    assert "51353001,Servicios: energía eléctrica — administración,513530,true,true" in shown.stdout
    assert '\n51353002,"\'=HYPERLINK(""http://x.test"";' in shown.stdout  # shown as text, never a formula
    assert store.load(company).accounts["51353002"]["name"] == hostile
    # What `show` prints imports back unchanged (the generic program).
    (tmp_path / "again.csv").write_text(shown.stdout, encoding="utf-8")
    assert "nothing changed" in cli("import", "--company", company, str(tmp_path / "again.csv")).stdout
    refused = cli("import", "--company", company, str(_csv(tmp_path / "x.csv", [("51x", "Mala", "", "", "")])))
    assert refused.returncode == 2 and "row 2: code '51x' is not made of digits" in refused.stderr
    unknown = cli("import", "--company", "800999999", str(path))
    assert unknown.returncode == 2 and "not in the registry" in unknown.stderr
    mapped = _csv(tmp_path / "mapa.csv", [("513530", "51353002")], header=("puc_code", "company_code"))
    first = cli("map", "--company", company, str(mapped))
    assert first.returncode == 0 and "added (1): 513530 -> 51353002" in first.stdout, first.stderr
    assert "nothing changed" in cli("map", "--company", company, str(mapped)).stdout


def _lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_each_program_is_recognised_by_its_columns_under_its_title_rows(company, tmp_path) -> None:
    tree = ["5;Gastos", "51;Operacionales de administración", "5135;Servicios", "513530;Energía eléctrica"]
    title = ["Plan de cuentas;;;", "Ferretería El Tornillo S.A.S.;;;", ";;;"]  # what the programs write above
    world_office = _lines(tmp_path / "wo.csv", [*title, "Código;Nombre;Activa;Acepta movimientos",
                                                *(f"{r};Verdadero;Falso" for r in tree),
                                                "51353001;Energía sede norte;Verdadero;Verdadero",
                                                "51353002;Energía planta;Verdadero;Falso"])  # fmt: skip
    program, accounts = read_chart(world_office)
    assert program.program == "worldoffice"  # not Helisa, whose columns also include Código and Nombre
    assert {a.code: a.movements for a in accounts if len(a.code) == 8} == {"51353001": True, "51353002": False}
    siigo = _lines(tmp_path / "siigo.csv", ["Código;Nombre;Estado;Transaccional", *(f"{r};Activo;No" for r in tree),
                                            "51353001;Energía sede norte;Activo;Sí"])  # fmt: skip
    assert read_chart(siigo)[0].program == "siigo"
    # A repeated header keeps its first column (a second, empty «Nombre» does not erase the names).
    twice = _lines(tmp_path / "twice.csv", ["Código;Nombre;Nombre;Activa", *(f"{r};;Sí" for r in tree),
                                            "51353001;Energía sede norte;;Sí"])  # fmt: skip
    assert [a.name for a in read_chart(twice)[1]][-1] == "Energía sede norte"
    wide = _lines(tmp_path / "wide.csv", ["Código;Nombre", *tree, "５１３５３００１;Energía"])
    with pytest.raises(ChartError, match="row 6: code '５１３５３００１' is not made of digits"):
        read_chart(wide)


def test_an_xlsx_row_of_spaces_is_skipped_and_a_chart_without_purchase_accounts_is_refused(company, tmp_path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Código", "Nombre", "Activa", "Acepta movimientos"])
    for row in GOOD:
        sheet.append([int(row[0]), row[1], row[3], row[4]])
        sheet.append(["  ", " ", None, ""])
    book.save(tmp_path / "plan.xlsx")
    assert store.import_chart(company, tmp_path / "plan.xlsx", "ana").accounts == len(GOOD)
    cash_only = [r for r in GOOD if r[0].startswith("1")]
    with pytest.raises(ChartError, match="no account of the file may take a purchase line"):
        store.import_chart(company, _csv(tmp_path / "caja.csv", cash_only), "ana", "worldoffice")
    assert len(store.load(company).accounts) == len(GOOD)
