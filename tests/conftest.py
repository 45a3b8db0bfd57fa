"""Test-wide set-up: a private Airflow home and a fresh database on the real PostgreSQL."""

import os
import tempfile
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]

# Before anything imports airflow: a throwaway home, no examples, no network.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="quincena-airflow-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(_REPO / "plugins")
# Reports and inboxes of a test session never land in the developer's .local/.
os.environ["QUINCENA_REPORTS"] = str(Path(_AIRFLOW_HOME) / "reports")
os.environ["QUINCENA_INBOX"] = str(Path(_AIRFLOW_HOME) / "inbox")
# A test's outcome must not depend on the hour it runs: no off-peak waits unless a test asks for them.
os.environ["QUINCENA_OFFPEAK_POLICY"] = "ignore"

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.airflow",
    "tests.fixtures.simulator",
]
