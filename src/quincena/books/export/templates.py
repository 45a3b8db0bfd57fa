"""Export templates: the accounting programs' import layouts as data (include/export/<format>.json).

The layouts were pieced together from public exporters, so the firm corrects them without a release:
edit the JSON, or drop a corrected copy (same file name) in QUINCENA_EXPORT_TEMPLATES, which wins over
the shipped one. Every problem in a template is reported as one line naming the file and the key.
"""

from __future__ import annotations

import codecs
import json
import string
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from quincena.core import config

# What a column may draw from (one line of a voucher); see export.vouchers.line_fields.
FIELDS = (
    "company_nit", "company_name", "cycle_id", "voucher_type", "voucher_number", "date", "due_date",
    "account", "third_party", "third_party_dv", "third_party_name", "description", "debit", "credit",
    "base", "rate", "tax", "tax_code", "concept", "invoice_number", "cufe", "doc_type", "line_no",
)  # fmt: skip
NUMERIC_FIELDS = ("debit", "credit", "base", "rate")
DATE_FIELDS = ("date", "due_date")
FILE_TYPES = ("csv", "xlsx")
FILE_NAME_KEYS = {"format", "company_nit", "cycle_id", "version", "part"}
_KEYS = {
    "format", "title", "confidence", "file_type", "sheet_name", "header", "file_name", "encoding", "delimiter",
    "date_format", "decimal_separator", "decimals", "row_limit", "voucher_type", "first_number", "tax_codes",
    "columns",
}  # fmt: skip
_COLUMN_KEYS = {"header", "field", "value", "max_length", "blank_zero"}


class TemplateError(ValueError):
    """A template that cannot be used, said in one line (file and key)."""


@dataclass(frozen=True)
class Column:
    header: str
    field: str | None = None  # one of FIELDS, or None for a constant
    value: str = ""  # the constant when field is None
    max_length: int | None = None  # text longer than this is truncated
    blank_zero: bool = False  # write an empty cell instead of 0


@dataclass(frozen=True)
class Template:
    format: str
    title: str
    file_type: str
    columns: tuple[Column, ...]
    file_name: str
    voucher_type: str
    date_format: str
    decimal_separator: str = "."
    decimals: int = 2
    row_limit: int | None = None  # data rows per file (the header row does not count)
    header: bool = True
    sheet_name: str = "Hoja1"
    encoding: str = "utf-8-sig"  # UTF-8 with BOM: Excel in Spanish opens it right
    delimiter: str = ";"
    first_number: int = 1
    tax_codes: tuple[tuple[str, str], ...] = ()
    source: str = ""  # the file it came from
    raw: str = ""  # the file's text: part of what "the export changed" means

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    @property
    def extension(self) -> str:
        return self.file_type

    def tax_code(self, tax: str | None, concept: str | None) -> str:
        """The program's code of a tax line: ``tax:concept`` first (e.g. retefuente:honorarios), then ``tax``."""
        if not tax:
            return ""
        codes = dict(self.tax_codes)
        return codes.get(f"{tax}:{concept}", codes.get(tax, ""))

    def name_of(self, company_nit: str, cycle_id: str, version: int, part: int) -> str:
        values = {"format": self.format, "company_nit": company_nit, "cycle_id": cycle_id}
        return self.file_name.format(**values, version=version, part=part) + "." + self.extension


def templates_dirs() -> list[Path]:
    """Where templates are looked up, the firm's override directory first."""
    override = config.export_templates_override()
    shipped = config.include_dir() / "export"
    return [override, shipped] if override else [shipped]


def available() -> list[str]:
    """Format names with a template (shipped or the firm's own)."""
    names = {path.stem for folder in templates_dirs() if folder.is_dir() for path in folder.glob("*.json")}
    return sorted(names)


def path_of(name: str) -> Path:
    for folder in templates_dirs():
        candidate = folder / f"{name}.json"
        if candidate.is_file():
            return candidate
    known = ", ".join(available()) or "none"
    raise TemplateError(f"no export template {name!r} (known: {known})")


def load(name: str) -> Template:
    """The validated template of a format."""
    if not name or not all(ch.isalnum() or ch in "_-" for ch in name):
        raise TemplateError(f"bad format name {name!r}")
    path = path_of(name)
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TemplateError(f"{path}: not valid JSON: {exc}") from None
    return parse(data, path, text)


def parse(data: Any, path: Path, text: str = "") -> Template:
    def fail(message: str) -> TemplateError:
        return TemplateError(f"{path}: {message}")

    if not isinstance(data, dict):
        raise fail("expected a JSON object")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise fail(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_KEYS))}")
    for key in ("format", "file_type", "columns", "file_name", "voucher_type", "date_format"):
        if key not in data:
            raise fail(f"missing key {key!r}")
    if data["format"] != path.stem:
        raise fail(f"'format' is {data['format']!r} but the file is {path.name}: they must match")
    file_type = data["file_type"]
    if file_type not in FILE_TYPES:
        raise fail(f"'file_type' must be one of {', '.join(FILE_TYPES)}, not {file_type!r}")
    columns = tuple(_column(fail, i, c) for i, c in enumerate(_list(fail, data["columns"], "columns"), start=1))
    if not columns:
        raise fail("'columns' is empty")
    template = Template(
        format=data["format"],
        title=_text(fail, data, "title", data["format"]),
        file_type=file_type,
        columns=columns,
        file_name=_file_name(fail, data["file_name"]),
        voucher_type=_required_text(fail, data, "voucher_type"),
        date_format=_date_format(fail, data["date_format"]),
        decimal_separator=_choice(fail, data, "decimal_separator", (".", ","), "."),
        decimals=_int(fail, data, "decimals", 2, minimum=0, maximum=6),
        row_limit=_row_limit(fail, data.get("row_limit")),
        header=_bool(fail, data, "header", True),
        sheet_name=_sheet_name(fail, data.get("sheet_name", "Hoja1")),
        encoding=_encoding(fail, data.get("encoding", "utf-8-sig")),
        delimiter=_delimiter(fail, data.get("delimiter", ";")),
        first_number=_int(fail, data, "first_number", 1, minimum=1, maximum=2_000_000_000),
        tax_codes=_tax_codes(fail, data.get("tax_codes", {})),
        source=str(path),
        raw=text,
    )
    if template.file_type == "csv" and template.delimiter == template.decimal_separator:
        raise fail(f"the delimiter and the decimal separator are both {template.delimiter!r}")
    return template


