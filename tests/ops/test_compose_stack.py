"""The compose deployment without a Docker engine: airflow-init's script and the four Airflow components
run here with exactly the environment `docker-compose config` gives each service, and a cycle runs
through the scheduler to success, walking the README's production steps.

What differs from containers, each for a stated reason: container paths are remapped to a temporary
directory (the image's /opt/quincena is this repository); the embedded PostgreSQL stands in for the
`postgres` service; LocalExecutor replaces Celery (no Redis or Celery provider here: the scheduler runs
the tasks the workers would); ports are free ones (several stacks share this machine); the api-server
runs one worker (two cores); Airflow's simple auth manager, with compose's admin and password, stands in
for the FAB auth manager (its provider ships with the official image, not here), so init's FAB-only
`airflow users create` step is left out. A setting compose forgets to pass is missing here too.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from quincena.devtools.demo.airflow_api import AirflowApi, trigger_cycle, wait_for_run
from quincena.devtools.demo.processes import wait_for
from quincena.devtools.demo.settings import DemoSettings, last_closed_cycle
from tests import compose_client
from tests.compose_client import REPO
from tests.devtools.test_demo import free_port
from tests.fixtures.simulator import FAST_CONN_EXTRA, SIM_KEYS

pytestmark = pytest.mark.e2e

COMPONENTS = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
COMPANIES, INVOICES = 2, 8
INIT_TIMEOUT_S = 300
RUN_TIMEOUT_S = 300
BIN = Path(sys.executable).parent


@dataclass
class Stack:
    root: Path
    envs: dict[str, dict[str, str]]
    api: AirflowApi
    settings: DemoSettings
    firm_uri: str


def env_for_the_test(sockets: dict[str, str]) -> str:
    """.env.example with test values: the embedded PostgreSQL, the simulator, real random secrets."""
    from cryptography.fernet import Fernet

    deepseek = {
        "conn_type": "deepseek",
        "host": sockets["simulator"],
        "extra": {"api_keys": SIM_KEYS, **FAST_CONN_EXTRA},
    }
    values = {
        "AIRFLOW_FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW_JWT_SECRET": uuid.uuid4().hex,
        "AIRFLOW_API_SECRET_KEY": uuid.uuid4().hex,
        "AIRFLOW_ADMIN_PASSWORD": uuid.uuid4().hex,
        "AIRFLOW_CONN_QUINCENA_DB": sockets["firm"],
        "AIRFLOW_CONN_DEEPSEEK_DEFAULT": json.dumps(deepseek),
        "QUINCENA_COMPANIES_FILE": "/opt/quincena/config/companies.csv",
        "QUINCENA_OFFPEAK_POLICY": "ignore",  # the test runs whatever the hour
    }
    lines = [line for line in compose_client.env_example().splitlines() if line.split("=", 1)[0] not in values]
    return "\n".join([*lines, *(f"{k}={v}" for k, v in values.items())]) + "\n"


def remap(value: str, root: Path) -> str:
    """Container paths to the temporary directory; the image's /opt/quincena is this repository."""
    for folder in ("inbox", "reports", "usage_exports", "config"):
        value = value.replace(f"/opt/quincena/{folder}", str(root / folder))
    return value.replace("/opt/quincena", str(REPO)).replace("/opt/airflow", str(root / "airflow"))


