"""The proposed causación: the deterministic other side of each classified invoice.

Debits: each classified line's account, deductible IVA (240810; into the main line's account when
the buyer's profile says IVA is not deductible), other taxes into the main line's account. Credits:
the withholdings the buyer practises, computed by the tax engine (books.withholdings) from the
buyer's and the supplier's profiles, and the payable (total − withholdings). A credit note reverses
its invoice's withholdings proportionally and mirrors the entry. Debits equal credits to the peso,
by construction and by check.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from quincena.books.withholdings import engine
from quincena.books.withholdings.engine import (
    BuyerProfile,
    Purchase,
    PurchaseLine,
    SupplierProfile,
    Withholding,
    to_peso,
)
from quincena.books.withholdings.rules import RulesError
from quincena.core import db

IVA_DEDUCTIBLE = "240810"
RETE_IVA = "236701"
RETE_ICA = "236801"
_GOODS_PREFIXES = ("14", "15", "61")
_PUBLIC_SERVICES = {"513525", "513530", "513535", "513555"}


@dataclass(frozen=True)
class EntryLine:
    account: str
    debit: Decimal
    credit: Decimal
    description: str
    base: Decimal | None = None  # withholding lines: the base and rate the export needs
    rate: Decimal | None = None
    concept: str | None = None
    tax: str | None = None  # retefuente | reteiva | reteica
    why: str | None = None


@dataclass
class Proposal:
    """A proposed entry and what the accountant should know about it."""

    lines: list[EntryLine]
    notes: list[str] = field(default_factory=list)
    review_reason: str | None = None  # set: post the entry, but send the invoice to review


def retefuente_account(main_account: str) -> str:
    """ReteFuente sub-account by the concept of the invoice's main line."""
    if main_account[:4] in ("5110", "5210"):
        return "236515"  # honorarios
    if main_account[:4] in ("5120", "5220"):
        return "236530"  # arrendamientos
    if main_account.startswith(_GOODS_PREFIXES):
        return "236540"  # compras
    return "236525"  # servicios


def payable_account(main_account: str) -> str:
    if main_account.startswith(_GOODS_PREFIXES):
        return "220505"  # proveedores nacionales
    if main_account[:4] in ("5110", "5210"):
        return "233525"  # honorarios por pagar
    if main_account[:6] in _PUBLIC_SERVICES:  # a company auxiliary keeps its sub-account as prefix
        return "233550"  # servicios públicos por pagar
    return "233595"


def _accounts(invoice: dict[str, Any]) -> tuple[dict[str, Decimal], str]:
    by_account: dict[str, Decimal] = defaultdict(Decimal)
    for line in invoice["lines"] or []:
        by_account[line["account"]] += Decimal(line["amount"])
    if not by_account:
        raise ValueError(f"invoice {invoice['number']} has no classified lines")
    return by_account, max(by_account, key=lambda account: (by_account[account], account))


def build_entry(
    invoice: dict[str, Any], withholdings: list[Withholding] | None = None, iva_deductible: bool = True
) -> list[EntryLine]:
    """The entry for one classified invoice (a row of entries_invoices_to_post) and the buyer's withholdings.

    Without ``withholdings`` the ones the XML states are used (the old behaviour, kept for callers
    without profiles); the engine's are passed by ``propose``.
    """
    by_account, main = _accounts(invoice)
    debits = dict(by_account)
    for tax in invoice["taxes"] or []:
        if tax["kind"] == "tax":
            deductible = tax["scheme_id"] == "01" and iva_deductible
            account = IVA_DEDUCTIBLE if deductible else main
            debits[account] = debits.get(account, Decimal(0)) + Decimal(tax["amount"])
    label = f"{invoice['supplier_name']} {invoice['number']}"
    if withholdings is None:
        withholdings = _stated_withholdings(invoice, main)
    credits = [
        EntryLine(w.account, Decimal(0), w.amount, label, w.base, w.rate, w.concept, w.tax, w.why)
        for w in withholdings
        if w.amount
    ]
    payable = sum(debits.values(), Decimal(0)) - sum((ln.credit for ln in credits), Decimal(0))
    lines = [EntryLine(a, v, Decimal(0), label) for a, v in debits.items() if v] + credits
    if payable:
        lines.append(EntryLine(payable_account(main), Decimal(0), payable, label, why="total − withholdings"))
    if invoice["doc_type"] == "credit_note":  # a credit note reverses the purchase
        lines = [dataclasses.replace(ln, debit=ln.credit, credit=ln.debit) for ln in lines]
    return lines


