"""The proposed causación: the deterministic other side of each classified invoice.

Debits: each classified line's account, deductible IVA (240810), other taxes into the main
line's account (not deductible). Credits: the withholdings the buyer practices and the payable.
A credit note mirrors it. Debits equal credits to the peso, by construction and by check.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

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
    if main_account in _PUBLIC_SERVICES:
        return "233550"  # servicios públicos por pagar
    return "233595"


def build_entry(invoice: dict[str, Any]) -> list[EntryLine]:
    """The entry for one classified invoice (a row of entries_invoices_to_post)."""
    by_account: dict[str, Decimal] = defaultdict(Decimal)
    for line in invoice["lines"] or []:
        by_account[line["account"]] += Decimal(line["amount"])
    if not by_account:
        raise ValueError(f"invoice {invoice['number']} has no classified lines")
    main = max(by_account, key=lambda account: (by_account[account], account))
    debits = dict(by_account)
    credits: dict[str, Decimal] = defaultdict(Decimal)
    for tax in invoice["taxes"] or []:
        amount = Decimal(tax["amount"])
        if tax["kind"] == "tax":
            account = IVA_DEDUCTIBLE if tax["scheme_id"] == "01" else main
            debits[account] = debits.get(account, Decimal(0)) + amount
        else:
            account = {"05": RETE_IVA, "07": RETE_ICA}.get(tax["scheme_id"], retefuente_account(main))
            credits[account] += amount
    payable = sum(debits.values(), Decimal(0)) - sum(credits.values(), Decimal(0))
    credits[payable_account(main)] += payable
    label = f"{invoice['supplier_name']} {invoice['number']}"
    lines = [EntryLine(a, v, Decimal(0), label) for a, v in debits.items() if v] + [
        EntryLine(a, Decimal(0), v, label) for a, v in credits.items() if v
    ]
    if invoice["doc_type"] == "credit_note":  # a credit note reverses the purchase
        lines = [EntryLine(ln.account, ln.credit, ln.debit, ln.description) for ln in lines]
    return lines


def totals_problem(invoice: dict[str, Any], lines: list[EntryLine]) -> str | None:
    """Why the entry does not match the invoice's own totals, or None."""
    debit = sum((ln.debit for ln in lines), Decimal(0))
    credit = sum((ln.credit for ln in lines), Decimal(0))
    if debit != credit:
        return f"entry unbalanced: debits {debit} vs credits {credit}"
    expected = invoice["tax_inclusive_amount"] - invoice["allowance_total_amount"] + invoice["charge_total_amount"]
    if debit != expected:
        return f"entry total {debit} differs from the invoice total {expected}: check lines and taxes"
    return None


def post_company_entries(company_nit: str) -> dict[str, int]:
    """Write entries for the company's classified invoices that have none (idempotent)."""
    posted = flagged = 0
    for invoice in db.query("entries_invoices_to_post", {"company_nit": company_nit}):
        lines = build_entry(invoice)
        problem = totals_problem(invoice, lines)
        with db.transaction() as cur:
            if problem:
                cur.execute(db.load_sql("invoice_flag_review"), {"invoice_id": invoice["id"], "reason": problem})
                flagged += 1
                continue
            rows = [
                {
                    "invoice_id": invoice["id"],
                    "seq": seq,
                    "account": ln.account,
                    "debit": ln.debit,
                    "credit": ln.credit,
                    "description": ln.description[:300],
                }
                for seq, ln in enumerate(lines, start=1)
            ]
            db.execute_many("journal_line_insert", rows, cur)
            posted += 1
    return {"entries_posted": posted, "flagged_for_review": flagged}
