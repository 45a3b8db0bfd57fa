"""The company page's filters (review reason, supplier, amount range) and the invoices ready to approve.

Filters come from the page's query string as the accountant typed them; a value that does not parse is
reported (in Spanish) and left out rather than failing the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

_ITEM = re.compile(r"^item \d+:\s*")
_KIND_END = re.compile(r"[:\d'\"(]")
_AMOUNT = re.compile(r"^\d[\d.,]*$")
MAX_AMOUNT_CHARS = 24
AMOUNT_ERROR = "el monto debe ser un número, p. ej. 1.500.000 o 1500000,50"


@dataclass(frozen=True)
class Filters:
    reason: str = ""  # a reason kind (reason_kind)
    supplier: str = ""  # a supplier NIT
    low: Decimal | None = None  # total from (inclusive)
    high: Decimal | None = None  # total up to (inclusive)

    @property
    def active(self) -> bool:
        return bool(self.reason or self.supplier or self.low is not None or self.high is not None)

    def query(self) -> dict[str, str]:
        """The query-string fields that reproduce these filters (for links and hidden fields)."""
        fields = {"motivo": self.reason, "proveedor": self.supplier}
        fields["monto_min"] = "" if self.low is None else str(self.low)
        fields["monto_max"] = "" if self.high is None else str(self.high)
        return {k: v for k, v in fields.items() if v}


def reason_kind(reason: str) -> str:
    """What a review reason is about, without its line number and figures: "item 3: confidence 0.41
    below 0.70 for 513520" → "confidence"; reasons of one kind share it."""
    text = _ITEM.sub("", reason.strip())
    return _KIND_END.split(text, maxsplit=1)[0].strip() or text[:60]


def parse_amount(text: str) -> Decimal | None:
    """An amount as typed, Colombian style first: "1.234.567,89", "1.500" (thousands), "1500000,5",
    or "1,234,567.89"; None when empty. Raises ValueError (Spanish) when it is not an amount."""
    text = text.strip().replace(" ", "")
    if not text:
        return None
    if len(text) > MAX_AMOUNT_CHARS or not _AMOUNT.match(text):
        raise ValueError(AMOUNT_ERROR)
    if "," in text and text.rfind(",") > text.rfind("."):
        text = text.replace(".", "").replace(",", ".")  # comma decimals, dot thousands
    elif "," in text:
        text = text.replace(",", "")  # comma thousands, dot decimals
    elif text.count(".") > 1 or (text.count(".") == 1 and len(text) - text.rfind(".") == 4):
        text = text.replace(".", "")  # dot thousands: 1.500 is fifteen hundred pesos
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(AMOUNT_ERROR) from None


def from_query(params: Mapping[str, str]) -> tuple[Filters, list[str]]:
    """The filters a query string asks for, and the Spanish errors of the values left out."""
    errors: list[str] = []
    amounts: dict[str, Decimal | None] = {}
    for field, label in (("monto_min", "Monto desde"), ("monto_max", "Monto hasta")):
        try:
            amounts[field] = parse_amount(str(params.get(field, ""))[: MAX_AMOUNT_CHARS + 1])
        except ValueError as exc:
            errors.append(f"{label}: {exc}")
            amounts[field] = None
    reason = str(params.get("motivo", "")).strip()[:120]
    supplier = str(params.get("proveedor", "")).strip()[:20]
    return Filters(reason, supplier, amounts["monto_min"], amounts["monto_max"]), errors


def matches(invoice: Mapping[str, Any], filters: Filters) -> bool:
    if filters.supplier and invoice["supplier_nit"] != filters.supplier:
        return False
    if filters.reason and filters.reason not in {reason_kind(r) for r in invoice["reasons"]}:
        return False
    total = Decimal(str(invoice["tax_inclusive_amount"]))
    if filters.low is not None and total < filters.low:
        return False
    return filters.high is None or total <= filters.high


def apply(invoices: Iterable[dict[str, Any]], filters: Filters) -> list[dict[str, Any]]:
    return [inv for inv in invoices if matches(inv, filters)]


def choices(invoices: Iterable[Mapping[str, Any]]) -> tuple[list[str], list[tuple[str, str]]]:
    """The reason kinds and the (NIT, name) suppliers present among ``invoices``, sorted: the selects' options."""
    kinds: set[str] = set()
    suppliers: dict[str, str] = {}
    for inv in invoices:
        kinds.update(reason_kind(r) for r in inv["reasons"])
        suppliers.setdefault(inv["supplier_nit"], inv["supplier_name"])
    return sorted(kinds), sorted(suppliers.items(), key=lambda s: (s[1].lower(), s[0]))


def ready(invoices: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Invoices in review whose every line has an account: approvable as they stand."""
    return [inv for inv in invoices if inv["status"] == "review" and inv["lines"] and _all_accounted(inv)]


def _all_accounted(invoice: Mapping[str, Any]) -> bool:
    return all(ln["account"] for ln in invoice["lines"])
