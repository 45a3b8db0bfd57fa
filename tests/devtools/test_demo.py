"""The newcomer's path, headless: `quincena demo start` at a small scale, the run green through
Airflow's REST API, the figures in the firm's database, then `quincena demo stop` leaving nothing.

The slow end-to-end test of the suite (~1 minute here); `make test` runs it, `-m "not e2e"` skips it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
import requests

from quincena.devtools.demo.airflow_api import AirflowApi, approve_open_requests, books_runs

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
QUINCENA = [sys.executable, "-m", "quincena.cli"]
COMPANIES, INVOICES = 3, 20
START_TIMEOUT_S = 300  # db migrations, four Airflow components, the DAG parsed
RUN_TIMEOUT_S = 240  # 3 companies x 20 invoices take ~20 s on 2 cores; generous for a loaded CI box


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def poll(what: str, check: Callable[[], Any], timeout_s: float, interval_s: float = 2.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval_s)
    pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}")


def private_demo_env(prefix: str, companies: int, invoices: int) -> dict[str, str]:
    """A private .local (QUINCENA_LOCAL) and free ports; the session's AIRFLOW_*/QUINCENA_* are not inherited."""
    local = Path(tempfile.mkdtemp(prefix=prefix))
    local.chmod(0o755)  # the embedded PostgreSQL runs as its own system user when we are root
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "QUINCENA_")) and k not in ("DATABASE_URL", "PYTHONPATH")
    }
    env.update(
        QUINCENA_LOCAL=str(local),
        QUINCENA_DEMO_API_PORT=str(free_port()),
        QUINCENA_DEMO_SIMULATOR_PORT=str(free_port()),
        QUINCENA_DEMO_COMPANIES=str(companies),
        QUINCENA_DEMO_INVOICES=str(invoices),
    )
    return env


@pytest.fixture(scope="module")
def demo_env() -> Iterator[dict[str, str]]:
    env = private_demo_env("quincena-demo-", COMPANIES, INVOICES)
    env["QUINCENA_DEMO_SIMULATOR_SPEND_LIMIT_USD"] = "0"  # a dry account: the run halts on 402s, then resumes
    local = Path(env["QUINCENA_LOCAL"])
    yield env
    # Whatever happened, leave no process behind (a no-op after a successful stop).
    subprocess.run([*QUINCENA, "demo", "stop"], env=env, cwd=REPO, capture_output=True, timeout=120)
    shutil.rmtree(local, ignore_errors=True)


