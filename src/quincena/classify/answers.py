"""What the model is asked about each line, and whether its answer can be trusted."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from quincena.classify.model import Invoice, Line
from quincena.core import puc


def item_for(invoice: Invoice, line: Line) -> dict[str, Any]:
    """One line in the wire format, with its invoice as context."""
    item = {
        "id": str(line.line_id),
        "description": line.description,
        "supplier_name": invoice.supplier_name,
        "supplier_nit": invoice.supplier_nit,
        "doc_type": invoice.doc_type,
        "invoice": invoice.number,
        "amount": line.line_total,
        "quantity": line.quantity,
    }
    if line.tax_percent is not None:
        item["tax_percent"] = line.tax_percent
    return item


class Problem(str):
    """Why an answer for a line cannot be trusted. The text (English, the prompt's language) is what the
    model is told when asked again; ``es`` is what the accountant reads on the review page (no item ids:
    the reason is shown with the line's number)."""

    es: str

    def __new__(cls, text: str, es: str) -> Problem:
        problem = super().__new__(cls, text)
        problem.es = es
        return problem


def for_accountant(problem: str) -> str:
    """The Spanish text of a problem (a plain string is already the accountant's)."""
    return getattr(problem, "es", problem)


def validate_answer(
    expected_ids: Iterable[str], answer: Any, min_confidence: float, allowed: Collection[str] | None = None
) -> tuple[dict[str, tuple[str, float]], dict[str, str]]:
    """Split an answer into accepted ``{id: (account, confidence)}`` and ``{id: problem}``.

    Nothing outside ``allowed`` (the company's own accounts, when it has a chart; the catalog's purchase
    sub-accounts by default), below the confidence threshold, duplicated or missing passes.
    """
    expected = list(expected_ids)
    problems: dict[str, str] = {}
    accepted: dict[str, tuple[str, float]] = {}
    entries = answer.get("classifications") if isinstance(answer, dict) else None
    if not isinstance(entries, list):
        no_list = Problem('the answer has no "classifications" list', "el modelo no devolvió clasificaciones válidas")
        return {}, {i: no_list for i in expected}
    catalog = puc.purchase_accounts() if allowed is None else allowed
    own = allowed is not None
    seen: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict) or str(entry.get("id")) not in expected:
            continue  # an id we did not ask about is ignored, never stored
        item_id = str(entry["id"])
        if item_id in seen:
            problems[item_id] = Problem(f"item {item_id}: answered twice", "el modelo la respondió dos veces")
            accepted.pop(item_id, None)
            continue
        seen.add(item_id)
        problem = _entry_problem(item_id, entry, catalog, min_confidence, own)
        if problem:
            problems[item_id] = problem
        else:
            accepted[item_id] = (str(entry["account"]), float(entry["confidence"]))
    for item_id in expected:
        if item_id not in seen:
            problems[item_id] = Problem(f"item {item_id}: missing from the answer", "el modelo no la respondió")
    return accepted, problems


def _entry_problem(
    item_id: str, entry: dict, catalog: Collection[str], min_confidence: float, own: bool = False
) -> Problem | None:
    account = str(entry.get("account", "")).strip()
    if account not in catalog and own:
        return Problem(
            f"item {item_id}: account {account!r} is not one of the company's accounts listed",
            f"el modelo propuso la cuenta «{account}», que no es una cuenta de la empresa que acepte movimientos",
        )
    if account not in catalog:
        return Problem(
            f"item {item_id}: account {account!r} is not a purchase sub-account of the catalog",
            f"el modelo propuso la cuenta «{account}», que no es una subcuenta de compras del catálogo",
        )
    try:
        confidence = float(Decimal(str(entry.get("confidence"))))
    except (InvalidOperation, ValueError):
        return Problem(
            f"item {item_id}: confidence {entry.get('confidence')!r} is not a number",
            "el modelo no dio una confianza numérica",
        )
    if not 0 <= confidence <= 1:
        return Problem(
            f"item {item_id}: confidence {confidence} is outside 0..1",
            f"el modelo dio una confianza de {confidence}, fuera de 0 a 1",
        )
    if confidence < min_confidence:
        return Problem(
            f"item {item_id}: confidence {confidence:.2f} below {min_confidence:.2f} for {account}",
            f"confianza del modelo {confidence:.0%} (mínimo {min_confidence:.0%}) para la cuenta {account}",
        )
    return None


# --- storing -------------------------------------------------------------------------------------


def _parse(content: str) -> Any:
    try:
        return json.loads(content)
    except (TypeError, ValueError):
        return None  # validate_answer turns this into a stated error for the one retry