def _list(fail, value: Any, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise fail(f"{key!r} must be a list")
    return value


def _column(fail, index: int, raw: Any) -> Column:
    if not isinstance(raw, dict):
        raise fail(f"column {index}: expected an object with 'header' and 'field' or 'value'")
    where = f"column {index} ({raw.get('header', '?')!r})"
    unknown = sorted(set(raw) - _COLUMN_KEYS)
    if unknown:
        raise fail(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_COLUMN_KEYS))}")
    header = raw.get("header")
    if not isinstance(header, str) or not header.strip():
        raise fail(f"{where}: 'header' must be a non-empty text")
    if ("field" in raw) == ("value" in raw):
        raise fail(f"{where}: give exactly one of 'field' (data) or 'value' (a constant)")
    field = raw.get("field")
    if field is not None and field not in FIELDS:
        raise fail(f"{where}: unknown field {field!r}; known: {', '.join(FIELDS)}")
    value = raw.get("value", "")
    if not isinstance(value, str):
        raise fail(f"{where}: 'value' must be a text (quote numbers: \"0\")")
    max_length = raw.get("max_length")
    if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1):
        raise fail(f"{where}: 'max_length' must be a positive whole number")
    blank_zero = raw.get("blank_zero", False)
    if not isinstance(blank_zero, bool):
        raise fail(f"{where}: 'blank_zero' must be true or false")
    return Column(header, field, value, max_length, blank_zero)


def _text(fail, data: dict[str, Any], key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise fail(f"{key!r} must be a text")
    return value


def _required_text(fail, data: dict[str, Any], key: str) -> str:
    value = _text(fail, data, key, "")
    if not value.strip():
        raise fail(f"{key!r} must be a non-empty text")
    return value.strip()


def _choice(fail, data: dict[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = data.get(key, default)
    if value not in choices:
        raise fail(f"{key!r} must be one of {' '.join(repr(c) for c in choices)}, not {value!r}")
    return value


def _int(fail, data: dict[str, Any], key: str, default: int, minimum: int, maximum: int) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise fail(f"{key!r} must be a whole number from {minimum} to {maximum}, not {value!r}")
    return value


def _bool(fail, data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise fail(f"{key!r} must be true or false")
    return value


def _row_limit(fail, value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise fail(f"'row_limit' must be a positive whole number or null, not {value!r}")
    return value


def _file_name(fail, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail("'file_name' must be a non-empty text")
    try:
        keys = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError as exc:
        raise fail(f"'file_name' {value!r}: {exc}") from None
    unknown = keys - FILE_NAME_KEYS
    if unknown:
        raise fail(f"'file_name' uses unknown {{{', '.join(sorted(unknown))}}}; allowed: {sorted(FILE_NAME_KEYS)}")
    if not {"version", "part"} <= keys:  # two versions or two parts must never share a file
        raise fail("'file_name' must contain {version} and {part}")
    if any(ch in value for ch in "/\\") or value.startswith("."):
        raise fail(f"'file_name' {value!r} must be a plain file name (no folders)")
    return value


def _date_format(fail, value: Any) -> str:
    if not isinstance(value, str) or "%" not in value:
        raise fail(f"'date_format' must be a strftime pattern such as %d/%m/%Y, not {value!r}")
    sample = date(2026, 11, 5).strftime(value)
    if not any(ch.isdigit() for ch in sample):
        raise fail(f"'date_format' {value!r} prints no date")
    return value


def _sheet_name(fail, value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 31 or any(ch in value for ch in "[]:*?/\\"):
        raise fail(f"'sheet_name' must be 1-31 characters without []:*?/\\, not {value!r}")
    return value


def _encoding(fail, value: Any) -> str:
    try:
        return codecs.lookup(str(value)).name if value != "utf-8-sig" else value
    except LookupError:
        raise fail(f"'encoding' {value!r} is not a known text encoding (e.g. utf-8-sig, cp1252)") from None


def _delimiter(fail, value: Any) -> str:
    if not isinstance(value, str) or len(value) != 1 or value in '\r\n"':
        raise fail(f"'delimiter' must be one character such as ; or , or a tab, not {value!r}")
    return value


def _tax_codes(fail, value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise fail("'tax_codes' must map tax names (iva, retefuente, reteiva, reteica, or tax:concept) to texts")
    return tuple(sorted(value.items()))
