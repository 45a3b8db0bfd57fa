"""The classifier's database side: pending invoices, stored verdicts, supplier memory."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from quincena.chart import store as chart_store
from quincena.classify.answers import Problem, for_accountant
from quincena.classify.model import Invoice, Line, Verdict, description_key
from quincena.core import db, puc

log = logging.getLogger(__name__)


def load_pending(company_nit: str, before: date, invoice_ids: Sequence[int] | None = None) -> list[Invoice]:
    """The company's pending invoices issued before ``before`` (only ``invoice_ids`` among them, when given)."""
    ids = list(invoice_ids) if invoice_ids is not None else None
    rows = db.query("classify_pending_invoices", {"company_nit": company_nit, "before": before, "invoice_ids": ids})
    return [
        Invoice(
            invoice_id=r["id"],
            number=r["number"],
            doc_type=r["doc_type"],
            supplier_nit=r["supplier_nit"],
            supplier_name=r["supplier_name"],
            issue_date=r["issue_date"],
            lines=tuple(
                Line(
                    line_id=ln["line_id"],
                    line_no=ln["line_no"],
                    description=ln["description"],
                    line_total=ln["line_total"],
                    quantity=ln["quantity"],
                    tax_percent=ln["tax_percent"],
                )
                for ln in (r["lines"] or [])
            ),
        )
        for r in rows
    ]


# --- validation --------------------------------------------------------------------------------


def store(
    company_nit: str,
    cycle_id: str,
    invoices: Sequence[Invoice],
    verdicts: dict[int, Verdict],
    problems: dict[int, str],
    memory_min_confidence: float,
) -> tuple[int, int]:
    """Write verdicts and invoice outcomes in one transaction. Returns (classified, review).

    An invoice is classified only when every line has a valid verdict; otherwise it goes to
    review with the reasons, and its valid lines are kept as proposals for the accountant.
    """
    classified = review = 0
    memory_writes: list[tuple[str, dict[str, Any]]] = []
    with db.transaction() as cur:
        for invoice in invoices:
            for line in invoice.lines:
                verdict = verdicts.get(line.line_id)
                if verdict is None:
                    continue
                cur.execute(
                    db.load_sql("classification_insert"), _classification_row(company_nit, cycle_id, invoice, verdict)
                )
                memory_writes.extend(_memory_write(company_nit, invoice, line, verdict, memory_min_confidence))
            reasons = [f"línea {ln.line_no}: {for_accountant(problems[ln.line_id])}"
                       for ln in invoice.lines if ln.line_id in problems]  # fmt: skip
            missing = [ln for ln in invoice.lines if ln.line_id not in verdicts and ln.line_id not in problems]
            if missing:
                continue  # not decided in this batch (should not happen): stays pending
            if not invoice.lines:
                reasons = ["la factura no tiene líneas para clasificar"]
            status = "review" if reasons else "classified"
            cur.execute(
                db.load_sql("invoice_finish"),
                {"invoice_id": invoice.invoice_id, "status": status, "reason": "; ".join(reasons)[:2000] or None},
            )
            if cur.rowcount:
                classified += status == "classified"
                review += status == "review"
        # Concurrent batches of one company touch the same memory rows: taking their locks in one
        # global order (and last, after the lines) is what keeps two transactions from deadlocking.
        for name, params in sorted(memory_writes, key=lambda w: (w[1]["supplier_nit"], w[1]["description_key"])):
            cur.execute(db.load_sql(name), params)
    return classified, review


def _classification_row(company_nit: str, cycle_id: str, invoice: Invoice, verdict: Verdict) -> dict[str, Any]:
    return {
        "line_id": verdict.line_id,
        "invoice_id": invoice.invoice_id,
        "company_nit": company_nit,
        "account": verdict.account,
        "confidence": round(verdict.confidence, 3),
        "source": verdict.source,
        "model": verdict.model,
        "prompt_version": verdict.prompt_version,
        "call_id": verdict.call_id,
        "cycle_id": cycle_id,
        "rationale": None,
    }


def _memory_write(
    company_nit: str, invoice: Invoice, line: Line, verdict: Verdict, threshold: float
) -> list[tuple[str, dict[str, Any]]]:
    """The supplier-memory statement a verdict calls for (a hit count, a lesson, or nothing)."""
    key = {
        "company_nit": company_nit,
        "supplier_nit": invoice.supplier_nit,
        "description_key": description_key(line.description),
    }
    if verdict.source == "memory":
        return [("memory_hit", key)]
    if verdict.confidence >= threshold:
        lesson = {**key, "account": verdict.account, "confidence": round(verdict.confidence, 3), "source": "model"}
        return [("memory_remember", lesson)]
    return []


# --- memory --------------------------------------------------------------------------------------


def memory_verdicts(
    company_nit: str, invoices: Sequence[Invoice], allowed: Mapping[str, Any] | None = None
) -> tuple[dict[int, Verdict], dict[int, str]]:
    """Verdicts for every line the company's supplier memory already knows, and the lines whose remembered
    account the company can no longer post to (``allowed``: its own accounts, when it has a chart).

    A lesson in a catalog sub-account learnt before the company's chart was imported is used through the
    company's map or its one account under that sub-account; when it has several, the model decides.
    """
    suppliers = sorted({inv.supplier_nit for inv in invoices})
    if not suppliers:
        return {}, {}
    rows = db.query("memory_for_suppliers", {"company_nit": company_nit, "supplier_nits": suppliers})
    memory = {(r["supplier_nit"], r["description_key"]): r for r in rows}
    chart = chart_store.load(company_nit) if allowed is not None else None
    verdicts: dict[int, Verdict] = {}
    problems: dict[int, str] = {}
    for invoice in invoices:
        for line in invoice.lines:
            hit = memory.get((invoice.supplier_nit, description_key(line.description)))
            if not hit:
                continue
            account = hit["account_code"]
            if chart is not None and account not in allowed:
                generic = account in puc.purchase_accounts()
                mapped = chart.export_code(account) if generic else None
                if mapped in allowed:
                    account = mapped
                elif generic:
                    continue  # an older, generic lesson: the model picks among the company's accounts
                else:
                    problems[line.line_id] = Problem(
                        f"remembered account {account} is no longer in the company's chart",
                        f"la cuenta {account} que se recordaba para este proveedor ya no está activa en el plan "
                        "de cuentas de la empresa: elija otra",
                    )
                    continue
            verdicts[line.line_id] = Verdict(line.line_id, account, float(hit["confidence"]), "memory")
    return verdicts, problems
