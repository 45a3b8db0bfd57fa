"""Formula injection: every writer of a file a spreadsheet opens, read back with the csv module or openpyxl."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from quincena.books.export import templates, writers
from quincena.core import cells, companies
from quincena.core.companies import Company
from quincena.costs import reconcile
from quincena.quality import report
from tests.helpers import HOSTILE, assert_no_formula

STARTS = ["=1+1", "+57 300 000", "-2+3", "@SUM(A1)|cmd", "\tTAB", "\rCR"]


def test_one_rule_for_every_writer() -> None:
    for text in STARTS:
        assert cells.safe_cell(text) == "'" + text
    for kept in ("Ferretería", "-1234,56", "+57", "1.234.567,89", "", "'=ya neutralizado"):
        assert cells.safe_cell(kept) == kept
    assert cells.safe_cell(Decimal("-5")) == Decimal("-5") and cells.safe_cell(None) is None


def _csv_cells(text: str, delimiter: str = ",") -> list[str]:
    return [c for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) for c in row]


@pytest.mark.parametrize("fmt", ["siigo", "worldoffice", "helisa", "csv"])
def test_export_files_of_every_format(fmt: str) -> None:
    template = templates.load(fmt)
    values = [*STARTS, HOSTILE, Decimal("-1500.50"), "900373115"]
    data = [[values[i % len(values)] for i in range(len(template.headers))]]
    content = writers.render(template, data)
    if template.file_type == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        row = next(sheet.iter_rows(min_row=2 if template.header else 1))
        for c in row:
            assert c.data_type != "f", c.value  # never a formula…
            if isinstance(c.value, str) and cells.is_formula_like(c.value):
                assert c.quotePrefix  # …and shown as typed, even after the accountant edits the cell
        assert Decimal("-1500.50") in [Decimal(str(c.value)) for c in row if isinstance(c.value, float | int)]
    else:
        read = _csv_cells(content.decode(template.encoding), template.delimiter)
        assert_no_formula(read)
        assert "'" + STARTS[0] in read and "-1500" in "".join(read)  # the text as typed, the amount a number


def test_registry_quality_and_reconciliation_csvs(tmp_path: Path) -> None:
    registry = tmp_path / "companies.csv"
    companies.write_csv([Company("900373115", 3, HOSTILE)], registry)
    assert_no_formula(_csv_cells(registry.read_text(encoding="utf-8")))

    quality = tmp_path / "lines.csv"
    report._write_csv(quality, [{"description": HOSTILE, "gold": "513520", "delta": Decimal("-1")}])
    read = _csv_cells(quality.read_text(encoding="utf-8"))
    assert_no_formula(read)
    assert "-1" in read  # a number stays a number

    result = reconcile.Reconciliation("export.csv", (date(2026, 11, 1), date(2026, 11, 30)), Decimal("0.01"), "USD",
                                      [{"utc_date": "2026-11-02", "key_name": HOSTILE, "diff": Decimal("-0.5")}],
                                      [], [])  # fmt: skip
    read = _csv_cells(reconcile.write_csv(result, tmp_path / "r.csv").read_text(encoding="utf-8"))
    assert_no_formula(read)
    assert "-0.5" in read
