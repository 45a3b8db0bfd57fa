"""File writers: CSV with the template's encoding and delimiter, .xlsx through openpyxl."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from quincena.books.export.templates import Template
from quincena.books.export.vouchers import Cell, number_text
from quincena.core.cells import mark_xlsx_text, safe_cell


def render(template: Template, data: list[list[Cell]]) -> bytes:
    """The bytes of one file: the header row (when the template has one) and ``data``."""
    if template.file_type == "xlsx":
        return _xlsx(template, data)
    return _csv(template, data)


def _csv_text(value: Cell, template: Template) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return number_text(value, template)
    return safe_cell(str(value))


def _csv(template: Template, data: list[list[Cell]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=template.delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    if template.header:
        writer.writerow(template.headers)
    for row in data:
        writer.writerow([_csv_text(value, template) for value in row])
    # A character the encoding lacks (cp1252 has no emoji) becomes '?' rather than failing the export.
    return buffer.getvalue().encode(template.encoding, errors="replace")


def _xlsx(template: Template, data: list[list[Cell]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = template.sheet_name
    if template.header:
        sheet.append(template.headers)
    number_format = "0" if template.decimals == 0 else "0." + "0" * template.decimals
    for row in data:
        sheet.append(row)
        for value, target in zip(row, sheet[sheet.max_row], strict=True):
            if isinstance(value, Decimal):
                target.number_format = number_format
            else:  # a NIT or an account stays text, never a number Excel may reformat nor a formula
                mark_xlsx_text(target, value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
