"""Asking a company's accountant again now, from the review page (after a correction reopened the books, or
a rejection was fixed), instead of at the next cycle run: a quincena_books run, started inside the
api-server the review pages run in, with the same run id a cycle run would give it."""

from __future__ import annotations

import logging

from quincena.books import approvals
from quincena.core import config

log = logging.getLogger(__name__)


def askable(company_nit: str, cycle_id: str) -> bool:
    """Whether the books need a decision that no waiting request asks for (reopened, rejected, changed)."""
    decision = approvals.current(company_nit, cycle_id)
    return decision is not None and approvals.ask_reason(company_nit, cycle_id) is not None


def ask_now(company_nit: str, cycle_id: str, user: str) -> str | None:
    """Start the books run that asks about the books as they are; its run id, or None when nothing is to ask.
    Asking twice for the same books starts one run."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.exceptions import DagRunAlreadyExists
    from airflow.utils.types import DagRunTriggeredByType

    asked = approvals.ask_reason(company_nit, cycle_id)
    if asked is None:
        return None
    request, reason = asked
    conf = {"cycle": cycle_id, "company_nit": company_nit, "reason": reason, "requested_by": user}
    try:
        trigger_dag(config.BOOKS_DAG_ID, triggered_by=DagRunTriggeredByType.UI, triggering_user_name=user,
                    run_id=request, conf=conf, logical_date=None)  # fmt: skip
    except DagRunAlreadyExists:
        log.info("company %s cycle %s: the request %s already exists", company_nit, cycle_id, request)
    approvals.open_request(request, company_nit, cycle_id, reason, user)  # the pages show it waiting at once
    log.info("company %s cycle %s: approval asked again by %s (%s)", company_nit, cycle_id, user, request)
    return request
