"""Every QUINCENA_* setting core/config.py reads can be set by a firm, and the Airflow settings the
product needs are the same in compose and in the demo.

The settings' names are taken from config.py's own string literals, so a new setting that is not
documented in .env.example or does not reach the containers fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from quincena.core import config
from quincena.devtools.demo import orchestration
from quincena.devtools.demo.settings import DemoPaths, DemoSettings
from quincena.ops import airflow_settings
from tests import compose_client
from tests.compose_client import AIRFLOW_SERVICES, COMPOSE

# Settings a firm cannot (and need not) set through .env, and why.
IMAGE_ONLY = {
    "QUINCENA_HOME": "where the image keeps include/ and dags/ (Dockerfile); compose pins it",
    "QUINCENA_INBOX": "the inbox's container path, pinned by compose; the host folder is QUINCENA_INBOX_DIR",
    "QUINCENA_REPORTS": "the reports' container path, pinned by compose; the host folder is QUINCENA_REPORTS_DIR",
    "QUINCENA_USAGE_EXPORTS": "pinned by compose; the host folder is QUINCENA_USAGE_EXPORTS_DIR",
    "QUINCENA_LOCAL": "the development machine's state (embedded PostgreSQL, demo); production has postgres",
    "QUINCENA_DEMO_COMPANIES": "make demo only",
    "QUINCENA_DEMO_INVOICES": "make demo only",
    "QUINCENA_DEMO_API_PORT": "make demo only",
    "QUINCENA_DEMO_SIMULATOR_PORT": "make demo only",
    "QUINCENA_DEMO_SEED": "make demo only",
    "QUINCENA_DEMO_CYCLE": "make demo only",
    "QUINCENA_DEMO_SIMULATOR_SPEND_LIMIT_USD": "make demo only (rehearses a balance running out)",
}
PINNED_BY_COMPOSE = ("QUINCENA_HOME", "QUINCENA_INBOX", "QUINCENA_REPORTS", "QUINCENA_USAGE_EXPORTS")
# Read by docker-compose.yaml itself (interpolation or airflow-init), not by the code.
COMPOSE_ONLY = (
    "QUINCENA_INBOX_DIR",
    "QUINCENA_REPORTS_DIR",
    "QUINCENA_USAGE_EXPORTS_DIR",
    "QUINCENA_CONFIG_DIR",
    "QUINCENA_COMPANIES_FILE",
)
_NAME = re.compile(r"QUINCENA_[A-Z0-9_]*[A-Z0-9]")
_LINE = re.compile(r"^(#\s*)?(QUINCENA_[A-Z0-9_]+)=(.*)$")


def config_settings() -> set[str]:
    """Every QUINCENA_* name that appears as a whole string literal in core/config.py."""
    tree = ast.parse(Path(config.__file__).read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _NAME.fullmatch(node.value)
    }


def env_example_settings() -> dict[str, tuple[str, str]]:
    """QUINCENA_* lines of .env.example, set or commented: name -> (value, the comment line above)."""
    lines = compose_client.env_example().splitlines()
    found: dict[str, tuple[str, str]] = {}
    for index, line in enumerate(lines):
        match = _LINE.match(line.strip())
        if match:
            assert match[2] not in found, f"{match[2]} listed twice in .env.example"
            found[match[2]] = (match[3], lines[index - 1].strip())
    return found


def test_config_names_are_found() -> None:
    names = config_settings()
    assert {"QUINCENA_EXPORT_FORMATS", "QUINCENA_ALERT_EMAIL_TO", "QUINCENA_HEALTH_MAX_429_RATE"} <= names
    assert len(names) > 30


def test_env_example_lists_every_setting_with_a_line_of_what_it_does() -> None:
    listed = env_example_settings()
    missing = config_settings() - set(IMAGE_ONLY) - set(listed)
    assert not missing, f"settings config.py reads that .env.example does not list: {sorted(missing)}"
    for name, (_, above) in listed.items():
        assert above.startswith("#") and not _LINE.match(above) and len(above) > 12, f"{name}: no description"


def test_env_example_has_no_dead_settings() -> None:
    dead = set(env_example_settings()) - config_settings() - set(COMPOSE_ONLY)
    assert not dead, f".env.example lists settings no code reads: {sorted(dead)}"
    assert not set(env_example_settings()) & set(IMAGE_ONLY)
    text = COMPOSE.read_text(encoding="utf-8")
    for name in COMPOSE_ONLY:
        assert name in text, f"{name} is documented as compose's but docker-compose.yaml does not read it"


def test_env_example_defaults_are_the_code_defaults() -> None:
    listed = env_example_settings()
    env: dict[str, str] = {}
    assert config.export_formats(env) == listed["QUINCENA_EXPORT_FORMATS"][0].split(",")
    assert config.offpeak_policy(env) == listed["QUINCENA_OFFPEAK_POLICY"][0]
    assert config.approval_default(env) == listed["QUINCENA_APPROVAL_DEFAULT"][0]
    assert str(config.approval_auto_when_clean(env)).lower() == listed["QUINCENA_APPROVAL_AUTO_WHEN_CLEAN"][0]
    assert config.approval_timeout_hours(env) is None and listed["QUINCENA_APPROVAL_TIMEOUT_HOURS"][0] == ""
    assert config.lesson_wait_s() == int(listed["QUINCENA_LESSON_WAIT_S"][0])
    assert config.max_file_bytes() == int(listed["QUINCENA_MAX_FILE_BYTES"][0])
    assert config.max_lines_per_invoice() == int(listed["QUINCENA_MAX_LINES_PER_INVOICE"][0])
    assert config.db_connect_timeout_s() == int(listed["QUINCENA_DB_CONNECT_TIMEOUT_S"][0])
    assert config.reconcile_tolerance_text() == listed["QUINCENA_RECONCILE_TOLERANCE"][0]


def test_every_setting_in_env_reaches_every_airflow_service(tmp_path: Path) -> None:
    """A .env setting every variable config.py reads: each arrives in every Airflow service unchanged,
    except the container paths compose pins (a value in .env must not move them)."""
    probes = {name: f"probe-{name.lower()}" for name in config_settings()}
    env_text = compose_client.env_example() + "".join(f"{name}={value}\n" for name, value in probes.items())
    resolved = compose_client.resolved(tmp_path, env_text)
    for service in (*AIRFLOW_SERVICES, "simulator"):
        env = resolved["services"][service]["environment"]
        for name, probe in probes.items():
            if name in PINNED_BY_COMPOSE:
                assert env[name].startswith("/opt/quincena"), (service, name)
            else:
                assert env.get(name) == probe, f"{name} set in .env does not reach {service}"


@pytest.mark.parametrize("name", sorted(IMAGE_ONLY))
def test_image_only_settings_are_read_by_config(name: str) -> None:
    assert name in config_settings(), f"{name} is listed as image-only but config.py does not read it"


def test_airflow_env_is_derived_from_the_pool() -> None:
    shared = airflow_settings.shared_env()
    lanes_and_headroom = config.deepseek_pool_slots() + airflow_settings.HEADROOM
    assert airflow_settings.required_task_slots() == lanes_and_headroom == 20
    assert int(shared["AIRFLOW__CORE__PARALLELISM"]) == lanes_and_headroom
    assert int(shared["AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG"]) == lanes_and_headroom
    assert shared["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == config.TIMEZONE


def test_the_demo_writes_the_same_values_into_its_airflow_cfg(tmp_path: Path) -> None:
    options = orchestration.airflow_settings(
        DemoPaths(tmp_path), DemoSettings(cycle="2026-11-Q1"), "postgresql+psycopg://postgres:@/airflow?host=/tmp/x"
    )
    for section, values in airflow_settings.as_cfg(airflow_settings.shared_env()).items():
        for key, value in values.items():
            assert options[section][key] == value, (section, key)


def test_read_env_file_refuses_a_line_without_equals(tmp_path: Path) -> None:
    path = tmp_path / "bad.env"
    path.write_text("# fine\nAIRFLOW__CORE__PARALLELISM=20\nnot a setting\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 3"):
        airflow_settings.read_env_file(path)
    assert airflow_settings.as_cfg({"AIRFLOW__CORE__DEFAULT_TIMEZONE": "UTC"}) == {"core": {"default_timezone": "UTC"}}
    with pytest.raises(ValueError):
        airflow_settings.as_cfg({"QUINCENA_X": "1"})
