"""CSV files as the firm's spreadsheets save them: one reader for every import (companies, suppliers…).

UTF-8 (with or without BOM) or Excel's Windows-1252, ',' or Excel-in-Spanish ';', headers in any case.
Anything else is refused in one line naming the file and the line: NUL bytes (an .xlsx renamed),
an unclosed quote, an encoding we cannot read, a missing column, a NIT twice.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
TRUE = frozenset({"1", "true", "yes", "si", "sí", "y", "t"})
FALSE = frozenset({"0", "false", "no", "n", "f"})


class SpreadsheetError(ValueError):
    """The file cannot be imported; the message names the file or the line."""


def flag(text: str | None, column: str, line: int, default: bool | None = None) -> bool:
    """A yes/no cell (true/false, sí/no, 1/0); empty means ``default`` when there is one."""
    value = (text or "").strip().lower()
    if not value and default is not None:
        return default
    if value not in TRUE | FALSE:
        raise SpreadsheetError(f"line {line}: {column} must be true/false, got {value[:20]!r}")
    return value in TRUE


def read_rows(
    path: Path, required: Iterable[str], parse: Callable[[dict[str, str], int], T], error: type[ValueError]
) -> list[T]:
    """Every data row parsed by ``parse(row, line)``, validated whole before anything is written.

    ``error`` is the caller's exception type (a subclass of ValueError): every refusal is raised as it,
    including a SpreadsheetError raised inside ``parse``.
    """
    try:
        text = _text(path)
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
        try:
            reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or ()]
            missing = set(required) - set(reader.fieldnames)
            if missing:
                raise SpreadsheetError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            return [parse(row, reader.line_num) for row in reader]
        except csv.Error as exc:
            raise SpreadsheetError(f"{path}: line {reader.line_num}: not a readable CSV ({exc})") from None
    except SpreadsheetError as exc:
        raise error(str(exc)) from None


def refuse_repeated(values: Iterable[str], path: Path, what: str, error: type[ValueError]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise error(f"{path}: {what} {value} appears twice")
        seen.add(value)


def read_text(path: Path, error: type[ValueError]) -> str:
    """The file's text (UTF-8 or Windows-1252); ``error`` is raised, naming the line, when it is neither."""
    try:
        return _text(path)
    except SpreadsheetError as exc:
        raise error(str(exc)) from None


def delimiter_of(text: str) -> str:
    return _delimiter(text)


def _text(path: Path) -> str:
    data = path.read_bytes()
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        raise SpreadsheetError(f"{path}: line {line}: holds a NUL byte; is it a spreadsheet (.xlsx) instead of a CSV?")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SpreadsheetError(
            f"{path}: line {line}: neither UTF-8 nor Windows-1252 text; save it as CSV UTF-8"
        ) from None


def _delimiter(text: str) -> str:
    """Excel in Spanish separates with ';' (the comma is the decimal mark): follow the header."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","
