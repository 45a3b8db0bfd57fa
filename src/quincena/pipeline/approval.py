"""The approval step at the end of each company's group: an Airflow human-in-the-loop request.

The accountant sees the company's figures and a link to its review page, and answers "Aprobar" or
"Rechazar" (with a comment) in Airflow's "Required Actions" or through the REST API. While it waits the
task holds no worker and no pool slot (state ``awaiting_input``). ``apply_approval`` then records the
answer in ``company_approvals``; what follows (posting, export) runs only for approved companies.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param

from quincena.core import config, db

log = logging.getLogger(__name__)

APPROVE, REJECT = "Aprobar", "Rechazar"
OPTIONS = [APPROVE, REJECT]
COMMENT = "comentario"
SUMMARY_TASK = "company.summarize"


def request_text(summary: dict[str, Any], company_name: str = "", base_url: str | None = None) -> tuple[str, str]:
    """The request's subject and Markdown body (Spanish: the accountant reads it)."""
    nit, cycle_id = summary["company_nit"], summary["cycle_id"]
    link = f"{base_url or config.review_base_url()}/ciclo/{cycle_id}/empresa/{nit}"
    subject = f"Aprobar la quincena {cycle_id} de {nit} {company_name}".strip()
    body = "\n".join(
        [
            f"**{company_name or nit}** (NIT {nit}), quincena **{cycle_id}**",
            "",
            "| | |",
            "|---|---:|",
            f"| Facturas | {summary.get('invoices', 0)} |",
            f"| Clasificadas | {summary.get('classified', 0)} |",
            f"| En revisión | {summary.get('review', 0)} |",
            f"| Pendientes | {summary.get('pending', 0)} |",
            f"| Archivos en cuarentena | {summary.get('quarantined_files', 0)} |",
            f"| Costo DeepSeek (USD) | {summary.get('cost_usd', 0)} |",
            "",
            f"[Abrir la revisión de esta empresa]({link})",
            "",
            "Aprobar: se contabiliza y se exporta. Rechazar: la empresa queda abierta con su comentario.",
        ]
    )
    return subject, body


def auto_answer(summary: dict[str, Any], auto_when_clean: bool) -> dict[str, Any] | None:
    """The answer given without asking (nothing in review and the firm allows it), or None: ask."""
    if not auto_when_clean or summary.get("review") or summary.get("pending"):
        return None
    return {
        "chosen_options": [APPROVE],
        "params_input": {COMMENT: "aprobada automáticamente: nada en revisión"},
        "responded_at": datetime.now(UTC).isoformat(),
        "responded_by_user": {"id": "auto", "name": "auto"},
    }


class CompanyApprovalOperator(HITLOperator):
    """HITLOperator whose subject and body are the company's figures (read from its summarize task)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("params", None)  # the DAG's trigger params: not part of the accountant's form
        super().__init__(
            subject="Aprobación de la quincena",
            options=OPTIONS,
            params={COMMENT: Param("", type=["null", "string"], title="Comentario")},
            **kwargs,
        )

    def configure(self) -> None:
        """Timeout and default outcome from the firm's settings, read when the task runs (not at parse time)."""
        hours = config.approval_timeout_hours()
        self.response_timeout = timedelta(hours=hours) if hours else None
        default = APPROVE if config.approval_default() == "approve" else REJECT
        self.defaults = [default] if hours else None  # without a timeout nothing would ever apply them

    @staticmethod
    def _summary(context: Any) -> dict[str, Any]:
        """The company's figures (its summarize task), and the grid's label set from them."""
        ti = context["ti"]
        summary = ti.xcom_pull(task_ids=SUMMARY_TASK, map_indexes=ti.map_index)
        context["company_label"] = f"{summary['company_nit']} {summary.get('company_name', '')}".strip()
        return summary

    def execute(self, context: Any) -> Any:
        summary = self._summary(context)
        name = summary.get("company_name", "")
        answer = auto_answer(summary, config.approval_auto_when_clean())
        if answer is not None:
            log.info("company %s: nothing in review, approved automatically", summary["company_nit"])
            return answer
        self.configure()
        self.subject, self.body = request_text(summary, name)
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        self._summary(context)  # the resumed task renders its label again
        return super().execute_complete(context, event)


def decision_of(answer: dict[str, Any] | None) -> tuple[str, str, str | None] | None:
    """(decision, decided_by, comment) of a HITL answer; None when there is none (the step was skipped)."""
    if not answer or not answer.get("chosen_options"):
        return None
    decision = "approved" if answer["chosen_options"][0] == APPROVE else "rejected"
    user = answer.get("responded_by_user") or {}
    decided_by = str(user.get("name") or user.get("id") or "timeout")  # no user: the timeout's default
    comment = ((answer.get("params_input") or {}).get(COMMENT) or "").strip() or None
    return decision, decided_by, comment


def record(target: dict[str, Any], answer: dict[str, Any] | None, run_id: str | None) -> dict[str, Any]:
    """Store the approval step's answer for the company and cycle; returns it as a plain dict."""
    from quincena.pipeline.cycle import label_company_task

    label_company_task(target)
    decided = decision_of(answer)
    result = {"company_nit": target["company_nit"], "cycle_id": target["cycle_id"], "decision": None}
    if decided is None:  # no answer (a step marked done by hand): keep what was already decided, if anything
        earlier = db.query("approval_get", result)
        if earlier:
            log.info(
                "company %s: no new answer; keeping the recorded %s", target["company_nit"], earlier[0]["decision"]
            )
            return {**result, **earlier[0]}
        log.warning("company %s: the approval step gave no answer; nothing recorded", target["company_nit"])
        return result
    decision, decided_by, comment = decided
    row = {**result, "decision": decision, "decided_by": decided_by, "comment": comment, "run_id": run_id}
    db.execute("approval_record", row)
    log.info("company %s cycle %s %s by %s", target["company_nit"], target["cycle_id"], decision, decided_by)
    return {**result, "decision": decision, "decided_by": decided_by, "comment": comment}
