"""The deepseek_weekly_health DAG: its contract, Bogotá weeks, and real runs with dag.test() against
the seeded ledger, the DeepSeek simulator's /user/balance (or an unreachable DeepSeek), a real
webhook for the alert and a usage export to reconcile."""

from __future__ import annotations

import json
from decimal import Decimal

import pendulum
from airflow.timetables.base import DataInterval, TimeRestriction

from quincena.core import config, db
from tests.costs import health_seed
from tests.fixtures.airflow import task_states
from tests.fixtures.simulator import SIM_KEYS

BOGOTA = "America/Bogota"
DAG_ID = "deepseek_weekly_health"
PEAK = {"input_cache_hit_tokens": "0.000000006", "input_cache_miss_tokens": "0.0000003", "output_tokens": "0.0000012"}


def test_dag_contract(dagbag) -> None:
    dag = dagbag.get_dag(DAG_ID)
    assert dag is not None and dag.catchup is False
    assert set(dag.task_ids) == {"plan", "reconcile_exports", "weekly_report", "alert"}
    assert dag.get_task("alert").upstream_task_ids == {"weekly_report"}
    assert dag.get_task("weekly_report").upstream_task_ids == {"plan", "reconcile_exports"}
    assert set(dag.params.keys()) == {
        "week", "monthly_budget_usd", "max_429_rate", "max_spread", "budget_ratio", "min_balance_usd",
        "min_runway_days", "min_agreement", "max_agreement_drop", "trend_weeks", "reconcile",
    }  # fmt: skip


def test_runs_are_bogota_calendar_weeks(dagbag) -> None:
    from airflow.serialization.encoders import coerce_to_core_timetable

    timetable = coerce_to_core_timetable(dagbag.get_dag(DAG_ID).timetable)
    restriction = TimeRestriction(earliest=pendulum.datetime(2026, 11, 2, tz=BOGOTA), latest=None, catchup=True)
    first = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction).data_interval
    assert (first.start, first.end) == (
        pendulum.datetime(2026, 11, 2, tz=BOGOTA),
        pendulum.datetime(2026, 11, 9, tz=BOGOTA),
    )
    second = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(first.start, first.end), restriction=restriction
    ).data_interval
    assert second.start == first.end and second.end == pendulum.datetime(2026, 11, 16, tz=BOGOTA)


def _usage_export(folder) -> None:
    """k3's 8 peak-hour calls of Nov 4 (UTC) exactly as the ledger has them, plus a broken file."""
    folder.mkdir()
    lines = ["user_id,utc_date,model,api_key_name,api_key,type,price,amount"]
    amounts = {"request_count": 8, "input_cache_hit_tokens": 800_000, "input_cache_miss_tokens": 160_000,
               "output_tokens": 80_000}  # fmt: skip
    for kind, amount in amounts.items():
        lines.append(f"4242,20261104,deepseek-v4-flash,k3,sk-1bb****7cee7,{kind},{PEAK.get(kind, '')},{amount}")
    (folder / "usage.csv").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())
    (folder / "broken.zip").write_bytes(b"this is no zip")


