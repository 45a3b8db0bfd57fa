"""End to end: a real quincena through the real DAG (dag.test), real XML, real PostgreSQL and
the real DeepSeek simulator with 429 bursts — including a company whose classify process was
killed mid-way and is then picked up by the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pendulum
import pytest

from quincena.core import config, db
from quincena.devtools import sample
from quincena.pipeline import cycle
from tests.fixtures.airflow import task_states
from tests.helpers import assert_ledger_matches_answers
from tests.helpers import count as _count
from tests.helpers import wait_for as _wait_for

CYCLE = "2026-11-Q1"
KEYS = {f"demo-key-{i}": f"sk-e2e-secret-{i}-{'x' * 24}" for i in range(1, 6)}


@pytest.fixture
def deepseek_connection(simulator, monkeypatch):
    simulator.configure(keys=KEYS)
    conn = {
        "conn_type": "deepseek",
        "host": simulator.base_url,
        "extra": {"api_keys": KEYS, "timeout": 10, "deadline": 60, "backoff_base": 0.01, "backoff_max": 0.2},
    }
    monkeypatch.setenv("AIRFLOW_CONN_DEEPSEEK_DEFAULT", json.dumps(conn))
    return simulator


def _kill_classify_midway(company: str, simulator) -> int:
    """Classify one company in its own process and SIGKILL it once some, not all, invoices are done."""
    target = {
        "company_nit": company,
        "cycle_id": CYCLE,
        "period_end": "2026-11-16",
        "settings": {"invoices_per_request": 1, "dry_run": False, "model": None},
    }
    cycle.ingest(target)
    total = _count("SELECT count(*) AS n FROM invoices WHERE company_nit = %s", (company,))
    simulator.configure(latency_ms=150)  # slow enough to be caught mid-way
    code = f"from quincena.pipeline import cycle; cycle.classify({target!r}, concurrency=1)"
    proc = subprocess.Popen([sys.executable, "-c", code], env=os.environ.copy(), start_new_session=True)
    done = "SELECT count(*) AS n FROM invoices WHERE company_nit = %s AND status <> 'pending'"
    try:
        _wait_for(lambda: _count(done, (company,)) >= 2, 60, "the first classified invoices")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    simulator.configure(latency_ms=5)
    finished = _count(done, (company,))
    assert 2 <= finished < total, "the kill must land mid-company for this test to mean anything"
    return finished


def _books_runs(cycle_run: str) -> list[str]:
    """The companies whose quincena_books runs the cycle run ``cycle_run`` started (their conf)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = session.query(DagRun).filter(DagRun.dag_id == "quincena_books").all()
        return [r.conf["company_nit"] for r in runs if r.conf.get("requested_by") == f"run:{cycle_run}"]


def _all_text_in_database() -> str:
    """Every row of every table, as text: where a leaked secret would show."""
    tables = db.query_text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return "\n".join(json.dumps(db.query_text(f'SELECT * FROM "{t["tablename"]}"'), default=str) for t in tables)


