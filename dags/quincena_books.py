"""quincena_books: one company-cycle's approval by its accountant, then its export to the accounting programs.

A quincena_cycle run starts one run of this DAG per company-cycle whose books need a decision (run id
``books__<cycle>__<NIT>__<state>``: the same books are asked about once). A run may wait days for its
accountant: it holds no worker and no pool slot, and being its own run it never holds up the next
quincena. Only wiring here; the logic lives in quincena.pipeline.books and quincena.pipeline.approval.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from quincena.core import config
from quincena.pipeline.approval import CompanyApprovalOperator


@dag(
    dag_id=config.BOOKS_DAG_ID,
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz=config.TIMEZONE),
    catchup=False,
    max_active_runs=config.BOOKS_MAX_ACTIVE_RUNS,
    # Runs only when a cycle (or a person) asks; created unpaused so no request is left queued unseen.
    is_paused_upon_creation=False,
    tags=["quincena", "approval"],
    doc_md=__doc__,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    params={
        "cycle": Param("", type="string", title="Quincena", description="e.g. 2026-11-Q1"),
        "company_nit": Param("", type="string", title="Company", description="NIT without check digit"),
        "reason": Param("", type=["null", "string"], title="Reason", description="why the accountant is asked"),
        "requested_by": Param(None, type=["null", "string"], title="Requested by"),
    },
)
def quincena_books():
    @task
    def prepare() -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from quincena.pipeline import books

        context = get_current_context()
        try:
            return books.prepare(dict(context["params"]), context["run_id"])
        except books.BooksRequestError as exc:  # a bad request: retrying cannot help
            raise AirflowFailException(str(exc)) from exc

    @task
    def apply_approval(summary: dict, answer: dict | None) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from quincena.pipeline import approval, books

        result = books.apply(summary, approval.decision_of(answer), get_current_context()["run_id"])
        if result["status"] != "applied" or result["decision"] != "approved":  # export is for approved books
            raise AirflowSkipException(f"{result['status']}: {result.get('decision')} {result.get('refused_reason')}")
        return result

    @task
    def export(summary: dict, approved: dict) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from quincena.books.export import ExportError, TemplateError
        from quincena.pipeline import export as step

        try:
            return step.export_company({"company_nit": summary["company_nit"], "cycle_id": summary["cycle_id"]})
        except (ExportError, TemplateError) as exc:  # a bad template or unwritable data: retrying cannot help
            raise AirflowFailException(str(exc)) from exc

    @task(trigger_rule="all_done")
    def update_report(summary: dict | None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from quincena.pipeline import books

        context = get_current_context()
        states = context["ti"].get_task_states(dag_id=context["dag"].dag_id, run_ids=[context["run_id"]])
        try:
            return books.finish(summary, books.failed_steps(states, context["run_id"]))
        except books.StepFailed as exc:  # an earlier step failed: the run must end red, once
            raise AirflowFailException(str(exc)) from exc

    summary = prepare()
    # One retry: on Airflow 3.3.2's LocalExecutor an answer given while the worker that parked the task is
    # still being reaped can fail the task; the retry asks the accountant again instead of failing.
    approval_step = CompanyApprovalOperator(task_id="approval", retries=1, retry_delay=timedelta(seconds=10))
    summary >> approval_step
    exported = export(summary, apply_approval(summary, approval_step.output))
    exported >> update_report(summary)


quincena_books()
