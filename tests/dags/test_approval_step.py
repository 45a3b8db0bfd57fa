"""The approval step of each company group: its wiring, its settings, the request text, the answer recorded,
and a real dag.test() run where a company with nothing to review is approved automatically."""

from __future__ import annotations

from datetime import timedelta

import pendulum
import pytest

from quincena.core import companies, config, db
from quincena.core.companies import Company
from quincena.pipeline import approval
from tests.fixtures.airflow import task_states

CYCLE = "2026-11-Q1"


def test_each_company_group_ends_with_approval_then_apply(dagbag) -> None:
    from airflow.providers.standard.operators.hitl import HITLOperator

    dag = dagbag.get_dag("quincena_cycle")
    step = dag.get_task("company.approval")
    assert isinstance(step, HITLOperator) and step.options == ["Aprobar", "Rechazar"]
    assert step.upstream_task_ids == {"company.summarize"}
    assert "company.approval" in dag.get_task("company.apply_approval").upstream_task_ids
    assert step.pool == "default_pool" and step.pool_slots == 1  # and while it waits it holds none (awaiting_input)


def test_timeout_and_default_outcome_are_configuration(monkeypatch) -> None:
    step = approval.CompanyApprovalOperator(task_id="approval_probe")
    step.configure()
    assert (step.response_timeout, step.defaults) == (None, None)  # by default: wait for the accountant
    monkeypatch.setenv("QUINCENA_APPROVAL_TIMEOUT_HOURS", "48")
    step.configure()
    assert (step.response_timeout, step.defaults) == (timedelta(hours=48), ["Rechazar"])  # hold the export
    monkeypatch.setenv("QUINCENA_APPROVAL_DEFAULT", "approve")
    step.configure()
    assert step.defaults == ["Aprobar"]
    monkeypatch.setenv("QUINCENA_APPROVAL_DEFAULT", "maybe")
    with pytest.raises(ValueError, match="QUINCENA_APPROVAL_DEFAULT"):
        config.approval_default()
    assert config.approval_auto_when_clean({"QUINCENA_APPROVAL_AUTO_WHEN_CLEAN": "true"})
    assert not config.approval_auto_when_clean({})


def test_the_request_shows_the_figures_and_links_the_review_page() -> None:
    summary = {"company_nit": "900373115", "cycle_id": CYCLE, "invoices": 40, "classified": 37, "review": 3,
               "pending": 0, "quarantined_files": 2, "cost_usd": "0.0123"}  # fmt: skip
    subject, body = approval.request_text(summary, "Ferretería El Tornillo", base_url="http://x/review")
    assert "900373115" in subject and CYCLE in subject
    for text in ("| En revisión | 3 |", "| Archivos en cuarentena | 2 |", "| Costo DeepSeek (USD) | 0.0123 |"):
        assert text in body
    assert f"(http://x/review/ciclo/{CYCLE}/empresa/900373115)" in body
    assert approval.auto_answer(summary, auto_when_clean=True) is None  # something to review: ask
    assert approval.auto_answer({**summary, "review": 0}, auto_when_clean=False) is None
    assert approval.auto_answer({**summary, "review": 0}, auto_when_clean=True)["chosen_options"] == ["Aprobar"]


def test_the_answer_is_recorded(clean_db) -> None:
    companies.upsert([Company("900373115", 3, "Ferretería El Tornillo S.A.S.")])
    target = {"company_nit": "900373115", "cycle_id": CYCLE}
    answer = {"chosen_options": ["Rechazar"], "params_input": {"comentario": " faltan soportes "},
              "responded_by_user": {"id": "1", "name": "ana"}}  # fmt: skip
    assert approval.record(target, answer, "run-1")["decision"] == "rejected"
    row = db.query_text("SELECT decision, decided_by, comment, run_id FROM company_approvals")[0]
    assert row == {"decision": "rejected", "decided_by": "ana", "comment": "faltan soportes", "run_id": "run-1"}
    timed_out = {"chosen_options": ["Rechazar"], "params_input": {}, "responded_by_user": None}
    approval.record(target, {**timed_out, "chosen_options": ["Aprobar"]}, "run-2")
    row = db.query_text("SELECT decision, decided_by, comment FROM company_approvals")[0]
    assert row == {"decision": "approved", "decided_by": "timeout", "comment": None}  # a re-run replaces it
    # No answer (a step marked done by hand): the recorded decision stands, nothing new is written.
    assert approval.record(target, None, "run-3")["decision"] == "approved"
    assert db.query_text("SELECT run_id FROM company_approvals")[0]["run_id"] == "run-2"
    other = {"company_nit": "900373115", "cycle_id": "2026-11-Q2"}
    assert approval.record(other, None, "run-4")["decision"] is None  # nothing recorded before: nothing now


def test_a_company_with_nothing_in_review_is_approved_automatically(
    clean_db, airflow_home, deepseek_conn, monkeypatch
) -> None:
    deepseek_conn()
    monkeypatch.setenv("QUINCENA_APPROVAL_AUTO_WHEN_CLEAN", "true")
    companies.upsert([Company("900373115", 3, "Ferretería El Tornillo S.A.S.")])
    (config.inbox_dir() / "900373115").mkdir(parents=True, exist_ok=True)  # an empty quincena
    from airflow.dag_processing.dagbag import DagBag

    from tests.fixtures.airflow import REPO

    # A DAG object of its own: dag.test() keeps a run's conf in the DAG's params, and the session's
    # dagbag is shared with the other end-to-end tests.
    dag = DagBag(dag_folder=str(REPO / "dags")).get_dag("quincena_cycle")
    run = dag.test(
        logical_date=pendulum.datetime(2026, 11, 1, tz="America/Bogota"),
        run_conf={"cycle": CYCLE, "companies": ["900373115"], "dry_run": False},
    )
    states = task_states(run)
    assert str(run.state) == "success", states
    assert states["company.approval"] == ["success"] and states["company.apply_approval"] == ["success"]
    row = db.query_text("SELECT decision, decided_by, run_id FROM company_approvals")[0]
    assert row == {"decision": "approved", "decided_by": "auto", "run_id": run.run_id}