def test_quincena_cycle_end_to_end(clean_db, dagbag, deepseek_connection, capfd) -> None:
    simulator = deepseek_connection
    inbox = config.inbox_dir()
    companies = sample.generate(companies=3, invoices=25, inbox=inbox, seed=7, period=CYCLE)
    nits = [c.nit for c in companies]
    killed_done = _kill_classify_midway(nits[0], simulator)

    simulator.configure(rate_429=0.3, latency_ms=5)  # a 429 storm for the whole run
    dag = dagbag.get_dag("quincena_cycle")
    run = dag.test(
        logical_date=pendulum.datetime(2026, 11, 1, tz="America/Bogota"),
        run_conf={"cycle": CYCLE},
    )
    states = task_states(run)
    assert str(run.state) == "success", states
    assert set(states["classify_lane"]) == {"success"} and len(states["classify_lane"]) >= 3
    assert states["company.store_entries"] == ["success"] * 3
    # The run asked each company's accountant in a quincena_books run of its own, and did not wait.
    assert states["ask_accountants"] == ["success"] * 3
    assert sorted(_books_runs(run.run_id)) == sorted(nits)

    # Every invoice classified or in review; every inbox file accounted for.
    assert _count("SELECT count(*) AS n FROM invoices WHERE status NOT IN ('classified', 'review')") == 0
    files = [p for p in inbox.rglob("*") if p.is_file()]
    assert _count("SELECT count(*) AS n FROM ingested_files") == len(files)
    assert _count("SELECT count(*) AS n FROM ingested_files WHERE outcome = 'quarantined' AND reason IS NULL") == 0
    assert _count("SELECT count(*) AS n FROM ingested_files WHERE outcome = 'quarantined'") > 0
    # The killed company kept what it had and finished the rest.
    assert (
        _count("SELECT count(*) AS n FROM invoices WHERE company_nit = %s AND status <> 'pending'", (nits[0],))
        > killed_done
    )

    # Nothing classified twice: each line of a classified invoice has exactly one classification.
    assert (
        _count(
            "SELECT count(*) AS n FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id "
            "WHERE i.status = 'classified' "
            "AND (SELECT count(*) FROM classifications c WHERE c.invoice_line_id = l.id) <> 1"
        )
        == 0
    )
    # Every model classification records the model and the prompt version that produced it (issue 16).
    from quincena.classify.prompt import PROMPT_VERSION

    versions = db.query_text(
        "SELECT source, model IS NOT NULL AS has_model, prompt_version FROM classifications GROUP BY 1, 2, 3"
    )
    assert {(r["source"], r["has_model"], r["prompt_version"]) for r in versions if r["source"] == "model"} == {
        ("model", True, PROMPT_VERSION)
    }
    # Nothing counted twice or lost: one completed ledger row per answer the server delivered, key by key,
    # plus at most one in_flight row (the killed worker's attempt, concurrency 1), whose cost is unknown.
    stats = simulator.settled_stats()
    assert _count("SELECT count(*) - count(DISTINCT attempt_id) AS n FROM api_calls") == 0
    assert assert_ledger_matches_answers(stats["requests_per_key"]) <= 1
    assert _count("SELECT count(*) AS n FROM api_calls WHERE outcome = 'rate_limited'") > 0

    # Costs: companies sum to the total, which is the ledger's total.
    rows = db.query_text("SELECT dimension, member, cost_usd FROM cycle_costs WHERE cycle_id = %s", (CYCLE,))
    total = next(r["cost_usd"] for r in rows if r["dimension"] == "total")
    assert sum(r["cost_usd"] for r in rows if r["dimension"] == "company") == total
    assert sum(r["cost_usd"] for r in rows if r["dimension"] == "key") == total
    assert total == db.query_text("SELECT sum(cost_usd) AS s FROM api_calls")[0]["s"] > 0
    report_dir = config.reports_dir() / CYCLE
    assert (report_dir / "cycle_costs.csv").is_file() and (report_dir / "cycle_report.html").is_file()

    # One pool slot = one request: a classify_lane never has two requests in flight.
    assert stats["max_in_flight"] == 1

    # No secret anywhere: database, task logs, captured output.
    logs = "\n".join(p.read_text(errors="replace") for p in Path(os.environ["AIRFLOW_HOME"]).rglob("*.log"))
    captured = capfd.readouterr()
    haystack = _all_text_in_database() + logs + captured.out + captured.err
    for secret in KEYS.values():
        assert secret not in haystack
    assert "demo-key-1" in haystack  # the names are there, so the search looked in the right places


