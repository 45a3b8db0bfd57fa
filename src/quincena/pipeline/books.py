"""The quincena_books run's steps: one company-cycle's approval request, the answer recorded, the export.

A cycle run starts one books run per company-cycle whose books need a decision (``to_request``); the run
asks the accountant (pipeline.approval), records the answer (books.approvals: first answer wins), exports
every configured format when approved, and rewrites the cycle's report so it shows the approval states.
Inputs and outputs are plain dicts: they travel through XCom.
"""

from __future__ import annotations

import logging
from typing import Any

from quincena.books import approvals
from quincena.core import db, numbers

log = logging.getLogger(__name__)


class StepFailed(RuntimeError):
    """A step of the books run failed: the report says so and the run ends failed."""


class BooksRequestError(ValueError):
    """The books run's configuration does not name a company-cycle: trigger it from a cycle run."""


def to_request(cycle_id: str, companies: list[str], requested_by: str | None) -> list[dict[str, Any]]:
    """The books runs a cycle run starts: for each complete company, its cycle, any earlier cycle whose
    books this run changed and any cycle reopened by a correction, unless their approved books did not
    change or a request for them already waits.
    One dict per run: ``trigger_run_id`` and ``conf`` (TriggerDagRunOperator's arguments)."""
    runs = []
    for nit in companies:
        params = {"cycle_id": cycle_id, "company_nit": nit}
        touched = [r["cycle_id"] for r in db.query("approval_cycles_touched", params)]
        touched += [r["cycle_id"] for r in db.query("approval_cycles_reopened", params)]
        for book_cycle in sorted({cycle_id, *touched}):
            asked = approvals.ask_reason(nit, book_cycle)
            if asked is None:
                log.info("company %s cycle %s: approved books unchanged or already asked: not asked again", nit,
                         book_cycle)  # fmt: skip
                continue
            request, reason = asked
            conf = {"cycle": book_cycle, "company_nit": nit, "reason": reason, "requested_by": requested_by}
            runs.append({"trigger_run_id": request, "conf": conf})
    log.info("cycle %s: %d approval request(s) to start", cycle_id, len(runs))
    return runs


def prepare(conf: dict[str, Any], run_id: str) -> dict[str, Any]:
    """Record the request and return what the accountant is shown (the company's figures, the reason)."""
    nit, cycle_id = (conf.get("company_nit") or "").strip(), (conf.get("cycle") or "").strip()
    if not nit or not cycle_id:
        raise BooksRequestError("a books run needs conf {'cycle': 'YYYY-MM-Qn', 'company_nit': 'NIT'}")
    company = db.query("ingest_company_get", {"nit": nit})
    if not company:
        raise BooksRequestError(f"company {nit} is not in the registry")
    reason = conf.get("reason") or "Solicitud de aprobación."
    request = approvals.open_request(run_id, nit, cycle_id, reason, conf.get("requested_by"))
    row = db.query("company_cycle_summary", {"company_nit": nit, "cycle_id": cycle_id})[0]
    summary = {
        **numbers.plain(row),
        "company_name": company[0]["name"],
        "request_id": run_id,
        "reason": request["reason"],
        "books_digest": request["books_digest"],
    }
    log.info("company %s cycle %s: approval requested (%s): %s", nit, cycle_id, request["reason"], summary)
    refresh_report(cycle_id, nit)  # the cycle's report shows the company waiting, and since when
    return summary


def refresh_report(cycle_id: str, company_nit: str):
    """Rewrite the cycle's cost report (every company it covers) with the approval states as they are now."""
    from quincena.costs import cycle_costs

    companies = [r["member"] for r in db.query("cycle_report_companies", {"cycle_id": cycle_id})]
    return cycle_costs.aggregate_cycle(cycle_id, sorted(set(companies) | {company_nit}))


def apply(summary: dict[str, Any], answer: approvals.Answer | None, run_id: str) -> dict[str, Any]:
    """Record the answer; a request left without one (marked done by hand) records nothing."""
    if answer is None:
        log.warning("company %s cycle %s: the approval step gave no answer; nothing recorded",
                    summary["company_nit"], summary["cycle_id"])  # fmt: skip
        return {"company_nit": summary["company_nit"], "cycle_id": summary["cycle_id"], "status": "none"}
    return approvals.record(summary["request_id"], answer, run_id).to_dict()


FAILED_STATES = {"failed", "upstream_failed"}


def failed_steps(task_states: dict[str, Any], run_id: str) -> list[str]:
    """The run's failed steps, from Airflow's task states ({run_id: {task_id: state}})."""
    states = task_states.get(run_id) or {}
    return sorted(task for task, state in states.items() if str(state) in FAILED_STATES)


def finish(summary: dict[str, Any] | None, failed: list[str]) -> dict[str, Any]:
    """Rewrite the cycle's report with the approval states; a failed step closes the request as failed."""
    if summary is None:
        raise StepFailed("the prepare step failed (see its log): no request was made")
    nit, cycle_id = summary["company_nit"], summary["cycle_id"]
    if failed:
        db.execute("approval_request_failed", {"request_id": summary["request_id"], "failed_step": ", ".join(failed)})
    report = refresh_report(cycle_id, nit)
    if failed:
        _alert_failed(summary, failed, str(report.html_path))
        raise StepFailed(
            f"company {nit} cycle {cycle_id}: the step(s) {', '.join(failed)} failed — see their logs; "
            f"the cycle report says so ({report.html_path})"
        )
    return {"company_nit": nit, "cycle_id": cycle_id, "report": str(report.html_path)}


def _alert_failed(summary: dict[str, Any], failed: list[str], report: str) -> None:
    """Tell the firm's alert channels which company's approval step failed (best effort: the run fails anyway)."""
    from quincena.costs.alerts import HealthAlertNotifier

    nit, cycle_id = summary["company_nit"], summary["cycle_id"]
    message = f"company {nit} {summary.get('company_name', '')}: approval step(s) {', '.join(failed)} failed"
    alert = {"kind": "approval_failed", "subject": f"{cycle_id} {nit}", "message": message}
    HealthAlertNotifier(f"quincena: approval of {cycle_id} failed for {nit}", [alert], report)({})
