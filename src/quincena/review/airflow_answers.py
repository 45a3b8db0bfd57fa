"""Airflow's own copy of each approval answer, compared with the decision the books recorded.

Two answers sent to one request at the same moment both succeed in Airflow 3.3.2 and Airflow keeps the last,
while the books run resumed with the one it saw first. Only the api-server (where the review pages run) can
read Airflow's stored answers; when one differs from the recorded decision, it is appended as refused, so
what Airflow's "Required Actions" shows is never silently different from the books.
"""

from __future__ import annotations

import logging
from typing import Any

from quincena.books import approvals
from quincena.core import config, db

log = logging.getLogger(__name__)

APPROVAL_TASK = "approval"


def stored_answers(run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """{books run id: Airflow's stored answer of its approval request}, for the answered ones."""
    if not run_ids:
        return {}
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(
                TaskInstance.run_id, HITLDetail.chosen_options, HITLDetail.params_input, HITLDetail.responded_by
            )
            .join(HITLDetail, HITLDetail.ti_id == TaskInstance.id)
            .filter(TaskInstance.dag_id == config.BOOKS_DAG_ID, TaskInstance.task_id == APPROVAL_TASK)
            .filter(TaskInstance.run_id.in_(run_ids), HITLDetail.chosen_options.isnot(None))
            .all()
        )
    return {
        run_id: {"chosen_options": chosen, "params_input": params or {}, "responded_by_user": by}
        for run_id, chosen, params, by in rows
    }


def record_overwritten(cycle_id: str) -> int:
    """Append, as refused, every stored answer that differs from the decision applied for its request;
    returns how many were appended (each one once)."""
    from quincena.pipeline.approval import decision_of

    answered = db.query("approval_requests_answered", {"cycle_id": cycle_id})
    stored = stored_answers([r["request_id"] for r in answered])
    added = 0
    for row in answered:
        kept = decision_of(stored.get(row["request_id"]))
        if kept is None or (kept.decision, kept.decided_by) == (row["decision"], row["decided_by"]):
            continue
        if {"decision": kept.decision, "decided_by": kept.decided_by} in row["refused"]:
            continue
        log.warning("company %s cycle %s: Airflow kept %s by %s over the applied %s: recorded as refused",
                    row["company_nit"], cycle_id, kept.decision, kept.decided_by, row["decision"])  # fmt: skip
        approvals.record(row["request_id"], kept, None)
        added += 1
    return added