def test_dry_run_plans_without_calls(clean_db, dagbag, deepseek_connection) -> None:
    simulator = deepseek_connection
    sample.generate(companies=2, invoices=10, inbox=config.inbox_dir(), seed=11, period=CYCLE)
    before = sum(simulator.settled_stats()["requests_per_key"].values())
    run = dagbag.get_dag("quincena_cycle").test(
        logical_date=pendulum.datetime(2026, 11, 1, tz="America/Bogota"),
        run_conf={"cycle": CYCLE, "dry_run": True},
    )
    # Ingested and planned; nothing classified, nothing spent; a dry run is not a failure.
    assert str(run.state) == "success", task_states(run)
    assert sum(simulator.settled_stats()["requests_per_key"].values()) == before
    assert _count("SELECT count(*) AS n FROM api_calls") == 0
    assert _count("SELECT count(*) AS n FROM invoices WHERE status = 'pending'") > 0
    assert _count("SELECT count(*) AS n FROM cycles WHERE status = 'incomplete'") == 1
    page = (config.reports_dir() / CYCLE / "cycle_report.html").read_text(encoding="utf-8")
    assert "SIMULACRO (dry run)" in page

    # The report counts the quarantined files this cycle's run met, not those of every earlier ingest.
    with db.transaction() as cur:
        cur.execute(
            "INSERT INTO ingested_files (company_nit, sha256, path, size_bytes, outcome, reason_code, reason, cycle_id)"
            " SELECT company_nit, 'old', 'old.xml', 1, 'quarantined', 'not_dian', 'x', '2026-10-Q2'"
            " FROM ingested_files LIMIT 1"
        )
    from quincena.costs import cycle_costs

    result = cycle_costs.aggregate_cycle(CYCLE, [], dry_run=True)
    in_cycle = _count(
        "SELECT count(*) AS n FROM ingested_files WHERE outcome = 'quarantined' AND cycle_id = %s", (CYCLE,)
    )
    assert in_cycle > 0 and result.total["quarantined_files"] == in_cycle


def test_trigger_form_submits_with_its_defaults(dagbag) -> None:
    """Optional params allow null, so the UI does not mark them required (and an empty Model no longer
    overrides the connection's model)."""
    for dag_id in ("quincena_cycle", "deepseek_weekly_health"):
        params = dagbag.get_dag(dag_id).params
        params.validate()  # the defaults alone are a valid trigger
        for name in params:
            param = params.get_param(name)
            types = param.schema.get("type")
            optional = isinstance(types, list) and "null" in types
            assert optional or param.value not in (None, ""), f"{dag_id}.{name} would be a required field"


def test_an_unknown_company_fails_the_run_at_once_and_labels_name_the_companies(
    clean_db, dagbag, deepseek_connection
) -> None:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    sample.generate(companies=1, invoices=3, inbox=config.inbox_dir(), seed=5, period=CYCLE)
    dag = dagbag.get_dag("quincena_cycle")
    bad = dag.test(
        logical_date=pendulum.datetime(2026, 11, 1, tz="America/Bogota"),
        run_conf={"cycle": CYCLE, "companies": ["123456789"]},
    )
    states = task_states(bad)
    assert str(bad.state) == "failed"
    assert states["plan"] == ["failed"]  # AirflowFailException: no up_for_retry, no second try
    assert states["aggregate_costs"] == ["failed"]  # with a clear message, not a TypeError on a missing plan
    with create_session() as session:
        plan = session.query(TaskInstance).filter_by(run_id=bad.run_id, task_id="plan").one()
        assert plan.try_number == 1

    good = dag.test(
        logical_date=pendulum.datetime(2026, 11, 16, tz="America/Bogota"),
        run_conf={"cycle": CYCLE, "dry_run": True, "companies": []},  # dag.test keeps the last conf's keys
    )
    assert str(good.state) == "success", task_states(good)
    name = db.query_text("SELECT nit, name FROM companies")[0]
    with create_session() as session:
        labels = {
            ti.task_id: ti.rendered_map_index
            for ti in session.query(TaskInstance).filter_by(run_id=good.run_id)
            if ti.task_id.startswith("company.")
        }
    assert labels and all(label == f"{name['nit']} {name['name']}" for label in labels.values()), labels
