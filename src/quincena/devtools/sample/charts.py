"""A company's own chart of accounts as Siigo exports it, for the demo, the tests and the benchmarks.

Built from the shipped catalog: the classes, groups and accounts; each purchase sub-account with two
auxiliaries (administración, operación; 51353001 / 51353002 under 513530) so that a line has a choice
to make; every other sub-account the entries use (payables, withholdings, IVA) with one auxiliary, which
the export picks on its own; and one inactive auxiliary that no line may take.
"""

from __future__ import annotations

import csv
from pathlib import Path

from quincena.core import puc

HEADER = ("Código cuenta contable", "Nombre cuenta contable", "Nivel", "Estado", "Transaccional")
LEVELS = {1: "Clase", 2: "Grupo", 4: "Cuenta", 6: "Subcuenta", 8: "Auxiliar"}
INACTIVE = "51953003"  # Diversos: útiles, papelería… (inactiva)


def chart_rows(site: str = "") -> list[tuple[str, str, str, str, str]]:
    """The chart's rows; ``site`` is added to the auxiliaries' names, so two companies' charts differ."""
    where = f" {site}" if site else ""
    rows = []
    for account in sorted(puc.catalog(), key=lambda a: a.code):
        rows.append((account.code, account.name, LEVELS[len(account.code)], "Activa", "No"))
        if account.level != "subaccount":
            continue
        if account.purchase_target:
            rows.append((account.code + "01", f"{account.name} — administración{where}", "Auxiliar", "Activa", "Sí"))
            rows.append((account.code + "02", f"{account.name} — operación{where}", "Auxiliar", "Activa", "Sí"))
        else:
            rows.append((account.code + "01", account.name, "Auxiliar", "Activa", "Sí"))
    rows.append((INACTIVE, "Útiles y papelería — sede cerrada", "Auxiliar", "Inactiva", "Sí"))
    return sorted(rows)


def write_chart(path: Path, site: str = "") -> Path:
    """The sample chart as a Siigo CSV export (';' and a UTF-8 BOM, as Excel in Spanish saves it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        writer.writerows(chart_rows(site))
    return path
