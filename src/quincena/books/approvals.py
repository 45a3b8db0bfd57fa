"""A company-cycle's approval as history: requests made, answers appended, the current decision derived.

An accountant approves the *books* of a company-cycle (every invoice it carries, with its entry), so each
request remembers the books' digest. The rules:

- The first answer recorded for a request wins; any later answer to it is kept as ``refused`` with the
  reason (Airflow keeps the last of two simultaneous answers: this is where the first one wins).
- An answer to a request that a newer one replaced (the books changed through a re-run) is refused.
- A company whose approved books did not change is not asked again.
- A correction after approval reopens the company: a ``reopened`` decision (who, why), its export files
  marked outdated; the next approval exports a new version that lists what changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

from quincena.core import db, es

log = logging.getLogger(__name__)

DECISION_LABELS = {"approved": "aprobada", "rejected": "rechazada", "reopened": "reabierta"}


@dataclass(frozen=True)
class Answer:
    decision: str  # approved | rejected
    decided_by: str
    comment: str | None = None


@dataclass(frozen=True)
class Recorded:
    """What became of an answer: applied (it is the company-cycle's decision now) or refused, and why."""

    company_nit: str
    cycle_id: str
    decision: str
    status: str  # applied | refused
    decided_by: str
    comment: str | None = None
    refused_reason: str | None = None
    left_out: list[dict[str, Any]] | None = None

    @property
    def approved(self) -> bool:
        return self.status == "applied" and self.decision == "approved"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def books_digest(company_nit: str, cycle_id: str, conn=None) -> str:
    return db.query("books_digest", {"company_nit": company_nit, "cycle_id": cycle_id}, conn)[0]["digest"]


def current(company_nit: str, cycle_id: str, conn=None) -> dict[str, Any] | None:
    """The company-cycle's current decision (its latest applied one), or None."""
    rows = db.query("approval_get", {"company_nit": company_nit, "cycle_id": cycle_id}, conn)
    return rows[0] if rows else None


def history(company_nit: str, cycle_id: str) -> list[dict[str, Any]]:
    return db.query("approval_history", {"company_nit": company_nit, "cycle_id": cycle_id})


def request_id(cycle_id: str, company_nit: str, digest: str, decision: dict[str, Any] | None) -> str:
    """The books run that asks about this state of the books: the same state asks once (a re-run finds the
    run there), a change of the books or of the decision asks again."""
    basis = f"{digest}:{decision['decision_id'] if decision else 0}"
    return f"{request_prefix(cycle_id)}{company_nit}__{hashlib.sha256(basis.encode()).hexdigest()[:12]}"


def request_prefix(cycle_id: str) -> str:
    """How the books runs of a cycle's company-cycles begin: ``books__<cycle>__``."""
    return f"books__{cycle_id}__"


_when = es.local_time


def ask_reason(company_nit: str, cycle_id: str) -> tuple[str, str] | None:
    """(request id, why) when the company-cycle must be asked, or None: approved books that did not change,
    or a request for these very books already waiting."""
    digest = books_digest(company_nit, cycle_id)
    decision = current(company_nit, cycle_id)
    if decision and decision["decision"] == "approved" and decision["books_digest"] == digest:
        return None
    waiting = db.query("approval_open_requests", {"company_nit": company_nit, "cycle_id": cycle_id})
    if any(r["books_digest"] == digest for r in waiting):
        return None
    if decision is None:
        why = "Primera solicitud de aprobación de esta quincena."
    elif decision["decision"] == "approved":
        why = (
            f"Los libros cambiaron desde la aprobación del {_when(decision['decided_at'])} por "
            f"{decision['decided_by']}: se pide aprobar de nuevo."
        )
    else:
        label = DECISION_LABELS[decision["decision"]]
        note = f": {decision['comment']}" if decision.get("comment") else ""
        why = f"La quincena fue {label} el {_when(decision['decided_at'])} por {decision['decided_by']}{note}."
    return request_id(cycle_id, company_nit, digest, decision), why


def open_request(
    request: str, company_nit: str, cycle_id: str, reason: str, requested_by: str | None
) -> dict[str, Any]:
    """Record the request (once; a retried step finds it) and retire older waiting ones of the company-cycle."""
    with db.transaction() as cur:
        cur.execute(db.load_sql("export_lock"), {"company_nit": company_nit})  # one writer of its books at a time
        params = {"request_id": request, "cycle_id": cycle_id, "company_nit": company_nit}
        digest = books_digest(company_nit, cycle_id, cur.connection)
        cur.execute(
            db.load_sql("approval_request_open"),
            {**params, "books_digest": digest, "reason": reason, "requested_by": requested_by},
        )
        cur.execute(db.load_sql("approval_requests_supersede"), params)
        cur.execute(db.load_sql("approval_request_get"), params)
        return cur.fetchone()


def record(request: str, answer: Answer, run_id: str | None) -> Recorded:
    """Append the answer to the request's company-cycle: applied when it is the request's first answer and
    the request was not replaced, refused (and kept) otherwise."""
    with db.transaction() as cur:
        asked = get_request_locked(cur, request)
        nit, cycle_id = asked["company_nit"], asked["cycle_id"]
        digest = books_digest(nit, cycle_id, cur.connection)
        reason = _refusal(cur, asked)
        if reason is None:
            left_out = _left_out(cur, nit, cycle_id) if answer.decision == "approved" else None
            row = _decision_row(asked, answer, run_id, digest)
            cur.execute(
                db.load_sql("approval_decision_apply"), {**row, "left_out": json.dumps(left_out) if left_out else None}
            )
            if cur.fetchone() is not None:
                cur.execute(db.load_sql("approval_request_close"), {"request_id": request, "outcome": answer.decision})
                log.info("company %s cycle %s: %s by %s", nit, cycle_id, answer.decision, answer.decided_by)
                return Recorded(nit, cycle_id, answer.decision, "applied", answer.decided_by, answer.comment,
                                left_out=left_out)  # fmt: skip
            reason = _already_answered(cur, request)
        return _refused(cur, asked, answer, reason, run_id, digest)


def refuse(request: str, answer: Answer, reason: str, run_id: str | None) -> Recorded:
    """Keep an answer that must not take effect (e.g. from a user without access to the company), with why."""
    with db.transaction() as cur:
        return _refused(cur, get_request_locked(cur, request), answer, reason, run_id, None)


def _decision_row(asked: dict[str, Any], answer: Answer, run_id: str | None, digest: str | None) -> dict[str, Any]:
    return {
        "cycle_id": asked["cycle_id"], "company_nit": asked["company_nit"], "decision": answer.decision,
        "decided_by": answer.decided_by, "comment": answer.comment, "run_id": run_id,
        "request_id": asked["request_id"], "books_digest": digest,
    }  # fmt: skip


def _refused(
    cur, asked: dict[str, Any], answer: Answer, reason: str, run_id: str | None, digest: str | None
) -> Recorded:
    """Store the answer as refused, with the reason; it changes no decision."""
    row = _decision_row(asked, answer, run_id, digest)
    cur.execute(db.load_sql("approval_decision_refuse"), {**row, "refused_reason": reason})
    nit, cycle_id = asked["company_nit"], asked["cycle_id"]
    log.warning("company %s cycle %s: answer %s by %s refused: %s", nit, cycle_id, answer.decision,
                answer.decided_by, reason)  # fmt: skip
    return Recorded(nit, cycle_id, answer.decision, "refused", answer.decided_by, answer.comment, reason)


def get_request_locked(cur, request: str) -> dict[str, Any]:
    """The request, with its company's books locked for the caller's transaction."""
    cur.execute(db.load_sql("approval_request_get"), {"request_id": request})
    asked = cur.fetchone()
    if asked is None:
        raise LookupError(f"no approval request {request!r} on record")
    cur.execute(db.load_sql("export_lock"), {"company_nit": asked["company_nit"]})
    return asked


def _refusal(cur, asked: dict[str, Any]) -> str | None:
    """Why an answer cannot take effect: its request was replaced or already answered. (Corrections made on
    the review page while a request waits are what the accountant approves: the answer records the books as
    they are when it arrives, with the invoices still in review left out.)"""
    if asked["outcome"] == "superseded":
        return "la solicitud fue reemplazada por una más reciente (los libros cambiaron): responda esa"
    if asked["closed_at"] is not None:
        if asked["outcome"] in ("approved", "rejected"):
            return _already_answered(cur, asked["request_id"])
        return f"la solicitud ya estaba cerrada ({asked['outcome']})"
    return None


def _already_answered(cur, request: str) -> str:
    cur.execute(db.load_sql("approval_decision_first"), {"request_id": request})
    first = cur.fetchone()
    if first is None:
        return "la solicitud ya estaba cerrada"
    label = DECISION_LABELS.get(first["decision"], first["decision"])
    return f"la solicitud ya fue respondida: {label} por {first['decided_by']} el {_when(first['decided_at'])}"


def _left_out(cur, company_nit: str, cycle_id: str) -> list[dict[str, Any]]:
    cur.execute(db.load_sql("review_in_review_invoices"), {"company_nit": company_nit, "cycle_id": cycle_id})
    return [{"id": r["id"], "number": r["number"]} for r in cur.fetchall()]


def reopen(company_nit: str, cycle_id: str, by: str, why: str, conn=None) -> dict[str, Any] | None:
    """A correction to approved books: record who reopened them and why, and mark their export files
    outdated. None when the company-cycle was not approved (nothing to reopen)."""
    decision = current(company_nit, cycle_id, conn)
    if not decision or decision["decision"] != "approved":
        return None
    with db.transaction(conn) as cur:
        cur.execute(
            db.load_sql("approval_decision_apply"),
            {"cycle_id": cycle_id, "company_nit": company_nit, "decision": "reopened", "decided_by": by,
             "comment": why, "run_id": None, "request_id": None, "books_digest": decision["books_digest"],
             "left_out": None},
        )  # fmt: skip
        cur.execute(db.load_sql("exports_mark_outdated"), {"company_nit": company_nit, "cycle_id": cycle_id})
        outdated = list(cur.fetchall())
    log.info("company %s cycle %s reopened by %s (%s); %d export file(s) outdated", company_nit, cycle_id, by,
             why, len(outdated))  # fmt: skip
    return {"previous": decision, "outdated_files": outdated}


def cycle_states(cycle_id: str, companies: list[str]) -> list[dict[str, Any]]:
    """Each company's approval state in the cycle (current decision and latest request), for the reports."""
    return db.query("approval_cycle_states", {"cycle_id": cycle_id, "companies": companies})


def state_text(row: dict[str, Any]) -> str:
    """One Spanish line for a company's approval state (cycle report, review overview)."""
    if row.get("failed_step"):
        return f"FALLÓ el paso {row['failed_step']} ({_when(row['closed_at'])}): ver la ejecución {row['request_id']}"
    waiting = row.get("request_id") and row.get("closed_at") is None
    if row.get("decision") == "approved" and not waiting:
        left = row.get("left_out") or []
        extra = f"; {len(left)} factura(s) en revisión quedaron fuera" if left else ""
        return f"aprobada por {row['decided_by']} el {_when(row['decided_at'])}{extra}"
    if row.get("decision") == "rejected" and not waiting:
        return f"rechazada por {row['decided_by']} el {_when(row['decided_at'])}: {row.get('comment') or ''}".strip()
    if waiting:
        return f"esperando aprobación desde {_when(row['requested_at'])}"
    if row.get("decision") == "reopened":
        return f"reabierta por {row['decided_by']} el {_when(row['decided_at'])}: {row.get('comment') or ''}"
    return "sin solicitud de aprobación todavía"


def page_notice(company_nit: str, cycle_id: str) -> str | None:
    """What the accountant must know before changing these books (Spanish), or None when nothing was
    approved: who approved them, when they were exported and which vouchers the accounting program may hold."""
    decision = current(company_nit, cycle_id)
    if not decision or decision["decision"] not in ("approved", "reopened"):
        return None
    files = db.query("export_company_latest", {"company_nit": company_nit, "cycle_id": cycle_id})
    exported = "; ".join(
        f"exportada el {_when(f['created_at'])} ({f['format']} v{f['version']}"
        + (f", comprobantes {f['first_voucher']}–{f['last_voucher']}" if f["first_voucher"] else "")
        + (", desactualizada" if f["status"] == "outdated" else "")
        + ")"
        for f in files
    )
    if decision["decision"] == "reopened":
        return (
            f"Reabierta el {_when(decision['decided_at'])} por {decision['decided_by']} ({decision['comment']}). "
            f"{exported + '. ' if exported else ''}Debe aprobarse de nuevo; la nueva exportación dirá qué "
            "comprobantes anular y cuáles cargar en el programa contable."
        )
    held = f"{exported}: esos comprobantes ya pueden estar en el programa contable. " if exported else ""
    return (
        f"Aprobada el {_when(decision['decided_at'])} por {decision['decided_by']}. {held}"
        "Un cambio reabre la aprobación: habrá que aprobar de nuevo y cargar los comprobantes de reemplazo."
    )


def needs_confirmation(company_nit: str, cycle_id: str) -> bool:
    """A change to these books would reopen an approval (the page asks the accountant to confirm it)."""
    decision = current(company_nit, cycle_id)
    return bool(decision and decision["decision"] == "approved")
