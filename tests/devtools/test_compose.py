"""docker-compose.yaml, Dockerfile and .env.example hold together (no docker engine runs here).

The file as written is read with PyYAML; the file as compose runs it comes from the compose client
(`docker-compose config`, installed by .ci/run: a missing client fails in CI).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from quincena.ops import airflow_settings
from tests import compose_client
from tests.compose_client import COMPOSE, REPO

AIRFLOW_SERVICES = set(compose_client.AIRFLOW_SERVICES)
LONG_RUNNING = AIRFLOW_SERVICES - {"airflow-init"}
# What a real secret looks like: a DeepSeek key, or a long random token mixing cases and digits
# (placeholders are "sk-..." and change-me; UPPER_CASE variable names are not tokens).
SECRET = re.compile(r"sk-[A-Za-z0-9]{16,}|\b(?=[\w\-]*\d)(?=[\w\-]*[a-z])(?=[\w\-]*[A-Z])[\w\-]{32,}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_services_and_profiles(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == AIRFLOW_SERVICES | {"postgres", "redis", "simulator"}
    assert services["simulator"]["profiles"] == ["simulator"]
    assert all("profiles" not in spec for name, spec in services.items() if name != "simulator")
    commands = {name: services[name].get("command") for name in LONG_RUNNING}
    assert commands == {
        "airflow-apiserver": "api-server",
        "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor",
        "airflow-triggerer": "triggerer",
        "airflow-worker": "celery worker",
    }


def test_shared_anchors_give_every_airflow_service_the_same_setup(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert "x-airflow-common:\n  &airflow-common" in text and "&airflow-common-env" in text
    common_env = compose["x-airflow-common"]["environment"]
    assert common_env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert common_env["AIRFLOW_CONN_QUINCENA_DB"].startswith("${AIRFLOW_CONN_QUINCENA_DB")
    assert common_env["AIRFLOW_CONN_DEEPSEEK_DEFAULT"].startswith("${AIRFLOW_CONN_DEEPSEEK_DEFAULT")
    for name in AIRFLOW_SERVICES | {"simulator"}:
        service = compose["services"][name]
        assert service["image"] == compose["x-airflow-common"]["image"], name
        for key, value in common_env.items():
            assert service["environment"].get(key) == value, (name, key)


def test_depends_on_graph(compose: dict[str, Any]) -> None:
    services = compose["services"]
    graph = {name: dict(spec.get("depends_on") or {}) for name, spec in services.items()}
    for name, deps in graph.items():
        assert set(deps) <= set(services), (name, deps)
    init = graph["airflow-init"]
    assert init["postgres"]["condition"] == "service_healthy" and init["redis"]["condition"] == "service_healthy"
    for name in LONG_RUNNING:
        assert graph[name]["airflow-init"]["condition"] == "service_completed_successfully", name
    assert graph["airflow-worker"]["airflow-apiserver"]["condition"] == "service_healthy"
    assert graph["simulator"] == {}
    # No cycles: repeatedly remove services whose dependencies are all gone.
    remaining = dict(graph)
    while remaining:
        ready = [n for n, deps in remaining.items() if not set(deps) & set(remaining)]
        assert ready, f"depends_on cycle among {sorted(remaining)}"
        for n in ready:
            del remaining[n]


def test_scaling_and_loopback_only(compose: dict[str, Any]) -> None:
    services = compose["services"]
    worker = services["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale airflow-worker=N
    for name, spec in services.items():
        for port in spec.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
    assert services["airflow-apiserver"]["ports"] == ["127.0.0.1:8080:8080"]


def test_referenced_files_exist(compose: dict[str, Any]) -> None:
    assert compose["x-airflow-common"]["build"] == "."
    assert (REPO / "Dockerfile").is_file() and (REPO / ".env.example").is_file()
    for spec in compose["services"].values():
        for volume in spec.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), volume
    init_sql = list((REPO / "docker" / "postgres-init").glob("*.sql"))
    assert init_sql and "CREATE DATABASE quincena" in init_sql[0].read_text()
    init_script = compose["services"]["airflow-init"]["command"][-1]
    for path in re.findall(r"/opt/quincena/(\S+\.json)", init_script):
        assert (REPO / path).is_file(), path


def test_dockerfile_installs_our_packages_and_copies_what_exists() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.startswith("#") and "FROM apache/airflow:3.3.2-python3.11" in dockerfile
    assert "-r requirements.lock" in dockerfile and "-e . -e providers/deepseek" in dockerfile
    assert re.search(r"apache-airflow-providers-celery==\d", dockerfile) and re.search(r"redis==\d", dockerfile)
    for source in re.findall(r"^COPY (?:--\S+ )*(\S+) ", dockerfile, flags=re.MULTILINE):
        assert (REPO / source).exists(), f"COPY {source}: missing from the repository"
    for needed in ("dags", "plugins", "include"):
        assert re.search(rf"^COPY .*\b{needed} ", dockerfile, flags=re.MULTILINE), needed


def test_no_secret_values_shipped() -> None:
    for name in ("docker-compose.yaml", "Dockerfile", ".env.example"):
        text = (REPO / name).read_text(encoding="utf-8")
        assert not SECRET.search(text), f"{name} holds something that looks like a secret: {SECRET.search(text)[0]}"
    env = dict(
        line.split("=", 1) for line in (REPO / ".env.example").read_text().splitlines() if line and line[0] != "#"
    )
    for key in ("POSTGRES_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_ADMIN_PASSWORD"):
        assert env[key] == "change-me", key
    assert '"sk-..."' in env["AIRFLOW_CONN_DEEPSEEK_DEFAULT"]
    assert ".env" in (REPO / ".gitignore").read_text().split()


def test_docker_compose_config_accepts_it(tmp_path: Path) -> None:
    result = compose_client.run_config(tmp_path, compose_client.env_example(), "--quiet")
    assert result.returncode == 0, result.stderr


@pytest.fixture
def resolved(tmp_path: Path) -> dict[str, Any]:
    return compose_client.resolved(tmp_path)


def test_every_long_running_service_has_a_healthcheck(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    for name in (*LONG_RUNNING, "postgres", "redis"):
        check = services[name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL") and check["interval"] and check["retries"] >= 3, name
    assert "healthcheck" not in services["airflow-init"]  # it runs once and exits
    assert services["airflow-apiserver"]["healthcheck"]["test"][-1].endswith("/api/v2/monitor/health")
    assert services["airflow-scheduler"]["environment"]["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"


def test_host_folders_are_mounted_in_every_airflow_service(tmp_path: Path, resolved: dict[str, Any]) -> None:
    """Inbox, reports (the exports are under them) and usage exports read-write, the firm's files read-only,
    all host folders (they survive `down`); logs in a named volume."""
    expected = {
        f"{tmp_path}/inbox:/opt/quincena/inbox:rw",
        f"{tmp_path}/reports:/opt/quincena/reports:rw",
        f"{tmp_path}/usage_exports:/opt/quincena/usage_exports:rw",
        f"{tmp_path}/config:/opt/quincena/config:ro",
        "airflow-logs:/opt/airflow/logs:rw",
    }
    for name in AIRFLOW_SERVICES:
        assert set(resolved["services"][name]["volumes"]) == expected, name
    assert set(resolved["volumes"]) == {"postgres-db-volume", "airflow-logs"}
    env = resolved["services"]["airflow-scheduler"]["environment"]
    assert (env["QUINCENA_INBOX"], env["QUINCENA_REPORTS"], env["QUINCENA_USAGE_EXPORTS"]) == (
        "/opt/quincena/inbox",
        "/opt/quincena/reports",
        "/opt/quincena/usage_exports",
    )


def test_init_owns_the_folders_then_migrates_imports_and_lists_the_dags(resolved: dict[str, Any]) -> None:
    init = resolved["services"]["airflow-init"]
    assert init["user"] == "0:0"  # root, to chown the host folders for AIRFLOW_UID
    steps = [line.strip() for line in init["command"][-1].splitlines() if line.strip()]
    expected_order = [
        "set -euo pipefail",
        "mkdir -p /opt/quincena/inbox /opt/quincena/reports /opt/quincena/usage_exports",
        'chown "50000:0" /opt/quincena/inbox',
        'chown -R "50000:0" /opt/quincena/reports /opt/quincena/usage_exports',
        "airflow db migrate",
        "quincena db migrate",
        "airflow pools import /opt/quincena/include/pools.json",
    ]
    assert steps[: len(expected_order)] == expected_order
    registry = next(step for step in steps if "companies import" in step)
    assert registry.startswith('if [ -n "$${QUINCENA_COMPANIES_FILE:-}" ]')  # only when a file is given
    assert steps.index(registry) < steps.index("airflow dags reserialize")
    for name in LONG_RUNNING:
        assert resolved["services"][name]["user"] == "50000:0", name


def test_every_airflow_service_gets_the_shared_airflow_settings(resolved: dict[str, Any]) -> None:
    shared = airflow_settings.shared_env()
    assert set(shared) >= {
        "AIRFLOW__CORE__PARALLELISM",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE",
    }
    for name in AIRFLOW_SERVICES:
        env = resolved["services"][name]["environment"]
        assert {key: env.get(key) for key in shared} == shared, name


def test_production_users_are_real_users_of_the_fab_auth_manager(compose: dict[str, Any]) -> None:
    env = compose["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CORE__AUTH_MANAGER"] == "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
    assert not [k for k in env if k.startswith("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER")]  # no shared demo login
    init = compose["services"]["airflow-init"]
    script = init["command"][-1]
    assert "airflow users create --role Admin" in script and "$$AIRFLOW_ADMIN_PASSWORD" in script
    assert init["environment"]["AIRFLOW_ADMIN_PASSWORD"].startswith("${AIRFLOW_ADMIN_PASSWORD:?")
