"""The quincena_monthly DAG: its contract, which month a run closes, and a real run with dag.test()
that reconciles the month from a dropped export and writes the statements."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pendulum

from quincena.core import config, db
from quincena.pipeline import monthly
from tests.billing.test_statement import _export, _seed
from tests.fixtures.airflow import task_states

DAG_ID = "quincena_monthly"


def test_dag_contract(dagbag) -> None:
    dag = dagbag.get_dag(DAG_ID)
    assert dag is not None and dag.catchup is False
    assert set(dag.task_ids) == {"plan", "reconcile_month", "statements"}
    assert dag.get_task("statements").upstream_task_ids == {"plan", "reconcile_month"}
    assert set(dag.params.keys()) == {"month"}


def test_a_run_closes_the_month_before_its_interval_ends() -> None:
    assert monthly.closed_month(datetime(2026, 12, 3, 12, tzinfo=UTC)) == date(2026, 11, 1)
    assert monthly.closed_month(datetime(2027, 1, 3, 12, tzinfo=UTC)) == date(2026, 12, 1)


def test_monthly_run_end_to_end(clean_db, dagbag, tmp_path, monkeypatch) -> None:
    _seed()
    _export(tmp_path / "exports")
    monkeypatch.setenv("QUINCENA_USAGE_EXPORTS", str(tmp_path / "exports"))
    monkeypatch.setenv("QUINCENA_STATEMENT_COP_PER_USD", "4000")
    run = dagbag.get_dag(DAG_ID).test(logical_date=pendulum.datetime(2026, 12, 3, 12, tz="UTC"), run_conf={"month": ""})
    states = task_states(run)
    assert str(run.state) == "success", states
    assert db.query_text("SELECT month, status FROM month_reconciliations") == [
        {"month": "2026-11", "status": "reconciled"}
    ]
    out = config.reports_dir() / "monthly" / "2026-11"
    assert {"resumen_2026-11.pdf", "estado_900000001_2026-11.pdf", "reconciliation_days.csv"} <= {
        p.name for p in out.iterdir()
    }
    text = (out / "estado_900000001_2026-11.csv").read_text(encoding="utf-8")
    assert ",total,2,4,400000,80000,40000,0.04650000,186.00," in text  # US$0.0465 at the fixed 4,000 COP