_STATED = {"06": "retefuente", "05": "reteiva", "07": "reteica"}


def _stated_withholdings(invoice: dict[str, Any], main: str) -> list[Withholding]:
    stated = []
    for tax in invoice["taxes"] or []:
        if tax["kind"] == "withholding":
            kind = _STATED.get(tax["scheme_id"], "retefuente")
            account = {"reteiva": RETE_IVA, "reteica": RETE_ICA}.get(kind, retefuente_account(main))
            amount = Decimal(tax["amount"])
            stated.append(Withholding(kind, "xml", account, Decimal(0), Decimal(0), amount, "as stated in the XML"))
    return stated


def stated_by_tax(invoice: dict[str, Any]) -> dict[str, Decimal]:
    """What the supplier's XML states it expects withheld, per tax."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for tax in invoice["taxes"] or []:
        if tax["kind"] == "withholding":
            totals[_STATED.get(tax["scheme_id"], "retefuente")] += Decimal(tax["amount"])
    return dict(totals)


def purchase_of(invoice: dict[str, Any], earlier_in_year: Mapping[str, Decimal] | None = None) -> Purchase:
    """The engine's view of a classified invoice (``earlier_in_year``: see Purchase)."""
    taxes = invoice["taxes"] or []
    iva = sum((Decimal(t["amount"]) for t in taxes if t["kind"] == "tax" and t["scheme_id"] == "01"), Decimal(0))
    lines = tuple(
        PurchaseLine(
            ln["account"],
            Decimal(ln["amount"]),
            Decimal(ln.get("tax_amount") or 0),
            None if ln.get("iva_base") is None else Decimal(ln["iva_base"]),
        )
        for ln in invoice["lines"] or []
    )
    return Purchase(_as_date(invoice["issue_date"]), lines, iva, dict(earlier_in_year or {}))


def earlier_in_year(company_nit: str, invoice: dict[str, Any], conn=None) -> dict[str, Decimal]:
    """ReteFuente bases by concept of the supplier's earlier entries in the invoice's year (this buyer's books)."""
    issued = _as_date(invoice["issue_date"])
    params = {
        "company_nit": company_nit,
        "supplier_nit": invoice["supplier_nit"],
        "year": issued.year,
        "issue_date": issued,
        "invoice_id": invoice["id"],
    }
    return {row["concept"]: Decimal(row["base"]) for row in db.query("tax_supplier_year_bases", params, conn)}


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def reverse_withholdings(invoice: dict[str, Any], original: dict[str, Any]) -> list[Withholding]:
    """A credit note's withholdings: those of the credited invoice, in proportion to the amount credited."""
    original_base = Decimal(original["line_extension_amount"])
    if original_base <= 0:
        return []
    ratio = Decimal(invoice["line_extension_amount"]) / original_base
    shown = (ratio * 100).quantize(Decimal("0.01"))
    return [
        Withholding(
            tax=w["tax"],
            concept=w["concept"],
            account=w["account"],
            base=(Decimal(w["base"]) * ratio).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
            rate=Decimal(w["rate"]),
            amount=to_peso(Decimal(w["amount"]) * ratio),
            why=f"reverses {shown}% of the {w['tax']} of invoice {original['number']} ({w['amount']})",
        )
        for w in original["withholdings"] or []
    ]


