"""One correction, every look-alike line: repeat the account an accountant chose for a line on the
lines that look like it.

Two reaches, both within one company:
- ``description``: the other lines of the same supplier whose description normalises to the same key
  (the key supplier memory uses, ``description_key``), in this cycle's invoices in review or classified;
- ``supplier``: every line of the same supplier on an invoice still in review, in any cycle.

Only lines whose account differs are touched. Applying goes through ``actions.save_accounts`` per
invoice (locks, validation, audit with the line it was applied from, supplier memory, entries rebuilt
and approvals reopened for classified invoices), all inside one transaction: all lines or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from quincena.classify.classifier import description_key
from quincena.core import db
from quincena.review import actions

Reach = Literal["description", "supplier"]
REACHES: tuple[Reach, ...] = ("description", "supplier")


@dataclass(frozen=True)
class Target:
    invoice_id: int
    cycle_id: str
    line_id: int


@dataclass(frozen=True)
class Offer:
    """Lines a line's account can be repeated on, for one reach."""

    line_id: int
    account: str
    reach: Reach
    targets: tuple[Target, ...]

    @property
    def count(self) -> int:
        return len(self.targets)


@dataclass(frozen=True)
class Applied:
    source_invoice_id: int
    lines: int  # lines whose account changed
    invoices: int  # invoices those lines belong to


def is_source(line: Mapping[str, Any]) -> bool:
    """Only an account the accountant chose is repeated (a model's proposal is not a correction)."""
    return bool(line.get("account")) and line.get("source") == actions.ACCOUNTANT


def targets(source: Mapping[str, Any], rows: Iterable[Mapping[str, Any]], reach: Reach) -> tuple[Target, ...]:
    """The rows (review_look_alike_lines) that ``source``'s account would change under ``reach``."""
    key = description_key(source["description"])
    found = []
    for row in rows:
        if row["line_id"] == source["line_id"] or row["supplier_nit"] != source["supplier_nit"]:
            continue
        if row["account"] == source["account"]:
            continue  # already that account: nothing to change
        if reach == "description":
            alike = row["cycle_id"] == source["cycle_id"] and description_key(row["description"]) == key
        else:
            alike = row["status"] == "review"
        if alike:
            found.append(Target(row["invoice_id"], row["cycle_id"], row["line_id"]))
    return tuple(found)


def offers(source: Mapping[str, Any], rows: list[Mapping[str, Any]]) -> list[Offer]:
    """The offers worth showing for a source line: non-empty, and the supplier reach only when it adds lines."""
    if not is_source(source):
        return []
    shown: list[Offer] = []
    for reach in REACHES:
        found = targets(source, rows, reach)
        if found and not any(set(o.targets) == set(found) for o in shown):
            shown.append(Offer(source["line_id"], source["account"], reach, found))
    return shown


def company_lines(company_nit: str, cycle_id: str, suppliers: list[str] | None = None, conn=None) -> list[dict]:
    """Every line an offer of this company-cycle page may reach (of ``suppliers`` only, when given)."""
    params = {"company_nit": company_nit, "cycle_id": cycle_id, "suppliers": suppliers}
    return db.query("review_look_alike_lines", params, conn)


def page_offers(company_nit: str, cycle_id: str, invoices: list[dict[str, Any]]) -> dict[int, list[Offer]]:
    """Offers by source line id for the lines shown on a page (one query for the whole page)."""
    sources = [
        {**ln, "supplier_nit": inv["supplier_nit"], "cycle_id": inv["cycle_id"]}
        for inv in invoices
        for ln in inv["lines"]
        if is_source(ln)
    ]
    if not sources:
        return {}
    suppliers = sorted({s["supplier_nit"] for s in sources})
    rows = company_lines(company_nit, cycle_id, suppliers)
    by_supplier: dict[str, list[dict]] = {}
    for row in rows:
        by_supplier.setdefault(row["supplier_nit"], []).append(row)
    found = {s["line_id"]: offers(s, by_supplier.get(s["supplier_nit"], [])) for s in sources}
    return {line_id: shown for line_id, shown in found.items() if shown}


def apply(
    company_nit: str, cycle_id: str, line_id: int, reach: Reach, user: str, expected: int | None = None
) -> Applied:
    """Repeat ``line_id``'s account on its look-alikes under ``reach``, in one transaction.

    ``expected``: the count the page showed; when the lines changed since, nothing is written (the
    accountant sees the new count and decides again).
    """
    if reach not in REACHES:
        raise actions.ReviewError("alcance desconocido")
    with db.transaction() as cur:
        conn = cur.connection
        source = _source(conn, company_nit, cycle_id, line_id)
        found = targets(source, company_lines(company_nit, cycle_id, [source["supplier_nit"]], conn), reach)
        if expected is not None and expected != len(found):
            raise actions.ReviewError(
                f"las líneas parecidas cambiaron desde que abrió la página: ahora son {len(found)}; "
                "revise y vuelva a aplicar. Nada se cambió."
            )
        changed = 0
        for (invoice_id, invoice_cycle), lines in sorted(_by_invoice(found).items()):
            accounts = {line: source["account"] for line in lines}
            outcome = actions.save_accounts(
                company_nit, invoice_cycle, invoice_id, accounts, user, conn=conn, applied_from=line_id
            )
            changed += outcome.changed_lines
        return Applied(source["invoice_id"], changed, len({t.invoice_id for t in found}))


def _source(conn, company_nit: str, cycle_id: str, line_id: int) -> dict[str, Any]:
    params = {"company_nit": company_nit, "cycle_id": cycle_id, "line_id": int(line_id)}
    rows = db.query("review_line_source", params, conn)
    if not rows:
        raise actions.ReviewError(f"la línea {line_id} no es de la empresa {company_nit} en el ciclo {cycle_id}")
    if not is_source(rows[0]):
        raise actions.ReviewError(
            f"la línea {rows[0]['line_no']} de la factura {rows[0]['number']} no tiene una cuenta elegida por el "
            "contador: guárdela primero"
        )
    return rows[0]


def _by_invoice(found: Iterable[Target]) -> dict[tuple[int, str], list[int]]:
    grouped: dict[tuple[int, str], list[int]] = {}
    for t in found:
        grouped.setdefault((t.invoice_id, t.cycle_id), []).append(t.line_id)
    return grouped


def source_invoice(company_nit: str, cycle_id: str, line_id: int) -> int | None:
    """The invoice of a line of this company-cycle (None when the line is not theirs)."""
    params = {"company_nit": company_nit, "cycle_id": cycle_id, "line_id": int(line_id)}
    rows = db.query("review_line_source", params)
    return rows[0]["invoice_id"] if rows else None
