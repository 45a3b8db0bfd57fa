"""The two kinds of runs: quincena_cycle (machine work, never waits for a person) and quincena_books (one
company-cycle's approval request and export). Their wiring, the request text, and real dag.test() runs: a
one-company cycle that classifies and asks, and a books run that approves an empty quincena by itself."""

from __future__ import annotations

from datetime import timedelta

import pendulum
import pytest

from quincena.core import companies, config, db
from quincena.core.companies import Company
from quincena.devtools import sample
from quincena.pipeline import approval, cycle
from tests.fixtures.airflow import REPO, task_states
from tests.helpers import count

CYCLE = "2026-11-Q1"
BOGOTA = "America/Bogota"


def _fresh_dag(dag_id: str):
    """A DAG object of its own: dag.test() keeps a run's conf in the DAG's params."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags")).get_dag(dag_id)


def test_the_cycle_never_waits_for_a_person_and_the_books_run_asks(dagbag) -> None:
    from airflow.providers.standard.operators.hitl import HITLOperator

    cycle_dag = dagbag.get_dag("quincena_cycle")
    assert not [t for t in cycle_dag.tasks if isinstance(t, HITLOperator)]
    assert cycle_dag.dagrun_timeout < timedelta(days=15)  # a stuck run never eats the next quincena's run
    assert cycle_dag.get_task("ask_accountants").partial_kwargs["trigger_dag_id"] == "quincena_books"
    books = dagbag.get_dag("quincena_books")
    step = books.get_task("approval")
    assert isinstance(step, HITLOperator) and step.options == ["Aprobar", "Rechazar"]
    assert step.upstream_task_ids == {"prepare"}
    assert "approval" in books.get_task("apply_approval").upstream_task_ids
    assert step.pool == "default_pool" and step.pool_slots == 1  # and while it waits it holds none (awaiting_input)
    assert books.max_active_runs >= 500  # every company-cycle may wait at once


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
    assert subject == f"Aprobar {CYCLE} · 900373115 Ferretería El Tornillo"
    for text in ("| En revisión | 3 |", "| Archivos en cuarentena | 2 |", "| Costo DeepSeek (USD) | 0.0123 |"):
        assert text in body
    assert f"(http://x/review/ciclo/{CYCLE}/empresa/900373115)" in body
    assert approval.auto_answer(summary, auto_when_clean=True) is None  # something to review: ask
    assert approval.auto_answer({**summary, "review": 0}, auto_when_clean=False) is None
    assert approval.auto_answer({**summary, "review": 0}, auto_when_clean=True)["chosen_options"] == ["Aprobar"]


def test_one_company_cycle_classifies_and_asks_its_accountant(
    clean_db, airflow_home, deepseek_conn, monkeypatch, tmp_path
) -> None:
    """A one-company run (a firm's only company, or the README's re-run of one company) classifies."""
    deepseek_conn()
    monkeypatch.setenv("QUINCENA_INBOX", str(tmp_path / "inbox"))  # the session's inbox stays as other tests expect
    [company] = sample.generate(companies=1, invoices=6, inbox=config.inbox_dir(), seed=3, period=CYCLE)
    run = _fresh_dag("quincena_cycle").test(
        logical_date=pendulum.datetime(2026, 11, 1, tz=BOGOTA), run_conf={"cycle": CYCLE, "companies": [company.nit]}
    )
    states = task_states(run)
    assert str(run.state) == "success", states
    assert set(states["classify_lane"]) == {"success"} and states["ask_accountants"] == ["success"]
    assert count("SELECT count(*) AS n FROM invoices WHERE status = 'pending'") == 0
    calls = count("SELECT count(*) AS n FROM api_calls")
    assert calls > 0

    # The same run again: nothing classified or paid twice, nobody asked twice (the request already waits).
    again = _fresh_dag("quincena_cycle").test(
        logical_date=pendulum.datetime(2026, 11, 1, 1, tz=BOGOTA), run_conf={"cycle": CYCLE, "companies": [company.nit]}
    )
    states = task_states(again)
    assert str(again.state) == "success", states
    assert count("SELECT count(*) AS n FROM api_calls") == calls
    assert states["ask_accountants"] in (["skipped"], ["success"])  # the existing books run is not duplicated


def test_batches_reach_schedule_in_either_shape() -> None:
    targets = [{"company_nit": "1"}, {"company_nit": "2"}]
    b1, b2, b3 = ({"company_nit": n, "position": i} for i, n in enumerate(("1", "1", "2")))
    assert cycle.batches_by_company(targets, [[b1, b2], [b3]]) == [[b1, b2], [b3]]
    assert cycle.batches_by_company(targets[:1], [b1, b2]) == [[b1, b2]]  # one mapped company: flattened
    assert cycle.batches_by_company(targets, []) == [[], []]


def _books_run_of_an_empty_quincena(monkeypatch):
    """A books run for a company with nothing to review, which the firm lets approve itself; its task states."""
    monkeypatch.setenv("QUINCENA_APPROVAL_AUTO_WHEN_CLEAN", "true")
    companies.upsert([Company("900373115", 3, "Ferretería El Tornillo S.A.S.")])
    conf = {"cycle": CYCLE, "company_nit": "900373115", "reason": "Primera solicitud.", "requested_by": "test"}
    run = _fresh_dag("quincena_books").test(run_conf=conf)
    return run, task_states(run)


def test_a_company_with_nothing_in_review_is_approved_automatically(clean_db, airflow_home, monkeypatch) -> None:
    run, states = _books_run_of_an_empty_quincena(monkeypatch)
    assert str(run.state) == "success", states
    assert states["approval"] == ["success"] and states["apply_approval"] == ["success"]
    assert states["update_report"] == ["success"]
    row = db.query_text("SELECT decision, decided_by, run_id, request_id FROM company_approvals")[0]
    assert row == {"decision": "approved", "decided_by": "auto", "run_id": run.run_id, "request_id": run.run_id}
    request = db.query_text("SELECT outcome, closed_at IS NOT NULL AS closed FROM approval_requests")[0]
    assert request == {"outcome": "approved", "closed": True}
    report = (config.reports_dir() / CYCLE / "cycle_report.html").read_text(encoding="utf-8")
    assert "Aprobación de cada empresa" in report and "aprobada por auto" in report


def test_a_failed_approval_step_fails_the_run_and_the_report_says_which_company(
    clean_db, airflow_home, monkeypatch
) -> None:
    monkeypatch.setenv("QUINCENA_EXPORT_FORMATS", "no-such-format")  # the export step cannot succeed
    run, states = _books_run_of_an_empty_quincena(monkeypatch)
    assert str(run.state) == "failed", states
    assert states["export"] == ["failed"] and states["update_report"] == ["failed"]
    report = (config.reports_dir() / CYCLE / "cycle_report.html").read_text(encoding="utf-8")
    assert "Falló el paso de aprobación de: 900373115" in report


def test_an_answer_from_a_user_without_the_company_is_refused_and_kept(clean_db) -> None:
    from quincena.books import approvals
    from quincena.review import access

    companies.upsert([Company("900373115", 3, "Ferretería El Tornillo S.A.S."), Company("900000001", 1, "Otra")])
    access.grant_user("luis", ["900000001"])
    assert approval.answer_allowed("luis", "900000001") and approval.answer_allowed("auto", "900373115")
    assert not approval.answer_allowed("luis", "900373115") and not approval.answer_allowed("", "900373115")
    approvals.open_request("books__x__900373115__1", "900373115", CYCLE, "Primera solicitud.", "test")
    kept = approvals.refuse("books__x__900373115__1", approvals.Answer("approved", "luis"), "sin acceso", "r")
    assert kept.status == "refused" and approvals.current("900373115", CYCLE) is None  # nothing applied
    rows = db.query_text("SELECT decision, status, decided_by, refused_reason FROM approval_decisions")
    assert rows == [{"decision": "approved", "status": "refused", "decided_by": "luis", "refused_reason": "sin acceso"}]
