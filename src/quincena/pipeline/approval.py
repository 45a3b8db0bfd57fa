"""The accountant's approval of one company-cycle: an Airflow human-in-the-loop request in a quincena_books run.

The request shows the company's figures, why it is asked (first time, books changed, reopened) and a link to
its review page; the accountant answers "Aprobar" or "Rechazar" (with a comment) in Airflow's "Required
Actions" or through the REST API. While it waits the task holds no worker and no pool slot (state
``awaiting_input``), and since it lives in its own run it never holds up the next quincena. The answer is
recorded by quincena.books.approvals (first answer wins).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param

from quincena.books.approvals import Answer
from quincena.core import config

log = logging.getLogger(__name__)

APPROVE, REJECT = "Aprobar", "Rechazar"
OPTIONS = [APPROVE, REJECT]
COMMENT = "comentario"
SUMMARY_TASK = "prepare"


def request_text(summary: dict[str, Any], company_name: str = "", base_url: str | None = None) -> tuple[str, str]:
    """The request's subject and Markdown body (Spanish: the accountant reads it)."""
    from quincena.core.markdown import escape

    nit, cycle_id = summary["company_nit"], summary["cycle_id"]
    link = f"{base_url or config.review_base_url()}/ciclo/{cycle_id}/empresa/{nit}"
    subject = f"Aprobar {cycle_id} · {nit} {company_name}".strip()  # plain text in Airflow's UI
    company_name = escape(company_name)  # the body is Markdown: a name must not become a link or an image
    earlier = summary.get("from_earlier_periods", 0)
    body = "\n".join(
        [
            f"**{company_name or nit}** (NIT {nit}), quincena **{cycle_id}**",
            "",
            escape(summary.get("reason") or ""),
            "",
            "| | |",
            "|---|---:|",
            f"| Facturas | {summary.get('invoices', 0)} |",
            f"| Clasificadas | {summary.get('classified', 0)} |",
            f"| En revisión | {summary.get('review', 0)} |",
            f"| Pendientes | {summary.get('pending', 0)} |",
            f"| Documentos de un periodo anterior (llegaron tarde) | {earlier} |",
            f"| Archivos en cuarentena | {summary.get('quarantined_files', 0)} |",
            f"| Costo DeepSeek (USD) | {summary.get('cost_usd', 0)} |",
            "",
            f"[Abrir la revisión de esta empresa]({link})",
            "",
            "Aprobar: se exporta a los programas contables (las facturas en revisión quedan fuera y se exportan "
            "al aprobarlas de nuevo). Rechazar: la empresa queda abierta con su comentario.",
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
        """The company's figures (the run's prepare task)."""
        return context["ti"].xcom_pull(task_ids=SUMMARY_TASK)

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
        """Refuse (and keep) an answer from a user the firm did not give this company: the step fails, and its
        retry asks the company's accountant again. Airflow cannot scope a request to a company's users."""
        answer = super().execute_complete(context, event)
        decided = decision_of(answer)
        summary = self._summary(context)
        if decided is not None and not answer_allowed(decided.decided_by, summary["company_nit"]):
            from airflow.sdk.exceptions import AirflowException

            from quincena.books import approvals

            reason = f"{decided.decided_by} no tiene acceso a la empresa {summary['company_nit']}"
            approvals.refuse(summary["request_id"], decided, reason, context["run_id"])
            raise AirflowException(f"answer refused: {reason}; the request is asked again")
        return answer


# Answers given by no person: the firm's automatic approval and the timeout's default.
UNATTENDED = {"auto", "timeout"}


def answer_allowed(user_name: str, company_nit: str) -> bool:
    """Whether this answer's user may decide on the company (per-company access; see review.access)."""
    from quincena.review import access

    return user_name in UNATTENDED or access.may_act(user_name, None, company_nit)


def decision_of(answer: dict[str, Any] | None) -> Answer | None:
    """The decision in a HITL answer; None when there is none (the step was skipped or marked done by hand)."""
    if not answer or not answer.get("chosen_options"):
        return None
    decision = "approved" if answer["chosen_options"][0] == APPROVE else "rejected"
    user = answer.get("responded_by_user") or {}
    decided_by = str(user.get("name") or user.get("id") or "timeout")  # no user: the timeout's default
    comment = ((answer.get("params_input") or {}).get(COMMENT) or "").strip() or None
    return Answer(decision, decided_by, comment)
