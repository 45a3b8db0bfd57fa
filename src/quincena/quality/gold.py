"""A gold set: hand-labelled invoice lines with the account an accountant expects.

CSV columns (header required, UTF-8): ``supplier_nit, supplier_name, description, amount,
tax_percent, expected_account`` and optionally ``doc_type`` (invoice, credit_note, debit_note;
default invoice) and ``note`` (why a case is ambiguous). Each line is read as its own one-line
invoice. Problems are reported one line each, by the file's line number.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from quincena.core import numbers, puc

REQUIRED = ("supplier_nit", "supplier_name", "description", "amount", "tax_percent", "expected_account")
DOC_TYPES = ("invoice", "credit_note", "debit_note")


class GoldError(ValueError):
    """The gold file cannot be used; the message has one line per problem (``FILE line N: ...``)."""


@dataclass(frozen=True)
class GoldLine:
    line_no: int  # line of the CSV file (the header is line 1)
    supplier_nit: str
    supplier_name: str
    description: str
    amount: str
    tax_percent: str | None
    expected_account: str
    doc_type: str = "invoice"
    note: str = ""


def read_gold(path: Path) -> list[GoldLine]:
    """Every line of the file, validated; raises GoldError naming each bad line."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise GoldError(f"{path}: cannot read the gold file: {exc.strerror or exc}") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise GoldError(f"{path} line 1: missing column(s): {', '.join(missing)}")
        lines: list[GoldLine] = []
        problems: list[str] = []
        for row in reader:
            line_no = reader.line_num
            try:
                lines.append(_parse(row, line_no))
            except ValueError as exc:
                problems.append(f"{path.name} line {line_no}: {exc}")
    if problems:
        raise GoldError("\n".join(problems))
    if not lines:
        raise GoldError(f"{path.name}: no lines to evaluate")
    return lines


def _parse(row: dict[str, str | None], line_no: int) -> GoldLine:
    if None in row:  # more cells than columns
        raise ValueError("more cells than the header has columns")
    value = {k: (v or "").strip() for k, v in row.items()}
    for column in ("supplier_nit", "supplier_name", "description", "expected_account"):
        if not value[column]:
            raise ValueError(f"{column} is empty")
    if not value["supplier_nit"].isdigit():
        raise ValueError(f"supplier_nit {value['supplier_nit']!r} is not digits (write the NIT without DV)")
    account = value["expected_account"]
    if account not in puc.purchase_accounts():
        raise ValueError(f"expected_account {account!r} is not a purchase sub-account of the PUC catalog")
    amount = _decimal(value["amount"], "amount")
    tax = value["tax_percent"]
    if tax:
        _decimal(tax, "tax_percent")
    doc_type = value.get("doc_type") or "invoice"
    if doc_type not in DOC_TYPES:
        raise ValueError(f"doc_type {doc_type!r} is not one of {', '.join(DOC_TYPES)}")
    return GoldLine(
        line_no=line_no,
        supplier_nit=value["supplier_nit"],
        supplier_name=value["supplier_name"],
        description=value["description"],
        amount=str(amount),
        tax_percent=tax or None,
        expected_account=account,
        doc_type=doc_type,
        note=value.get("note", ""),
    )


def _decimal(text: str, column: str) -> Decimal:
    try:
        return numbers.non_negative_decimal(text)
    except numbers.NumberError as exc:
        raise ValueError(f"{column}: {exc} (dot for decimals, no thousands separator)") from None
