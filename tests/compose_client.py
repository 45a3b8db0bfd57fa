"""The compose client as the tests use it: `docker-compose config` on docker-compose.yaml, resolved.

No Docker engine runs here, but `config` needs none: it interpolates .env, merges anchors and
env_files and validates the file, which is what the structure and settings tests read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yaml"
AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)


def compose_cli() -> list[str]:
    """`docker compose` (plugin) or `docker-compose`; a missing client fails in CI and skips elsewhere."""
    for cli in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(cli[0]) and subprocess.run([*cli, "version"], capture_output=True).returncode == 0:
            return cli
    message = "no compose client: install Debian's docker-compose (`apt-get install docker-compose`)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def env_example() -> str:
    return (REPO / ".env.example").read_text(encoding="utf-8")


def project(tmp: Path, env_text: str) -> Path:
    """A project directory as a firm has it: the repository's files, and ``env_text`` as its .env."""
    for name in ("include", "docker", "Dockerfile"):
        (tmp / name).symlink_to(REPO / name)
    (tmp / ".env").write_text(env_text, encoding="utf-8")
    return tmp


def run_config(tmp: Path, env_text: str, *extra: str) -> subprocess.CompletedProcess[str]:
    directory = project(tmp, env_text)
    argv = [*compose_cli(), "--project-directory", str(directory), "-f", str(COMPOSE), "config", *extra]
    # Compose lets the shell's variables win over .env: run it with none of the test session's.
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=directory, env=env)


def resolved(tmp: Path, env_text: str | None = None) -> dict[str, Any]:
    """The file as compose would run it with this .env (default: .env.example as shipped)."""
    result = run_config(tmp, env_example() if env_text is None else env_text)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)