def service_env(service: dict[str, Any], root: Path, metadata_uri: str, ports: dict[str, int]) -> dict[str, str]:
    env = {key: remap(str(value), root) for key, value in service["environment"].items()}
    assert env.pop("AIRFLOW__CORE__EXECUTOR") == "CeleryExecutor"
    env.pop("AIRFLOW__CELERY__BROKER_URL")
    env.pop("AIRFLOW__CELERY__RESULT_BACKEND")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres:5432/airflow")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env.pop("AIRFLOW__CORE__AUTH_MANAGER").endswith("FabAuthManager")
    env.update(
        AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(root / "airflow" / "auth" / "passwords.json"),
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=metadata_uri,
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{ports['api']}/execution/",
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(ports["api"]),
        AIRFLOW__API__WORKERS="1",
        AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT=str(ports["health"]),
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(ports["worker_logs"]),
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(ports["trigger_logs"]),
    )
    # What the image's ENV gives every container (Dockerfile), remapped the same way.
    env.update(
        AIRFLOW_HOME=str(root / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
        PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
        HOME=os.environ.get("HOME", "/root"),
        LANG="C.UTF-8",
    )
    return env


def init_script(service: dict[str, Any], root: Path) -> str:
    script = service["command"][-1].replace("$$", "$")  # compose's escape for a literal $
    return remap(without_fab_users(script), root)


def without_fab_users(script: str) -> str:
    """init's script without its FAB `airflow users create` step (a command continued over three lines)."""
    lines, skipping = [], False
    for line in script.splitlines():
        if line.strip().startswith("airflow users create"):
            skipping = True
        if not skipping:
            lines.append(line)
        elif not line.rstrip().endswith("\\"):
            skipping = False
    assert not any("airflow users" in line for line in lines), "init's user step changed: adapt the test"
    return "\n".join(lines) + "\n"


def run_logged(argv: list[str], env: dict[str, str], log: Path, timeout: float) -> None:
    with log.open("w") as out:
        result = subprocess.run(argv, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, cwd=REPO)
    assert result.returncode == 0, log.read_text()[-3000:]


def doctor(env: dict[str, str]) -> dict[str, str]:
    result = subprocess.run(
        [str(BIN / "quincena"), "doctor", "--json"], env=env, capture_output=True, text=True, timeout=180, cwd=REPO
    )
    report = json.loads(result.stdout)
    return {c["name"]: c["status"] + ": " + c["detail"] for c in report["checks"]}


@pytest.fixture(scope="module")
def stack(database_uri: str, simulator_server) -> Iterator[Stack]:
    from quincena.devtools import embedded

    # Not pytest's tmp_path: concurrent pytest sessions on this machine rotate its base directories.
    root = Path(tempfile.mkdtemp(prefix="quincena-compose-stack-"))
    root.chmod(0o755)
    suffix = uuid.uuid4().hex[:8]
    names = {"airflow": f"stack_airflow_{suffix}", "firm": f"stack_quincena_{suffix}"}
    uris = {role: embedded.start(persistent=False, database=name) for role, name in names.items()}
    socket_dir = uris["airflow"].split("host=", 1)[1]
    metadata_uri = f"postgresql+psycopg://postgres:@/{names['airflow']}?host={socket_dir}"
    simulator_server.configure(keys=dict(SIM_KEYS), revoked_keys=[])
    env_text = env_for_the_test({"firm": uris["firm"], "simulator": simulator_server.base_url})
    project = root / "project"
    project.mkdir()
    resolved = compose_client.resolved(project, env_text)
    ports = {name: free_port() for name in ("api", "health", "worker_logs", "trigger_logs")}
    envs = {
        name: service_env(resolved["services"][name], root, metadata_uri, ports)
        for name in (*COMPONENTS, "airflow-init")
    }
    logs = root / "logs"
    logs.mkdir()
    for volume in ("auth", "logs"):  # the named volume airflow-logs; auth: the stand-in auth manager's file
        (root / "airflow" / volume).mkdir(parents=True)
    password = env_text.split("AIRFLOW_ADMIN_PASSWORD=", 1)[1].split("\n", 1)[0]
    (root / "airflow" / "auth" / "passwords.json").write_text(json.dumps({"admin": password}))
    cycle = last_closed_cycle()
    # The firm's files: this quincena's invoices in the inbox, the registry in ./config.
    sample_env = {**envs["airflow-init"], "QUINCENA_LOCAL": str(root / "local")}
    argv = [str(BIN / "quincena"), "sample", "--companies", str(COMPANIES), "--invoices", str(INVOICES)]
    argv += ["--inbox", str(root / "inbox"), "--period", cycle, "--no-register"]
    run_logged(argv, sample_env, logs / "sample.log", 120)
    (root / "config").mkdir()
    shutil.copy(root / "inbox-sample" / "companies.csv", root / "config" / "companies.csv")

    run_logged(
        ["bash", "-c", init_script(resolved["services"]["airflow-init"], root)],
        envs["airflow-init"],
        logs / "init.log",
        INIT_TIMEOUT_S,
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name in COMPONENTS:
            command = resolved["services"][name]["command"]
            with (logs / f"{name}.log").open("w") as out:
                processes.append(
                    subprocess.Popen(
                        [str(BIN / "airflow"), *command.split()],
                        env=envs[name],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        cwd=REPO,
                        start_new_session=True,
                    )
                )
        settings = DemoSettings(api_port=ports["api"], cycle=cycle)
        wait_for("the api-server", lambda: _healthy(settings.api_url), 180, interval_s=2)
        api = AirflowApi(settings.api_url, "admin", password)
        yield Stack(root, envs, api, settings, uris["firm"])
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        with psycopg.connect(embedded.start(persistent=False, database="postgres"), autocommit=True) as admin:
            for name in names.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(root, ignore_errors=True)


def _healthy(api_url: str) -> bool:
    try:
        return requests.get(f"{api_url}/api/v2/monitor/health", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def test_init_leaves_what_the_readme_says(stack: Stack) -> None:
    """Both databases migrated, the pool imported, the registry imported, the DAGs listed and paused."""
    with psycopg.connect(stack.firm_uri) as conn:
        assert conn.execute("SELECT count(*) FROM companies WHERE active").fetchone()[0] == COMPANIES
    pools = {p["name"]: p["slots"] for p in stack.api.request("GET", "/pools").json()["pools"]}
    assert pools["deepseek"] == 16
    for dag_id in ("quincena_cycle", "deepseek_weekly_health"):
        dag = stack.api.request("GET", f"/dags/{dag_id}").json()
        assert dag["is_paused"] is True and dag["next_dagrun_run_after"], dag_id
    assert all((stack.root / folder).is_dir() for folder in ("inbox", "reports", "usage_exports"))
    assert (stack.root / "reports").stat().st_uid == 50000  # AIRFLOW_UID's


def test_doctor_before_going_live_only_warns_of_the_paused_dags(stack: Stack) -> None:
    checks = doctor(stack.envs["airflow-scheduler"])
    not_ok = {name: line for name, line in checks.items() if not line.startswith("OK")}
    assert list(not_ok) == ["dags"] or sorted(not_ok) == ["dags", "tax rules"], not_ok  # December: next year's
    assert not_ok["dags"].startswith("WARN: paused")


def test_a_cycle_runs_to_success_through_the_scheduler(stack: Stack) -> None:
    run = trigger_cycle(stack.api, stack.settings)  # the last closed quincena, then unpause
    state = wait_for_run(stack.api, run["dag_run_id"], RUN_TIMEOUT_S, approve=True)
    assert state == "success", f"see {stack.root / 'airflow' / 'logs'}"
    with psycopg.connect(stack.firm_uri) as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM invoices GROUP BY status").fetchall())
        calls = conn.execute("SELECT count(*) FROM api_calls WHERE outcome = 'ok'").fetchone()[0]
    assert "pending" not in statuses and statuses.get("classified", 0) > 0 and calls > 0, statuses
    assert (stack.root / "reports" / stack.settings.cycle / "cycle_report.html").is_file()
    # The run took the last closed quincena's slot (its logical date), so unpausing made no paid twin.
    runs = stack.api.request("GET", "/dags/quincena_cycle/dagRuns").json()
    assert [r["run_type"] for r in runs["dag_runs"]] == ["manual"], runs
    # The README's last step, in the scheduler's container: then the preflight is all OK.
    unpause = [str(BIN / "airflow"), "dags", "unpause", "deepseek_weekly_health"]
    run_logged(unpause, stack.envs["airflow-scheduler"], stack.root / "logs" / "unpause.log", 120)
    checks = doctor(stack.envs["airflow-scheduler"])
    not_ok = {name: line for name, line in checks.items() if not line.startswith("OK")}
    assert set(not_ok) <= {"tax rules"}, not_ok  # December: next year's rules may not be out yet
