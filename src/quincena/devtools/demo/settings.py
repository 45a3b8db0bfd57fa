"""What the demo is configured with (DemoSettings: scale, ports, cycle) and where it keeps its state
(DemoPaths: .local/ and below), plus the names every part of the demo shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from quincena.core import config, periods

DAG_ID = "quincena_cycle"
BOOKS_DAG_ID = config.BOOKS_DAG_ID
WEEKLY_DAG_ID = "deepseek_weekly_health"
LOOPBACK = "127.0.0.1"
DEMO_KEY_NAMES = tuple(f"contab-{n}" for n in range(1, 6))
DEMO_ACCOUNTANT = "contadora"  # the demo's second user: an accountant granted a few companies
SIMULATOR = "simulator"
API_SERVER = "airflow-api-server"
# Airflow's four components, what `airflow standalone` runs, started one by one so the scheduler and
# the triggerer can skip their log servers: those listen on every interface, and with LocalExecutor
# the api-server reads task logs from the local disk anyway.
AIRFLOW_COMPONENTS: dict[str, list[str]] = {
    API_SERVER: ["api-server"],
    "airflow-scheduler": ["scheduler", "--skip-serve-logs"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-triggerer": ["triggerer", "--skip-serve-logs"],
}
# Stop order: the scheduler first (no new task starts), the simulator last (no task is left calling it).
COMPONENTS = ("airflow-scheduler", "airflow-triggerer", "airflow-dag-processor", API_SERVER, SIMULATOR)
TERMINAL_STATES = frozenset({"success", "failed"})


class DemoError(Exception):
    """Something the user can act on (a busy port, a component that did not come up)."""


@dataclass(frozen=True)
class DemoSettings:
    companies: int = 40
    invoices: int = 60  # per company; the firm's real ~150 works too, it just takes longer
    api_port: int = 8080
    simulator_port: int = 8765
    seed: int = 2026
    cycle: str = ""

    @classmethod
    def resolve(cls, **overrides: Any) -> DemoSettings:
        """Flags (non-None overrides) win over QUINCENA_DEMO_* environment variables, then defaults."""
        values: dict[str, Any] = {}
        for name in config.DEMO_INT_VARIABLES:
            raw = overrides.get(name)
            if raw is None:
                raw = config.demo_setting(name)
            if raw is not None:
                values[name] = int(raw)
        values["cycle"] = overrides.get("cycle") or config.demo_setting("cycle") or last_closed_cycle()
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        periods.cycle_bounds(self.cycle)  # ValueError names a bad cycle id
        if self.companies < 1 or self.invoices < 1:
            raise ValueError("companies and invoices must be at least 1")
        if self.api_port == self.simulator_port:
            raise ValueError("the Airflow and simulator ports must differ")

    @property
    def api_url(self) -> str:
        return f"http://{LOOPBACK}:{self.api_port}"

    @property
    def ui_url(self) -> str:
        return f"http://localhost:{self.api_port}"

    @property
    def simulator_url(self) -> str:
        return f"http://{LOOPBACK}:{self.simulator_port}"

    @property
    def run_id(self) -> str:
        return f"demo__{self.cycle}"


def last_closed_cycle(today: date | None = None) -> str:
    """The latest quincena that has ended, by Bogotá's calendar (what a scheduled run would process)."""
    if today is None:
        import pendulum

        today = pendulum.now(config.TIMEZONE).date()
    return periods.previous_closed_cycle(today)


@dataclass(frozen=True)
class DemoPaths:
    local: Path

    @classmethod
    def default(cls) -> DemoPaths:
        return cls(config.local_dir().resolve())

    @property
    def airflow_home(self) -> Path:
        return self.local / "airflow"

    @property
    def logs(self) -> Path:
        return self.local / "logs"

    @property
    def run(self) -> Path:
        return self.local / "run"

    @property
    def keys_file(self) -> Path:
        return self.run / "demo-keys.json"

    @property
    def settings_file(self) -> Path:
        return self.run / "demo.json"

    @property
    def password_file(self) -> Path:
        return self.airflow_home / "simple_auth_manager_passwords.json.generated"

    def pid_file(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def sample_stamp(self, settings: DemoSettings) -> Path:
        return self.run / f"sample-{settings.cycle}-{settings.companies}x{settings.invoices}-s{settings.seed}.done"

    def make(self) -> None:
        for directory in (self.local, self.airflow_home, self.logs, self.run):
            directory.mkdir(parents=True, exist_ok=True)
