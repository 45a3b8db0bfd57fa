"""`quincena doctor` against a real stack: the firm's database on the embedded PostgreSQL, a migrated
Airflow metadata database holding the serialized DAGs and the pool, the DeepSeek simulator, real
folders, Airflow's settings from include/airflow.env as compose gives them. The healthy stack is all
OK; then one thing at a time is broken and exactly that check says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from quincena.cli import main
from quincena.core import companies, config, db
from quincena.core.companies import Company
from quincena.core.nit import check_digit
from quincena.ops import airflow_settings, doctor
from tests.fixtures.simulator import SIM_KEYS

NITS = ("900373115", "800197268")
# Both tax years of the shipped rules (2025 and 2026) are there on this date.
ON = date(2025, 6, 2)


@pytest.fixture(scope="module")
def serialized_dags(airflow_home: Path) -> None:
    """The two DAGs in the metadata database, as airflow-init leaves them (`airflow dags reserialize`)."""
    airflow = Path(sys.executable).parent / "airflow"
    result = subprocess.run(
        [str(airflow), "dags", "reserialize"], capture_output=True, text=True, env=os.environ.copy()
    )
    assert result.returncode == 0, result.stderr[-2000:]


def _set_paused(dag_id: str, paused: bool) -> None:
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        session.get(DagModel, dag_id).is_paused = paused


def _set_pool(slots: int | None) -> None:
    from airflow.models.pool import Pool

    if slots is None:
        Pool.delete_pool(config.DEEPSEEK_POOL)
    else:
        Pool.create_or_update_pool(config.DEEPSEEK_POOL, slots=slots, description="test", include_deferred=False)


@pytest.fixture
def stack(
    clean_db: str, serialized_dags: None, deepseek_conn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Everything healthy: two companies, their inbox folders, the pool, the DAGs unpaused."""
    for name, value in airflow_settings.shared_env().items():
        monkeypatch.setenv(name, value)  # the Airflow settings compose gives every service
    deepseek_conn()
    inbox = tmp_path / "inbox"
    for nit in NITS:
        (inbox / nit).mkdir(parents=True)
    monkeypatch.setenv("QUINCENA_INBOX", str(inbox))
    monkeypatch.setenv("QUINCENA_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("QUINCENA_USAGE_EXPORTS", str(tmp_path / "usage_exports"))
    companies.upsert([Company(nit, check_digit(nit), f"Empresa {nit}") for nit in NITS])
    _set_pool(config.deepseek_pool_slots())
    for dag_id in doctor.DAG_IDS:
        _set_paused(dag_id, False)
    yield inbox
    for dag_id in doctor.DAG_IDS:
        _set_paused(dag_id, True)
    _set_pool(config.deepseek_pool_slots())  # as the session's other tests expect it


def run(on: date = ON) -> dict[str, doctor.Check]:
    return {check.name: check for check in doctor.run_checks(today=on)}


def not_ok(checks: dict[str, doctor.Check]) -> dict[str, str]:
    return {name: check.status for name, check in checks.items() if check.status != doctor.OK}


def test_a_healthy_stack_is_all_ok_and_the_cli_exits_0(stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checks = run()
    assert not_ok(checks) == {}, {name: checks[name].detail for name in not_ok(checks)}
    assert len(checks) == len(doctor.CHECKS)
    assert "quincena_cycle next 2025-" not in checks["dags"].detail  # the next run is computed from now
    assert "quincena_cycle next 20" in checks["dags"].detail and "-05" in checks["dags"].detail
    assert checks["deepseek keys"].detail == f"all {len(SIM_KEYS)} answer GET /user/balance"
    assert checks["parallelism"].detail == "parallelism 20, max_active_tasks_per_dag 20 (needs 20)"

    assert main(["doctor", "--on", ON.isoformat()]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(doctor.CHECKS) and all(line.startswith("OK    ") for line in lines)
    assert main(["doctor", "--json", "--on", ON.isoformat()]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "OK" and [c["name"] for c in report["checks"]] == list(checks)


def test_no_database_fails_and_the_checks_that_need_it_say_so(
    stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(db.CONN_ENV, "postgresql://postgres@127.0.0.1:1/quincena")
    checks = run()
    assert checks["database"].status == doctor.FAIL and "cannot reach" in checks["database"].detail
    expected = {"database": "FAIL", "inbox": "WARN", "registry": "WARN", "deepseek balance": "WARN", "charts": "WARN"}
    assert not_ok(checks) == expected
    assert main(["doctor", "--on", ON.isoformat()]) == 2
    assert "FAIL  database" in capsys.readouterr().out


def test_pending_migration_fails(stack: Path) -> None:
    row = db.query_text("DELETE FROM schema_migrations WHERE version = '080_line_iva_base' RETURNING version")
    try:
        check = run()["database"]
    finally:
        db.query_text("INSERT INTO schema_migrations (version) VALUES (%s)", (row[0]["version"],))
    assert check.status == doctor.FAIL and "1 migration(s) pending" in check.detail


def test_a_paused_dag_warns_by_name(stack: Path) -> None:
    _set_paused("quincena_cycle", True)
    checks = run()
    assert not_ok(checks) == {"dags": "WARN"}
    detail = checks["dags"].detail
    assert detail.startswith("paused, so never scheduled: quincena_cycle (airflow dags unpause NAME)")
    assert "deepseek_weekly_health" not in detail
    # Catchup is off: the last closed quincena's run is due, and unpausing would start it at once.
    assert "; unpausing runs quincena_cycle for logical date 20" in detail and "T05:00:00-05:00 at once" in detail
    assert doctor.exit_code(checks.values()) == 1


def test_missing_inbox_folder_and_unknown_folder_are_listed(stack: Path) -> None:
    (stack / NITS[0]).rmdir()
    (stack / "901000001").mkdir()
    checks = run()
    assert not_ok(checks) == {"inbox": "WARN"}
    assert f"companies with no folder: {NITS[0]}" in checks["inbox"].detail
    assert "folders with no active company: 901000001" in checks["inbox"].detail


def test_missing_inbox_fails(stack: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QUINCENA_INBOX", str(tmp_path / "nowhere"))
    assert not_ok(run()) == {"inbox": "FAIL"}


def test_missing_next_year_rules_warn_and_this_year_fail(stack: Path) -> None:
    december = run(date(2026, 12, 2))["tax rules"]
    assert december.status == doctor.WARN and "rules-2027.json is missing" in december.detail
    assert run(date(2027, 1, 2))["tax rules"].status == doctor.FAIL


def test_a_revoked_key_is_named_and_no_secret_is_printed(
    stack: Path, simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.configure(revoked_keys=["sim-key-2"])
    checks = run()
    assert not_ok(checks) == {"deepseek keys": "WARN"}
    assert checks["deepseek keys"].detail == "4 of 5 answer; sim-key-2: HTTP 401 (revoked or wrong secret)"
    simulator.configure(revoked_keys=sorted(SIM_KEYS))
    assert run()["deepseek keys"].status == doctor.FAIL
    main(["doctor", "--json", "--on", ON.isoformat()])
    out = capsys.readouterr()
    assert not any(secret in out.out + out.err for secret in SIM_KEYS.values())


def test_balance_runway_at_last_month_spend(stack: Path, simulator) -> None:
    simulator.configure(spend_limit_usd="12")
    db.query_text(
        "INSERT INTO api_calls (attempt_id, call_id, attempt_no, started_at, key_name, model, outcome, latency_ms,"
        " cost_usd) VALUES (gen_random_uuid(), gen_random_uuid(), 1, now() - interval '3 days', 'sim-key-1',"
        " 'deepseek-v4-flash', 'ok', 100, 6)"
    )
    check = run()["deepseek balance"]
    assert check.status == doctor.OK and check.detail == "USD 12.00, 60.0 days at the last 30 days' USD 0.2000/day"
    simulator.configure(spend_limit_usd="1")
    low = run()["deepseek balance"]
    assert low.status == doctor.WARN and low.detail.endswith("top up soon")


def test_no_deepseek_connection_says_what_to_set(stack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_DEEPSEEK_DEFAULT")
    checks = run()
    assert checks["deepseek connection"].status == doctor.FAIL
    assert "set AIRFLOW_CONN_DEEPSEEK_DEFAULT" in checks["deepseek connection"].detail
    assert checks["deepseek keys"].status == doctor.FAIL


def test_a_connection_kept_in_the_metadata_database_is_found(stack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo keeps deepseek_default in Airflow's metadata database, where a bare process cannot see it."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    stored = Connection.from_json(os.environ["AIRFLOW_CONN_DEEPSEEK_DEFAULT"], conn_id="deepseek_default")
    monkeypatch.delenv("AIRFLOW_CONN_DEEPSEEK_DEFAULT")
    with create_session() as session:
        session.add(stored)
    try:
        checks = run()
    finally:
        with create_session() as session:
            session.query(Connection).filter(Connection.conn_id == "deepseek_default").delete()
    assert checks["deepseek connection"].status == doctor.OK and checks["deepseek keys"].status == doctor.OK


def test_quincena_eval_without_connection_is_one_line(
    stack: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_DEEPSEEK_DEFAULT")
    gold = config.include_dir() / "eval" / "gold.csv"
    assert main(["eval", "--gold", str(gold), "--out", str(tmp_path / "eval")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("quincena eval: connection deepseek_default is not defined: set AIRFLOW_CONN_DEEPSEEK")
    assert not any("Traceback" in line for line in err)


def test_pool_missing_fails_and_a_different_size_warns(stack: Path) -> None:
    _set_pool(3)
    assert run()["pool"].detail == "deepseek has 3 slots, include/pools.json 16 (lanes)"
    assert not_ok(run()) == {"pool": "WARN"}
    _set_pool(None)
    assert not_ok(run()) == {"pool": "FAIL"}


def test_airflow_default_parallelism_fails(stack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG", "16")  # Airflow's default: the lanes only
    checks = run()
    assert not_ok(checks) == {"parallelism": "FAIL"} and "max_active_tasks_per_dag 16" in checks["parallelism"].detail


def test_another_timezone_warns(stack: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__DEFAULT_TIMEZONE", "UTC")
    assert not_ok(run()) == {"timezone": "WARN"}


def test_reports_not_writable_fails(stack: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("QUINCENA_REPORTS", str(blocker / "reports"))  # root ignores modes; a file does not
    checks = run()
    assert not_ok(checks) == {"writable": "FAIL"} and "reports/exports" in checks["writable"].detail


def test_registry_empty_fails_and_an_unknown_ica_city_warns(stack: Path) -> None:
    db.query_text("UPDATE companies SET ica_city = '99999' WHERE nit = %s", (NITS[1],))
    checks = run()
    assert not_ok(checks) == {"registry": "WARN"} and f"{NITS[1]} (99999)" in checks["registry"].detail
    db.query_text("UPDATE companies SET active = false")
    assert run()["registry"].status == doctor.FAIL


def test_a_chart_without_purchase_accounts_fails_and_an_unmapped_counter_account_warns(stack: Path, tmp_path) -> None:
    from quincena.chart import store
    from quincena.chart.reading import ChartError
    from quincena.devtools.sample import charts

    path = charts.write_chart(tmp_path / "siigo.csv")
    store.import_chart(NITS[0], path, "ana")
    assert run()["charts"].detail == "1 company with its own chart, complete"
    # A second auxiliary under IVA descontable: the export cannot choose between them.
    text = path.read_text(encoding="utf-8-sig").replace(
        "24081001;", "24081002;IVA descontable importaciones;Auxiliar;Activa;Sí\n24081001;"
    )
    (tmp_path / "two.csv").write_text(text, encoding="utf-8")
    store.import_chart(NITS[0], tmp_path / "two.csv", "ana")
    checks = run()
    assert not_ok(checks) == {"charts": "WARN"} and f"{NITS[0]} (240810)" in checks["charts"].detail
    only_cash = "Código;Nombre;Transaccional\n1;Activo;No\n11;Disponible;No\n1105;Caja;No\n110505;Caja general;Sí\n"
    (tmp_path / "caja.csv").write_text(only_cash, encoding="utf-8")
    with pytest.raises(ChartError, match="no account of the file may take a purchase line"):
        store.import_chart(NITS[1], tmp_path / "caja.csv", "ana", "siigo")
    # Such a chart stored before imports refused it: the doctor still finds it.
    db.query_text("INSERT INTO company_accounts (company_nit, code, name, parent, active, movements) "
                  "VALUES (%s, '110505', 'Caja general', '1105', true, true)", (NITS[1],))  # fmt: skip
    checks = run()
    assert checks["charts"].status == doctor.FAIL and NITS[1] in checks["charts"].detail