def quincena(env: dict[str, str], *args: str, timeout: float) -> subprocess.CompletedProcess:
    result = subprocess.run([*QUINCENA, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"quincena {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def started_processes(local: Path) -> set[int]:
    """PIDs of every process the demo started: its process groups (PID files) and the PostgreSQL server."""
    pids: set[int] = set()
    for pid_file in (local / "run").glob("*.pid"):
        leader = json.loads(pid_file.read_text())["pid"]
        pids.update(p.pid for p in psutil.process_iter() if _pgid(p.pid) == leader)
    postmaster = int((local / "pgdata" / "postmaster.pid").read_text().splitlines()[0])
    pids.add(postmaster)
    pids.update(child.pid for child in psutil.Process(postmaster).children(recursive=True))
    return pids


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def admin_password(local: Path) -> str:
    password_file = local / "airflow" / "simple_auth_manager_passwords.json.generated"
    return json.loads(password_file.read_text())["admin"]


def airflow_token(base: str, local: Path) -> str:
    password = admin_password(local)
    # The api-server's first token right after start can take over 10 s on a loaded 2-core machine.
    response = requests.post(f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=60)
    response.raise_for_status()
    return response.json()["access_token"]


def finished_run(base: str, token: str) -> dict[str, Any] | None:
    response = requests.get(
        f"{base}/api/v2/dags/quincena_cycle/dagRuns", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    response.raise_for_status()
    runs = response.json()["dag_runs"]
    assert len(runs) == 1, f"the demo must make exactly one run, got {[r['dag_run_id'] for r in runs]}"
    return runs[0] if runs[0]["state"] in ("success", "failed") else None


def approved_then_finished(api: AirflowApi, base: str, token: str, cycle_id: str) -> dict[str, Any] | None:
    """The cycle run ends on its own; then each company's books run asks its accountant: approve through the
    REST API as they ask, until every books run of the cycle has ended."""
    run = finished_run(base, token)
    if run is None:
        return None
    approve_open_requests(api, "ok", cycle_id)
    runs = books_runs(api, cycle_id)
    if len(runs) < COMPANIES or any(r["state"] not in ("success", "failed") for r in runs):
        return None
    assert {r["state"] for r in runs} == {"success"}, runs
    return run


def resume_after_a_top_up(env: dict[str, str], base: str, token: str, local: Path) -> None:
    """The account is dry: the run halts on the 402s. A top-up, then the README's one resume action (clear
    classify_lane with its downstream tasks) sets the same run going again."""
    halted = poll("the run to halt on the 402s", lambda: finished_run(base, token), RUN_TIMEOUT_S)
    assert halted["state"] == "failed", halted
    with psycopg.connect(f"postgresql://postgres:@/quincena?host={local / 'pgdata'}") as conn:
        assert conn.execute("SELECT count(*) FROM api_calls WHERE status_code = 402").fetchone()[0] > 0
        assert conn.execute("SELECT count(*) FROM invoices WHERE status = 'pending'").fetchone()[0] > 0
    simulator = f"http://127.0.0.1:{env['QUINCENA_DEMO_SIMULATOR_PORT']}"
    requests.post(f"{simulator}/admin/topup", json={"amount_usd": "5.00"}, timeout=10).raise_for_status()
    clear = {"dag_run_id": halted["dag_run_id"], "task_ids": ["classify_lane"], "include_downstream": True,
             "only_failed": False, "dry_run": False, "reset_dag_runs": True}  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    cleared = requests.post(f"{base}/api/v2/dags/quincena_cycle/clearTaskInstances", json=clear, headers=headers,
                            timeout=60)  # fmt: skip
    assert cleared.status_code == 200, cleared.text


def firm_figures(local: Path, cycle_id: str) -> dict[str, Any]:
    uri = f"postgresql://postgres:@/quincena?host={local / 'pgdata'}"
    with psycopg.connect(uri) as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM invoices GROUP BY status").fetchall())
        calls, attempts, ledger = conn.execute(
            "SELECT count(*), count(DISTINCT attempt_id), coalesce(sum(cost_usd), 0) FROM api_calls"
            " WHERE cycle_id = %s",
            (cycle_id,),
        ).fetchone()
        total = conn.execute(
            "SELECT cost_usd, calls FROM cycle_costs WHERE cycle_id = %s AND dimension = 'total'", (cycle_id,)
        ).fetchone()
        companies = conn.execute("SELECT count(*) FROM companies WHERE active").fetchone()[0]
        approved = conn.execute("SELECT company_nit, decision, decided_by FROM company_approvals").fetchall()
        charted = own_chart_figures(conn)
    figures = {"statuses": statuses, "calls": calls, "attempts": attempts, "ledger": Decimal(ledger), "total": total,
               "companies": companies, "own_chart": charted}  # fmt: skip
    return {**figures, "approved": approved}


def own_chart_figures(conn) -> dict[str, Any]:
    """The company that books to its own chart: its classifications and exported accounts outside it."""
    (nit,) = conn.execute("SELECT DISTINCT company_nit FROM company_accounts").fetchone()
    postable = {code for (code,) in conn.execute(
        "SELECT code FROM company_accounts WHERE company_nit = %s AND active AND movements", (nit,))}  # fmt: skip
    classified = [code for (code,) in conn.execute(
        "SELECT account_code FROM classifications WHERE company_nit = %s", (nit,))]  # fmt: skip
    exported = []
    for (path,) in conn.execute("SELECT path FROM exports WHERE company_nit = %s AND format = 'csv'", (nit,)):
        with open(path, encoding="utf-8-sig", newline="") as handle:
            exported += [row["Cuenta"] for row in csv.DictReader(handle, delimiter=";")]
    return {"classified": len(classified), "outside": sorted(set(classified + exported) - postable),
            "exported": len(exported)}  # fmt: skip


def test_demo_halts_on_a_402_resumes_green_and_stops_clean(demo_env: dict[str, str]) -> None:
    began = time.monotonic()
    local = Path(demo_env["QUINCENA_LOCAL"])
    base = f"http://127.0.0.1:{demo_env['QUINCENA_DEMO_API_PORT']}"

    out = quincena(demo_env, "demo", "start", timeout=START_TIMEOUT_S).stdout
    assert f"http://localhost:{demo_env['QUINCENA_DEMO_API_PORT']}" in out and "login: admin / " in out
    assert "login: contadora / " in out  # the second demo user, an accountant granted a few companies
    # Secrets at rest: the imported connections file is gone, the passwords file is the owner's only.
    assert not (local / "airflow" / "connections.json").exists()
    password_file = local / "airflow" / "simple_auth_manager_passwords.json.generated"
    assert password_file.stat().st_mode & 0o777 == 0o600
    cycle_id = json.loads((local / "run" / "demo.json").read_text())["cycle"]
    started = started_processes(local)

    token = airflow_token(base, local)
    api = AirflowApi(base, "admin", admin_password(local))
    resume_after_a_top_up(demo_env, base, token, local)
    run = poll(
        "the demo's run and its approvals to finish",
        lambda: approved_then_finished(api, base, token, cycle_id),
        RUN_TIMEOUT_S,
    )
    assert run["state"] == "success", f"run {run['dag_run_id']} ended {run['state']}"
    assert run["conf"] == {"cycle": cycle_id}

    figures = firm_figures(local, cycle_id)
    assert figures["companies"] == COMPANIES
    decisions = figures["approved"]
    assert len(decisions) == COMPANIES and {d[1:] for d in decisions} == {("approved", "admin")}, decisions
    statuses = figures["statuses"]
    assert "pending" not in statuses and set(statuses) <= {"classified", "review", "quarantined"}, statuses
    assert statuses.get("classified", 0) + statuses.get("review", 0) >= COMPANIES * INVOICES * 0.9, statuses
    assert figures["calls"] > 0 and figures["ledger"] > 0
    total_cost, total_calls = figures["total"]
    assert Decimal(total_cost) == figures["ledger"] and total_calls == figures["calls"]
    # One ledger row per request the simulator answered, the 402s included, none twice; costs summed once.
    simulator = f"http://127.0.0.1:{demo_env['QUINCENA_DEMO_SIMULATOR_PORT']}"
    answered = requests.get(f"{simulator}/admin/stats", timeout=10).json()["requests_per_key"]
    assert figures["calls"] == figures["attempts"] == sum(answered.values())
    assert (local / "reports" / cycle_id / "cycle_report.html").is_file()
    # The first company books to its own chart: classified and exported only in its postable accounts.
    charted = figures["own_chart"]
    assert charted["classified"] > 0 and charted["exported"] > 0 and charted["outside"] == [], charted

    # deepseek_default is a metadata-DB connection the UI lists (secrets masked); the weekly DAG is on.
    headers = {"Authorization": f"Bearer {token}"}
    conn = requests.get(f"{base}/api/v2/connections/deepseek_default", headers=headers, timeout=10)
    assert conn.status_code == 200 and conn.json()["conn_type"] == "deepseek", conn.text
    assert "sk-" not in conn.text
    weekly = requests.get(f"{base}/api/v2/dags/deepseek_weekly_health", headers=headers, timeout=10).json()
    assert weekly["is_paused"] is False

    # Re-running start while everything runs is harmless: same processes, same single run.
    quincena(demo_env, "demo", "start", timeout=START_TIMEOUT_S)
    assert finished_run(base, token)["dag_run_id"] == run["dag_run_id"]

    stop = quincena(demo_env, "demo", "stop", timeout=120).stdout
    assert "airflow-scheduler" in stop and "simulator" in stop and "PostgreSQL" in stop
    left = [p for p in started if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert left == [], f"processes left behind: {[psutil.Process(p).cmdline() for p in left]}"
    assert not list((local / "run").glob("*.pid"))
    print(f"demo: green run and clean stop in {time.monotonic() - began:.0f}s")