def test_weekly_run_end_to_end(clean_db, dagbag, simulator, deepseek_conn, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("QUINCENA_PRICE_TABLE", str(health_seed.write_price_table(tmp_path)))
    monkeypatch.setenv("QUINCENA_MONTHLY_BUDGET_USD", "1.00")
    monkeypatch.setenv("QUINCENA_USAGE_EXPORTS", str(tmp_path / "exports"))
    health_seed.seed()
    _usage_export(tmp_path / "exports")
    simulator.configure(spend_limit_usd=Decimal("3.50"))  # /user/balance answers 3.50
    deepseek_conn()

    with health_seed.webhook_server() as hook:
        monkeypatch.setenv("AIRFLOW_CONN_QUINCENA_ALERT_WEBHOOK", health_seed.webhook_connection(hook))
        run = dagbag.get_dag(DAG_ID).test(
            logical_date=pendulum.datetime(2026, 11, 9, tz=BOGOTA), run_conf={"week": "2026-W45"}
        )
    states = task_states(run)
    assert str(run.state) == "success", states
    assert states == {t: ["success"] for t in ("alert", "plan", "reconcile_exports", "weekly_report")}

    (row,) = db.query_text("SELECT week, figures, alerts FROM weekly_health")
    figures = row["figures"]
    assert row["week"] == "2026-W45"
    assert figures["total"]["calls"] == 42 and figures["spend"]["forecast_month_usd"] == "1.4648"
    balance = figures["balance"]
    assert (balance["status"], balance["total_balance"], balance["runway_days"]) == ("ok", "3.50", "65.9")
    kinds = [(a["kind"], a["subject"]) for a in row["alerts"]]
    assert kinds == [("rate_429", "account"), ("spread", "k1"), ("spread", "k3"), ("budget", "firm"),
                     ("budget", health_seed.B), ("low_balance", "account")]  # fmt: skip

    (post,) = hook.received  # the notifier fired exactly once, with every alert
    assert [(a["kind"], a["subject"]) for a in post["body"]["alerts"]] == kinds
    assert post["body"]["report"].endswith("weekly/2026-W45/weekly_health.html")

    files = {f["file"]: f for f in figures["reconciliation"]["files"]}
    assert files["usage.csv"]["status"] == "match" and files["usage.csv"]["groups"] == 1
    assert files["broken.zip"]["status"] == "error" and "not a readable ZIP" in files["broken.zip"]["error"]
    assert (tmp_path / "exports" / "reconciled" / "usage.csv").is_file()

    out = config.reports_dir() / "weekly" / "2026-W45"
    page = health_seed.check_html((out / "weekly_health.html").read_text(encoding="utf-8"))
    assert page.counts["svg"] >= 6 and page.counts["table"] >= 8
    text = "".join(page.text)
    assert "6 alerta(s)" in text and "Conciliación con la exportación" in text and "3,50" in text
    assert (out / "weekly_health.csv").is_file() and (out / "reconcile" / "usage.csv").is_file()
    stored = json.dumps(figures) + (out / "weekly_health.html").read_text(encoding="utf-8")
    assert not any(secret in stored for secret in SIM_KEYS.values())
    assert "7cee7" not in stored  # the export's masked key column is never kept


def test_weekly_run_with_deepseek_unreachable(clean_db, dagbag, tmp_path, monkeypatch) -> None:
    unreachable = {"conn_type": "deepseek", "host": "http://127.0.0.1:1",
                   "extra": {"api_keys": {"k1": "sk-unreachable-0123456789"}, "backoff_base": 0.01,
                             "backoff_max": 0.02, "connect_timeout": 0.5}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_DEEPSEEK_DEFAULT", json.dumps(unreachable))
    monkeypatch.setenv("QUINCENA_BALANCE_DEADLINE_S", "0.3")
    monkeypatch.setenv("QUINCENA_USAGE_EXPORTS", str(tmp_path / "no-exports"))
    monkeypatch.delenv("QUINCENA_MONTHLY_BUDGET_USD", raising=False)

    with health_seed.webhook_server() as hook:
        monkeypatch.setenv("AIRFLOW_CONN_QUINCENA_ALERT_WEBHOOK", health_seed.webhook_connection(hook))
        # No week param: the run's data interval decides (the Bogotá week before Nov 30, 2026).
        # run_conf resets "week": dag.test() leaves an earlier test's conf in the shared DAG's params.
        run = dagbag.get_dag(DAG_ID).test(
            logical_date=pendulum.datetime(2026, 11, 30, tz=BOGOTA), run_conf={"week": ""}
        )
    assert str(run.state) == "success", task_states(run)
    assert hook.received == []  # an empty, healthy ledger crosses no threshold: no alert

    (row,) = db.query_text("SELECT week, figures, alerts FROM weekly_health")
    balance = row["figures"]["balance"]
    assert balance["status"] == "unavailable" and balance["reason"]
    assert balance["reason"].startswith("DeadlineExceededError: DeepSeek balance: deadline passed")
    assert row["week"] == "2026-W48"  # [Mon Nov 23, Mon Nov 30) Bogotá: the week that just closed
    assert "0123456789" not in balance["reason"]
    assert row["alerts"] == []
    html = (config.reports_dir() / "weekly" / row["week"] / "weekly_health.html").read_text(encoding="utf-8")
    health_seed.check_html(html)
    assert "Saldo de DeepSeek no disponible" in html and "Ningún umbral se cruzó esta semana." in html


def test_weekly_steps_plan_and_reconcile_folder(clean_db, tmp_path, monkeypatch) -> None:
    """The DAG's steps called directly: the plan, and the reconciliation step's folder from the settings."""
    from quincena.pipeline import weekly

    run_plan = weekly.plan(None, None, {"week": "2026-W45", "reconcile": False, "max_429_rate": 0.1})
    assert run_plan["week"]["week"] == "2026-W45" and run_plan["settings"]["thresholds"]["max_429_rate"] == "0.1"
    assert weekly.reconcile_exports(run_plan) == {"folder": None, "files": []}
    monkeypatch.setenv("QUINCENA_USAGE_EXPORTS", str(tmp_path / "absent"))
    folder = str(tmp_path / "absent")
    assert weekly.reconcile_exports({**run_plan, "reconcile": True}) == {"folder": folder, "files": []}
