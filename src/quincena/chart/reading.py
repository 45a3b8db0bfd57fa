"""Read a company's chart of accounts as Siigo, World Office or Helisa export it (CSV or .xlsx) and validate
it under the PUC, whole: every bad row is reported on one line, and nothing is kept unless all are good.

The column names of each program live in include/chart/<program>.json (header aliases and the words it
writes for yes/no). Rules: a code is digits (dots and spaces dropped) of a PUC length (1, 2, 4, 6) or an
auxiliary's (8, 10, 12); it appears once; it has a name; its parent (the code one level up) is in the file
or in the PUC; its class and group are the PUC's; a declared parent agrees with the code; an account that
accepts movements has no sub-accounts in the file.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from quincena.core import cells, config, puc, spreadsheet

LENGTHS = (1, 2, 4, 6, 8, 10, 12)
HEADER_SEARCH_ROWS = 15  # title rows a program writes above the header
_LEVELS = {"clase": 1, "grupo": 2, "cuenta": 4, "subcuenta": 6}


class ChartError(ValueError):
    """The file cannot be imported; one line per problem, each naming the row."""


@dataclass(frozen=True)
class ChartAccount:
    code: str
    name: str
    parent: str | None
    active: bool
    movements: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ProgramTemplate:
    program: str
    title: str
    columns: dict[str, tuple[str, ...]]  # field -> header aliases, normalised
    true: frozenset[str]
    false: frozenset[str]

    def header_of(self, headers: list[str], field: str) -> str | None:
        return next((h for h in headers if h in self.columns.get(field, ())), None)


def normalised(text: Any) -> str:
    """Lower case, no accents, single spaces: how headers and yes/no cells are compared."""
    decomposed = unicodedata.normalize("NFKD", str(text or "").strip().lower())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


def programs() -> list[str]:
    return sorted(p.stem for p in (config.include_dir() / "chart").glob("*.json"))


@functools.cache
def template(program: str) -> ProgramTemplate:
    path = config.include_dir() / "chart" / f"{program}.json"
    if not path.is_file():
        raise ChartError(f"unknown program {program!r}: one of {', '.join(programs())}")
    data = json.loads(path.read_text(encoding="utf-8"))
    return ProgramTemplate(
        program=data["program"],
        title=data["title"],
        columns={k: tuple(normalised(a) for a in v) for k, v in data["columns"].items()},
        true=frozenset(normalised(v) for v in data["true"]),
        false=frozenset(normalised(v) for v in data["false"]),
    )


@functools.cache
def puc_reference() -> dict[str, str]:
    """Codes known to be the PUC's: its classes and groups (include/puc/groups.csv) and the catalog."""
    with (config.include_dir() / "puc" / "groups.csv").open(encoding="utf-8", newline="") as handle:
        known = {row["code"]: row["name"] for row in csv.DictReader(handle)}
    known.update({a.code: a.name for a in puc.catalog()})
    return known


def parent_code(code: str) -> str | None:
    """The code one PUC level up: 5 for 51, 51 for 5135, 513530 for 51353001."""
    shorter = [n for n in LENGTHS if n < len(code)]
    return code[: max(shorter)] if shorter else None


