"""Text that a spreadsheet opens: neutralise formulas (CSV / formula injection) in every file we write.

A cell whose text begins with ``=``, ``+``, ``-``, ``@``, TAB or CR is run as a formula by Excel and
LibreOffice (``=HYPERLINK(...)``, ``-2+3``, DDE ``@SUM(...)|cmd``): a supplier name or an invoice
description from an XML the firm did not write must never become one. CSV cells get a leading ``'``
(the spreadsheet shows the text as typed); xlsx cells stay strings with ``quotePrefix`` set. Plain
numbers ("-1234,56", "+57") are left alone: amounts stay numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d[\d.,]*\Z")
T = TypeVar("T")


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(text)


def safe_cell(value: T) -> T | str:
    """``value`` as a CSV cell that no spreadsheet runs: formula-like text prefixed with ``'``; any
    other value (numbers, dates, None, ordinary text) unchanged."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def unquoted(text: str) -> str:
    """A cell read back from a file we wrote: the ``'`` that ``safe_cell`` put before formula-like text
    dropped, so the file imports as the original text."""
    return text[1:] if text.startswith("'") and is_formula_like(text[1:]) else text


def safe_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A csv.DictWriter row with every cell through ``safe_cell``."""
    return {key: safe_cell(value) for key, value in row.items()}


def safe_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [safe_row(row) for row in rows]


def safe_list(row: Iterable[Any]) -> list[Any]:
    """A csv.writer row with every cell through ``safe_cell``."""
    return [safe_cell(value) for value in row]


def mark_xlsx_text(cell: Any, value: Any) -> None:
    """An openpyxl cell holding ``value``: formula-like text stays a string shown as typed (``quotePrefix``,
    as Excel marks a cell typed with a leading '), never a formula."""
    if isinstance(value, str):
        cell.data_type = "s"
        if is_formula_like(value):
            cell.quotePrefix = True
