"""A balance that runs out during a cycle on the real stack (scheduler, LocalExecutor, simulator), then a top-up and
the README's one resume action: clear classify_lane with its downstream tasks. The run ends green, every
invoice classified or in review, one ledger row per request the simulator answered, costs summed once."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from tests.devtools.test_demo import (
    QUINCENA,
    REPO,
    START_TIMEOUT_S,
    airflow_token,
    poll,
    private_demo_env,
    quincena,
)

pytestmark = pytest.mark.e2e

DAG = "quincena_cycle"


@pytest.fixture(scope="module")
def broke() -> Iterator[dict[str, Any]]:
    env = private_demo_env("quincena-resume-", companies=1, invoices=10)
    env["QUINCENA_DEMO_SIMULATOR_SPEND_LIMIT_USD"] = "0"  # the account is dry: every request gets 402
    local = Path(env["QUINCENA_LOCAL"])
    try:
        quincena(env, "demo", "start", timeout=START_TIMEOUT_S)
        base = f"http://127.0.0.1:{env['QUINCENA_DEMO_API_PORT']}"
        sim = f"http://127.0.0.1:{env['QUINCENA_DEMO_SIMULATOR_PORT']}"
        yield {"env": env, "local": local, "base": base, "sim": sim, "token": airflow_token(base, local)}
    finally:
        subprocess.run([*QUINCENA, "demo", "stop"], env=env, cwd=REPO, capture_output=True, timeout=120)
        shutil.rmtree(local, ignore_errors=True)


def _firm(stack: dict[str, Any], sql: str) -> list[tuple]:
    with psycopg.connect(f"postgresql://postgres:@/quincena?host={stack['local'] / 'pgdata'}") as conn:
        return conn.execute(sql).fetchall()


def _run(stack: dict[str, Any]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {stack['token']}"}
    runs = requests.get(f"{stack['base']}/api/v2/dags/{DAG}/dagRuns", headers=headers, timeout=60).json()
    return runs["dag_runs"][0]


def test_a_402_then_a_top_up_and_one_resume_action_end_green(broke) -> None:
    failed = poll("the run to stop", lambda: _run(broke)["state"] in ("success", "failed") and _run(broke), 600)
    assert failed["state"] == "failed", failed
    assert _firm(broke, "SELECT count(*) FROM api_calls WHERE status_code = 402")[0][0] > 0
    assert _firm(broke, "SELECT count(*) FROM invoices WHERE status = 'pending'")[0][0] > 0

    requests.post(f"{broke['sim']}/admin/topup", json={"amount_usd": "5.00"}, timeout=10).raise_for_status()
    headers = {"Authorization": f"Bearer {broke['token']}"}
    clear = {"dag_run_id": failed["dag_run_id"], "task_ids": ["classify_lane"], "include_downstream": True,
             "only_failed": False, "dry_run": False, "reset_dag_runs": True}  # fmt: skip
    url = f"{broke['base']}/api/v2/dags/{DAG}/clearTaskInstances"
    assert requests.post(url, json=clear, headers=headers, timeout=60).status_code == 200

    resumed = poll("the resumed run to end", lambda: _run(broke)["state"] in ("success", "failed") and _run(broke), 600)
    assert resumed["state"] == "success", resumed
    assert _firm(broke, "SELECT count(*) FROM invoices WHERE status NOT IN ('classified', 'review')")[0][0] == 0
    stats = requests.get(f"{broke['sim']}/admin/stats", timeout=10).json()
    rows = _firm(broke, "SELECT count(*), count(DISTINCT attempt_id), coalesce(sum(cost_usd), 0) FROM api_calls")[0]
    assert rows[0] == rows[1] == sum(stats["requests_per_key"].values())  # one row per request, none twice
    cycle_id = resumed["conf"]["cycle"]
    total = _firm(broke, f"SELECT cost_usd FROM cycle_costs WHERE cycle_id = '{cycle_id}' AND dimension = 'total'")
    assert Decimal(total[0][0]) == Decimal(rows[2])  # summed once, after the resume