def read_table(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The normalised headers and the data rows (with their row number in the file) of a CSV or .xlsx."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    text = spreadsheet.read_text(path, ChartError)
    reader = csv.reader(text.splitlines(), delimiter=spreadsheet.delimiter_of(text))
    try:
        table = [(n, row) for n, row in enumerate(reader, start=1) if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise ChartError(f"{path}: not a readable CSV ({exc})") from None
    return _as_dicts(path, table)


def _read_xlsx(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise ChartError(f"{path}: not a readable .xlsx ({type(exc).__name__})") from None
    try:
        sheet = book.worksheets[0]
        rows = ((n, [_cell_text(v) for v in row]) for n, row in enumerate(sheet.iter_rows(values_only=True), start=1))
        table = [(n, values) for n, values in rows if any(v.strip() for v in values)]
    finally:
        book.close()
    return _as_dicts(path, table)


def _cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a code typed as a number
    return "" if value is None else str(value)


def _as_dicts(path: Path, table: list[tuple[int, list[str]]]) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Rows as dicts keyed by the normalised header. The header is the first row that names a code and a name
    column (programs write a title, the company and a date above it); a repeated header keeps its first column."""
    if not table:
        raise ChartError(f"{path}: the file is empty")
    at = next((i for i, (_, row) in enumerate(table[:HEADER_SEARCH_ROWS]) if _best_templates(_normalised(row))), 0)
    headers = _normalised(table[at][1])
    rows = []
    for n, values in table[at + 1 :]:
        row: dict[str, str] = {}
        for header, cell in zip(headers, values, strict=False):
            if header:
                row.setdefault(header, cell.strip())
        rows.append((n, row))
    return headers, rows


def _normalised(cells: list[str]) -> list[str]:
    return [normalised(c) for c in cells]


def _best_templates(headers: list[str]) -> list[ProgramTemplate]:
    """The programs whose code and name columns the headers hold, those matching the most columns only."""
    scored = []
    for program in programs():
        candidate = template(program)
        if candidate.header_of(headers, "code") and candidate.header_of(headers, "name"):
            scored.append((sum(bool(candidate.header_of(headers, f)) for f in candidate.columns), candidate))
    best = max((score for score, _ in scored), default=0)
    return [candidate for score, candidate in scored if score == best]


def detect(headers: list[str], rows: Sequence[tuple[int, dict[str, str]]] = ()) -> ProgramTemplate:
    """The program whose columns the headers match best; on a tie, the one that reads every yes/no cell, then
    a program's own template before the generic one. A template that leaves out a column the file has would
    silently drop it (every auxiliary postable), so the most columns win."""
    candidates = _best_templates(headers)
    if not candidates:
        raise ChartError(f"no code and name columns found among the headers {', '.join(headers) or '(none)'}")
    return min(candidates, key=lambda c: (_unread_flags(c, headers, rows), c.program == "generic", c.program))


def _unread_flags(candidate: ProgramTemplate, headers: list[str], rows: Sequence[tuple[int, dict[str, str]]]) -> int:
    """How many yes/no cells of the file the template would not understand."""
    known = candidate.true | candidate.false
    columns = [h for h in (candidate.header_of(headers, f) for f in ("active", "movements")) if h]
    return sum(1 for _, row in rows for h in columns if (v := normalised(row.get(h, ""))) and v not in known)


def read_chart(path: Path, program: str | None = None) -> tuple[ProgramTemplate, list[ChartAccount]]:
    """Every account of the file, validated; ChartError lists every bad row."""
    if not path.is_file():
        raise ChartError(f"{path}: no such file")
    headers, rows = read_table(path)
    chosen = template(program) if program else detect(headers, rows)
    columns = {field: chosen.header_of(headers, field) for field in chosen.columns}
    if not columns["code"] or not columns["name"]:
        raise ChartError(f"{path}: the {chosen.program} export needs a code and a name column")
    errors: list[str] = []
    parsed: list[tuple[int, dict[str, Any]]] = []
    for number, row in rows:
        fields, problems = _parse_row(row, columns, chosen)
        errors.extend(f"row {number}: {p}" for p in problems)
        if fields:
            parsed.append((number, fields))
    accounts = _check_tree(parsed, errors)
    if errors:  # in the file's order, whichever check found them
        raise ChartError("\n".join(sorted(errors, key=lambda e: int(e.split(":", 1)[0].split()[1]))))
    if not accounts:
        raise ChartError(f"{path}: no accounts in the file")
    return chosen, accounts


def _parse_row(
    row: dict[str, str], columns: dict[str, str | None], chosen: ProgramTemplate
) -> tuple[dict[str, Any] | None, list[str]]:
    def cell(field: str) -> str:
        header = columns.get(field)
        return row.get(header, "") if header else ""

    raw = cell("code")
    code = raw.replace(".", "").replace(" ", "")
    shown = raw[:24]
    if not (code.isascii() and code.isdigit()):
        return None, [f"code {shown!r} is not made of digits"]
    problems = []
    if len(code) not in LENGTHS:
        problems.append(f"code {code} has {len(code)} digits: the PUC uses 1, 2, 4, 6 and auxiliaries 8, 10 or 12")
    name = " ".join(cells.unquoted(cell("name")).split())
    if not name:
        problems.append(f"account {code} has no name")
    declared = cell("parent").replace(".", "").replace(" ", "") or None
    if declared and declared != parent_code(code):
        problems.append(f"account {code} declares parent {declared[:24]}, but its code sits under {parent_code(code)}")
    level = normalised(cell("level"))
    if level in _LEVELS and _LEVELS[level] != len(code):
        problems.append(f"account {code} is a {level} but has {len(code)} digits")
    flags = {}
    for field in ("active", "movements"):
        value = normalised(cell(field))
        if value and value not in chosen.true | chosen.false:
            problems.append(f"account {code}: {columns[field]} {value[:20]!r} is neither yes nor no")
        flags[field] = None if not value else value in chosen.true
    fields = {"code": code, "name": name[:200], "parent": parent_code(code), **flags}
    return (None if problems else fields), problems


def _check_tree(parsed: list[tuple[int, dict[str, Any]]], errors: list[str]) -> list[ChartAccount]:
    """Codes once, parents present, classes and groups the PUC's, movements only on leaves."""
    by_code: dict[str, dict[str, Any]] = {}
    numbers: dict[str, int] = {}
    for number, fields in parsed:
        code = fields["code"]
        if code in by_code:
            errors.append(f"row {number}: account {code} appears twice (first on row {numbers[code]})")
            continue
        by_code[code] = fields
        numbers[code] = number
    reference = puc_reference()
    parents = {f["parent"] for f in by_code.values() if f["parent"]}
    accounts = []
    for code, fields in by_code.items():
        number = numbers[code]
        if len(code) <= 2 and code not in reference:
            errors.append(f"row {number}: {code} is not a class or group of the PUC")
            continue
        parent = fields["parent"]
        if parent and parent not in by_code and parent not in reference:
            errors.append(f"row {number}: the parent {parent} of {code} is neither in the file nor in the PUC")
            continue
        has_children = code in parents
        movements = (not has_children) if fields["movements"] is None else fields["movements"]
        if movements and has_children:
            errors.append(f"row {number}: account {code} accepts movements but has sub-accounts in the file")
            continue
        active = True if fields["active"] is None else fields["active"]
        accounts.append(ChartAccount(code, fields["name"], parent, active, movements))
    return sorted(accounts, key=lambda a: a.code)


def digest(accounts: list[ChartAccount]) -> str:
    payload = json.dumps([a.to_dict() for a in accounts], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
