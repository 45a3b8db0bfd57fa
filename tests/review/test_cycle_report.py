"""The cycle report lists the review worklist and the quarantined files with their reasons."""

from __future__ import annotations

import csv

from quincena.core import db
from quincena.costs import cycle_costs
from quincena.ingest import rejections
from quincena.review import actions, worklist
from tests.helpers import HOSTILE, assert_no_formula
from tests.review.conftest import CYCLE_1


def test_the_report_lists_the_worklist_and_the_quarantine(first_cycle, tmp_path) -> None:
    nit = first_cycle["company_nit"]
    in_review = worklist.invoices(nit, CYCLE_1)
    report = cycle_costs.aggregate_cycle(CYCLE_1, [nit], tmp_path)
    html = report.html_path.read_text(encoding="utf-8")
    assert f"Facturas por revisar ({len(in_review)})" in html and len(in_review) > 0
    for invoice in in_review:
        assert invoice["number"] in html
    # The reasons are there, in Spanish, with the line's number (not the model's item id).
    assert "línea 1: confianza del modelo 35% (mínimo 60%) para la cuenta" in html
    quarantined = worklist.quarantined(nit, CYCLE_1)
    assert f"Archivos en cuarentena ({len(quarantined)})" in html and quarantined
    assert all(f["reason"].replace("<", "&lt;").replace(">", "&gt;") in html for f in quarantined)
    assert all(rejections.rejection_es(f["reason_code"]) in html for f in quarantined)
    assert set(rejections.REJECTION_ES) == rejections.REJECTION_CODES  # every code an accountant can meet

    first = in_review[0]  # its lines without a proposal filled in, then approved
    actions.approve_invoice(nit, CYCLE_1, first["id"], "ana", {ln["line_id"]: "513520" for ln in first["lines"]
                                                               if not ln["account"]})  # fmt: skip
    again = cycle_costs.aggregate_cycle(CYCLE_1, [nit], tmp_path).html_path.read_text(encoding="utf-8")
    assert f"Facturas por revisar ({len(in_review) - 1})" in again  # an approved invoice leaves the worklist


def test_the_cycle_csv_neutralises_formulas(first_cycle, tmp_path) -> None:
    nit = first_cycle["company_nit"]
    db.query_text("UPDATE companies SET name = %s WHERE nit = %s", (HOSTILE, nit))
    report = cycle_costs.aggregate_cycle(CYCLE_1, [nit], tmp_path)
    with report.csv_path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert_no_formula(cell for row in rows for cell in row.values())
    assert "'" + HOSTILE in [row["name"] for row in rows]
