"""The accountant's actions on an invoice: choose a line's account, approve an invoice in review,
re-classify an invoice already classified.

Each action runs in one transaction: the invoice is locked and must belong to the company and cycle
named, every account must be a purchase sub-account of the catalog, every line must be the invoice's.
Each change is audited in ``classification_history`` (who, when, old and new account), stored as a
classification with source ``accountant`` and taught to supplier memory with full confidence (a
model's answer never overwrites that lesson: see include/sql/memory_remember.sql). Approving or
re-classifying (re)builds the invoice's entry through books.entries. Repeating an action changes
nothing. Messages are Spanish: the accountant reads them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from quincena.books import approvals, entries
from quincena.chart import store as chart_store
from quincena.classify.classifier import description_key
from quincena.core import db, puc

ACCOUNTANT = "accountant"


class ReviewError(ValueError):
    """An action that cannot be done as asked (bad account, foreign invoice, wrong state); said in Spanish."""


@dataclass(frozen=True)
class Outcome:
    invoice_id: int
    changed_lines: int  # lines whose classification the action wrote (0 when repeated)
    status: str  # the invoice's status after the action
    entry_lines: int  # journal lines of the entry now on file (0 when not rebuilt)


_CODE = re.compile(r"^\s*([0-9][0-9.]{0,15})(?![\w.])")


def account_code(text: str | None, allowed: Mapping[str, Any] | None = None) -> str:
    """The code a form or CSV cell names ("511025", "51353001 — Energía", "5135.30.01"), validated: one of
    ``allowed`` (what a line of the company may be booked to, chart.store.bookable), or of the catalog's
    purchase sub-accounts when not given."""
    match = _CODE.match(text or "")
    code = match.group(1).replace(".", "") if match else (text or "").strip()
    if code not in (puc.purchase_accounts() if allowed is None else allowed):
        shown = code if len(code) <= 20 else code[:19] + "…"  # a pasted paragraph is not echoed whole
        if getattr(allowed, "own", False):
            raise ReviewError(
                f"la cuenta {shown or '(vacía)'!s} no es una cuenta de compras activa del plan de cuentas de la empresa"
            )
        raise ReviewError(f"la cuenta {shown or '(vacía)'!s} no es una subcuenta de compras del PUC")
    return code


def save_accounts(
    company_nit: str,
    cycle_id: str,
    invoice_id: int,
    accounts: Mapping[int, str],
    user: str,
    conn=None,
    applied_from: int | None = None,
) -> Outcome:
    """Store the accountant's accounts for some lines; the invoice keeps its status.

    A classified invoice's entry is rebuilt (a re-classification); an invoice in review gets its
    entry when approved. ``applied_from``: the line whose correction these lines repeat (audited).
    """
    with _locked(company_nit, cycle_id, invoice_id, conn) as (conn, invoice):
        changed = _apply(conn, invoice, _validated(accounts, company_nit, conn), user, applied_from)
        lines = 0
        if invoice["status"] == "classified" and changed:
            lines = _rebuild(conn, invoice)
            _reopen_if_approved(conn, invoice, user, "cambió la cuenta de líneas")
        return Outcome(invoice_id, changed, invoice["status"], lines)


def approve_invoice(
    company_nit: str,
    cycle_id: str,
    invoice_id: int,
    user: str,
    accounts: Mapping[int, str] | None = None,
    conn=None,
) -> Outcome:
    """Approve an invoice in review (after applying ``accounts``): every line must have an account;
    lines still on the model's or memory's proposal are recorded as kept (and taught); the invoice
    becomes classified and its entry is built. Approving an approved invoice changes nothing."""
    with _locked(company_nit, cycle_id, invoice_id, conn) as (conn, invoice):
        if invoice["status"] == "classified" and not accounts:
            return Outcome(invoice_id, 0, "classified", 0)
        if invoice["status"] not in ("review", "classified"):
            raise ReviewError(f"la factura {invoice['number']} está en estado {invoice['status']}: no se puede aprobar")
        allowed = chart_store.bookable(company_nit, conn)
        changed = _apply(conn, invoice, _validated(accounts or {}, company_nit, conn, allowed), user)
        lines = db.query("review_invoice_lines", {"invoice_id": invoice_id}, conn)
        if not lines:
            raise ReviewError(f"la factura {invoice['number']} no tiene líneas")
        missing = [str(ln["line_no"]) for ln in lines if ln["account"] is None]
        if missing:
            raise ReviewError(f"la factura {invoice['number']} tiene líneas sin cuenta: {', '.join(missing)}")
        # Every line is checked, the accountant's too: an account removed from the chart since is refused here,
        # not by the accounting program on import.
        current = _validated({ln["line_id"]: ln["account"] for ln in lines}, company_nit, conn, allowed)
        kept = {ln["line_id"]: current[ln["line_id"]] for ln in lines if ln["source"] != ACCOUNTANT}
        changed += _apply(conn, invoice, kept, user)
        if invoice["status"] == "review":
            db.execute("review_invoice_approve", {"invoice_id": invoice_id}, conn)
            _audit(conn, invoice, lines[0]["line_id"], "approved_invoice", None, None, None, user)
        built = _rebuild(conn, invoice)
        if invoice["status"] == "review" or changed:
            _reopen_if_approved(conn, invoice, user, "se aprobó una factura que estaba en revisión")
        return Outcome(invoice_id, changed, "classified", built)


def approve_many(company_nit: str, cycle_id: str, invoice_ids: Iterable[int], user: str) -> int:
    """Approve several invoices in review as ``approve_invoice`` does, in one transaction: if one cannot
    be approved (a line without an account, another company's), none is. Returns how many changed status."""
    approved = 0
    with db.transaction() as cur:
        for invoice_id in sorted(set(invoice_ids)):  # one lock order for every caller
            before = db.query("review_invoice_lock", _lock_params(company_nit, cycle_id, invoice_id), cur.connection)
            outcome = approve_invoice(company_nit, cycle_id, invoice_id, user, conn=cur.connection)
            approved += bool(before and before[0]["status"] == "review" and outcome.status == "classified")
    return approved


def reclassify(
    company_nit: str, cycle_id: str, invoice_id: int, accounts: Mapping[int, str], user: str, conn=None
) -> Outcome:
    """Change lines of an invoice already classified; its entry is rebuilt."""
    with _locked(company_nit, cycle_id, invoice_id, conn) as (conn, invoice):
        if invoice["status"] != "classified":
            raise ReviewError(f"la factura {invoice['number']} no está clasificada: apruébela en la revisión")
        changed = _apply(conn, invoice, _validated(accounts, company_nit, conn), user)
        if not changed:
            return Outcome(invoice_id, 0, "classified", 0)
        built = _rebuild(conn, invoice)
        _reopen_if_approved(conn, invoice, user, "se reclasificó una factura")
        return Outcome(invoice_id, changed, "classified", built)


# --- inside the transaction ---------------------------------------------------------------------


@contextmanager
def _locked(company_nit: str, cycle_id: str, invoice_id: int, conn=None) -> Iterator[tuple[Any, dict[str, Any]]]:
    """A connection inside one transaction and the invoice row, locked, if it is this company's in this cycle.

    With ``conn`` (a caller's transaction, e.g. a whole CSV import) the action is a savepoint in it.
    """
    params = _lock_params(company_nit, cycle_id, invoice_id)
    own = conn is None
    conn = conn or db.connect()
    try:
        with conn.transaction():
            rows = db.query("review_invoice_lock", params, conn)
            if not rows:
                raise ReviewError(f"la factura {invoice_id} no es de la empresa {company_nit} en el ciclo {cycle_id}")
            yield conn, rows[0]
    finally:
        if own:
            conn.close()


def _lock_params(company_nit: str, cycle_id: str, invoice_id: int) -> dict[str, Any]:
    return {"company_nit": company_nit, "cycle_id": cycle_id, "invoice_id": int(invoice_id)}


def _reopen_if_approved(conn, invoice: dict[str, Any], user: str, what: str) -> None:
    """A change to approved books reopens them: the accountant must approve again (and re-export)."""
    approvals.reopen(invoice["company_nit"], invoice["cycle_id"], user, f"{what}: factura {invoice['number']}", conn)


def _validated(
    accounts: Mapping[int, str], company_nit: str, conn, allowed: Mapping[str, Any] | None = None
) -> dict[int, str]:
    """The accounts, each one the company may book a purchase line to (its chart's, or the catalog's)."""
    if not accounts:
        return {}
    allowed = chart_store.bookable(company_nit, conn) if allowed is None else allowed
    return {int(line_id): account_code(account, allowed) for line_id, account in accounts.items()}


def _apply(
    conn, invoice: dict[str, Any], accounts: Mapping[int, str], user: str, applied_from: int | None = None
) -> int:
    """Write the accounts of some lines (audit, classification, memory); returns the lines changed."""
    if not accounts:
        return 0
    lines = {ln["line_id"]: ln for ln in db.query("review_invoice_lines", {"invoice_id": invoice["id"]}, conn)}
    foreign = sorted(set(accounts) - set(lines))
    if foreign:
        raise ReviewError(f"las líneas {foreign} no son de la factura {invoice['number']}")
    changed = 0
    for line_id, account in sorted(accounts.items()):
        line = lines[line_id]
        if line["source"] == ACCOUNTANT and line["account"] == account:
            continue  # already the accountant's choice: repeating it changes nothing
        action = "filled" if line["account"] is None else "kept" if line["account"] == account else "changed"
        _audit(conn, invoice, line_id, action, line["account"], line["source"], account, user, applied_from)
        row = {**_keys(invoice), "line_id": line_id, "invoice_id": invoice["id"], "account": account}
        db.execute("review_classification_set", row, conn)
        lesson = {
            "company_nit": invoice["company_nit"],
            "supplier_nit": invoice["supplier_nit"],
            "description_key": description_key(line["description"]),
            "account": account,
            "confidence": 1,
            "source": ACCOUNTANT,
        }
        db.execute("memory_remember", lesson, conn)
        changed += 1
    return changed


def _keys(invoice: dict[str, Any]) -> dict[str, Any]:
    return {"company_nit": invoice["company_nit"], "cycle_id": invoice["cycle_id"]}


def _audit(
    conn,
    invoice: dict[str, Any],
    line_id: int,
    action: str,
    old_account: str | None,
    old_source: str | None,
    new_account: str | None,
    user: str,
    applied_from: int | None = None,
) -> None:
    row = {
        **_keys(invoice),
        "invoice_id": invoice["id"],
        "line_id": line_id,
        "action": action,
        "old_account": old_account,
        "old_source": old_source,
        "new_account": new_account,
        "changed_by": user,
        "applied_from": applied_from,
    }
    db.execute("review_history_insert", row, conn)


def _rebuild(conn, invoice: dict[str, Any]) -> int:
    try:
        proposal = entries.rebuild_invoice_entry(invoice["company_nit"], invoice["id"], conn)
    except entries.EntryProblem as exc:
        raise ReviewError(f"no se pudo construir el asiento de la factura {invoice['number']}: {exc}") from exc
    return len(proposal.lines)