def propose(
    invoice: dict[str, Any],
    buyer: BuyerProfile,
    supplier: SupplierProfile,
    original: dict[str, Any] | None = None,
    earlier: Mapping[str, Decimal] | None = None,
) -> Proposal:
    """The entry with the buyer's computed withholdings; a review reason when the XML disagrees or the engine
    asks for a check (an AIU it cannot find).

    ``original``: for a credit note, the credited invoice (number, line_extension_amount and its
    withholding lines); None when it is unknown. ``earlier``: the supplier's ReteFuente bases already in
    the books this year (earlier_in_year); None counts nothing.
    """
    notes: list[str] = []
    checks: list[str] = []  # what the accountant must look at, besides the XML's own figures
    if invoice["doc_type"] == "credit_note" and original is not None:
        withholdings = reverse_withholdings(invoice, original)
    else:
        try:
            assessment = engine.compute(purchase_of(invoice, earlier), buyer, supplier)
        except RulesError as exc:  # an invoice of a year with no rules file: no guess, a person decides
            lines = build_entry(invoice, [], buyer.iva_deductible)
            return Proposal(lines, [str(exc)], f"retenciones sin calcular: {exc}")
        withholdings, notes, checks = assessment.withholdings, list(assessment.notes), list(assessment.review)
        if invoice["doc_type"] == "credit_note":
            notes.append("credit note: the credited invoice is not on file; withholdings computed on the note itself")
    lines = build_entry(invoice, withholdings, buyer.iva_deductible)
    stated = stated_by_tax(invoice)
    if any(stated.values()):
        computed: dict[str, Decimal] = defaultdict(Decimal)
        for w in withholdings:
            computed[w.tax] += w.amount
        differs = [t for t in sorted(set(stated) | set(computed)) if abs(stated.get(t, 0) - computed.get(t, 0)) >= 1]
        if differs:
            figures = "; ".join(
                f"{t}: XML {stated.get(t, Decimal(0))}, calculada {computed.get(t, Decimal(0))}" for t in differs
            )
            checks.append(f"las retenciones del XML difieren de las calculadas (se usaron las calculadas): {figures}")
    return Proposal(lines=lines, notes=notes, review_reason="; ".join(checks) or None)


def totals_problem(invoice: dict[str, Any], lines: list[EntryLine]) -> str | None:
    """Why the entry does not match the invoice's own totals, or None."""
    debit = sum((ln.debit for ln in lines), Decimal(0))
    credit = sum((ln.credit for ln in lines), Decimal(0))
    if debit != credit:
        return f"asiento descuadrado: débitos {debit} frente a créditos {credit}"
    expected = invoice["tax_inclusive_amount"] - invoice["allowance_total_amount"] + invoice["charge_total_amount"]
    if debit != expected:
        return f"el total del asiento {debit} difiere del total de la factura {expected}: revise líneas e impuestos"
    return None


def buyer_profile(row: dict[str, Any]) -> BuyerProfile:
    """A company's tax profile from its registry row (tax_company_profile)."""
    return BuyerProfile(
        nit=row["nit"],
        withholding_agent=row["withholding_agent"],
        gran_contribuyente=row["gran_contribuyente"],
        reteiva_agent=row["reteiva_agent"],
        autorretenedor=row["autorretenedor"],
        regimen=row["regimen"],
        ica_city=row["ica_city"],
        iva_deductible=row["iva_deductible"],
    )


def load_buyer(company_nit: str, conn=None) -> BuyerProfile | None:
    rows = db.query("tax_company_profile", {"nit": company_nit}, conn)
    return buyer_profile(rows[0]) if rows else None


def supplier_of(invoice: dict[str, Any]) -> SupplierProfile:
    """The supplier's profile joined to an entries_invoices_to_post row (unknown when never learnt)."""
    return SupplierProfile(
        nit=invoice["supplier_nit"],
        person_type=invoice.get("supplier_person_type"),
        responsibilities=tuple(invoice.get("supplier_responsibilities") or ()),
        city=invoice.get("supplier_city"),
        declarante=invoice.get("supplier_declarante"),
    )


