"""Test-wide set-up: a private Airflow home and a fresh database on the real PostgreSQL."""

import os
import tempfile

# Before anything imports airflow: a throwaway home, no examples, no network.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="quincena-airflow-")
os.environ.setdefault("AIRFLOW_HOME", _AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")

pytest_plugins = [
    "tests.fixtures.database",
]
