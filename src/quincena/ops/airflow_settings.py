"""The Airflow settings every deployment shares (include/airflow.env), read as compose's env_file is.

One file for docker-compose.yaml (``env_file:``) and the demo (its airflow.cfg), so the two cannot
disagree on the time zone or on how many tasks may run beside the classify lanes.
"""

from __future__ import annotations

from pathlib import Path

from quincena.core import config

# Task slots beyond the classify lanes: planning, the companies' books and export steps, the weekly report.
HEADROOM = 4
_PREFIX = "AIRFLOW__"


def env_file() -> Path:
    return config.include_dir() / "airflow.env"


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as compose reads an env_file: comments and blank lines skipped, values verbatim."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{path.name} line {number}: expected KEY=VALUE")
        values[key.strip()] = value
    return values


def shared_env() -> dict[str, str]:
    return read_env_file(env_file())


def as_cfg(env: dict[str, str]) -> dict[str, dict[str, str]]:
    """AIRFLOW__SECTION__KEY variables as airflow.cfg sections: {"core": {"parallelism": "20"}}."""
    sections: dict[str, dict[str, str]] = {}
    for name, value in env.items():
        if not name.startswith(_PREFIX) or name.count("__") < 2:
            raise ValueError(f"{name}: not an AIRFLOW__SECTION__KEY setting")
        section, _, key = name[len(_PREFIX) :].partition("__")
        sections.setdefault(section.lower(), {})[key.lower()] = value
    return sections


def required_task_slots() -> int:
    """Executor and per-DAG slots a cycle needs: one per classify lane (the pool's size) plus the other steps."""
    return config.deepseek_pool_slots() + HEADROOM