def _credited_invoice(company_nit: str, invoice: dict[str, Any], conn) -> dict[str, Any] | None:
    if invoice["doc_type"] != "credit_note" or not invoice.get("billing_reference"):
        return None
    rows = db.query("tax_credited_invoice", {"company_nit": company_nit, "cufe": invoice["billing_reference"]}, conn)
    return rows[0] if rows and rows[0]["posted"] else None


def post_company_entries(company_nit: str) -> dict[str, int]:
    """Write entries for the company's classified invoices that have none (idempotent).

    Withholdings are the engine's; an invoice whose XML states different ones is posted with the
    computed ones and sent to review with both figures. An entry that does not match the invoice's
    own totals is not posted and goes to review.
    """
    posted = flagged = 0
    conn = db.connect()
    try:
        buyer = load_buyer(company_nit, conn) or BuyerProfile(company_nit)
        query = {"company_nit": company_nit, "invoice_id": None}
        for invoice in db.query("entries_invoices_to_post", query, conn):
            proposal, problem = _proposal(company_nit, invoice, buyer, conn)
            with db.transaction(conn) as cur:
                if problem:
                    cur.execute(db.load_sql("invoice_flag_review"), {"invoice_id": invoice["id"], "reason": problem})
                    flagged += 1
                    continue
                db.execute_many("journal_line_insert", journal_rows(invoice["id"], proposal.lines), cur)
                posted += 1
                if proposal.review_reason:
                    reason = {"invoice_id": invoice["id"], "reason": proposal.review_reason}
                    cur.execute(db.load_sql("invoice_flag_review"), reason)
                    flagged += 1
    finally:
        conn.close()
    return {"entries_posted": posted, "flagged_for_review": flagged}


def _proposal(company_nit: str, invoice: dict[str, Any], buyer: BuyerProfile, conn) -> tuple[Proposal, str | None]:
    original = _credited_invoice(company_nit, invoice, conn)
    proposal = propose(invoice, buyer, supplier_of(invoice), original, earlier_in_year(company_nit, invoice, conn))
    return proposal, totals_problem(invoice, proposal.lines)


class EntryProblem(ValueError):
    """An invoice's entry cannot be built as it stands (it would not match the invoice's totals)."""


def rebuild_invoice_entry(company_nit: str, invoice_id: int, conn) -> Proposal:
    """Replace one classified invoice's entry with one built from its current classifications.

    For the accountant's review (approve, re-classify): runs inside the caller's transaction on
    ``conn`` (so a failure leaves the old entry), idempotent. The invoice stays classified even when
    the XML's withholdings differ (the accountant has seen the invoice); an entry that does not match
    the invoice's totals raises EntryProblem.
    """
    db.execute("journal_lines_delete", {"invoice_id": invoice_id}, conn)
    rows = db.query("entries_invoices_to_post", {"company_nit": company_nit, "invoice_id": invoice_id}, conn)
    if not rows:
        raise EntryProblem(f"invoice {invoice_id} is not a classified invoice of company {company_nit}")
    buyer = load_buyer(company_nit, conn) or BuyerProfile(company_nit)
    proposal, problem = _proposal(company_nit, rows[0], buyer, conn)
    if problem:
        raise EntryProblem(problem)
    with db.transaction(conn) as cur:
        db.execute_many("journal_line_insert", journal_rows(invoice_id, proposal.lines), cur)
    return proposal


def journal_rows(invoice_id: int, lines: list[EntryLine]) -> list[dict[str, Any]]:
    return [
        {
            "invoice_id": invoice_id,
            "seq": seq,
            "account": ln.account,
            "debit": ln.debit,
            "credit": ln.credit,
            "description": ln.description[:300],
            "base": ln.base,
            "rate": ln.rate,
            "concept": ln.concept,
            "tax": ln.tax,
            "why": ln.why,
        }
        for seq, ln in enumerate(lines, start=1)
    ]
