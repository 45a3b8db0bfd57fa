"""core.config: one timezone, and QUINCENA_* settings read at call time."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

from quincena.core import config

REPO = Path(__file__).resolve().parents[2]


def test_one_timezone() -> None:
    assert config.TIMEZONE == "America/Bogota"
    assert config.TZ.key == config.TIMEZONE
    assert datetime(2026, 11, 2, tzinfo=config.TZ).utcoffset().total_seconds() == -5 * 3600


def test_no_other_timezone_literal_in_src_or_dags() -> None:
    found = subprocess.run(
        ["grep", "-rn", "America/Bogota", "src", "dags", "--include=*.py"], cwd=REPO, capture_output=True, text=True
    ).stdout.splitlines()
    assert [line for line in found if not line.startswith("src/quincena/core/config.py:")] == []


def test_settings_are_read_at_call_time(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("QUINCENA_LESSON_WAIT_S", raising=False)
    assert config.lesson_wait_s() == 1800
    monkeypatch.setenv("QUINCENA_LESSON_WAIT_S", "60")
    assert config.lesson_wait_s() == 60
    monkeypatch.setenv("QUINCENA_USAGE_EXPORTS", str(tmp_path))
    assert config.usage_exports_dir() == tmp_path
    monkeypatch.setenv("QUINCENA_RECONCILE_TOLERANCE", "  ")
    assert config.reconcile_tolerance_text() == "0.01"
    assert config.health_setting("monthly_budget_usd", {"QUINCENA_MONTHLY_BUDGET_USD": " 250 "}) == "250"
    assert config.health_setting("max_spread", {"QUINCENA_HEALTH_MAX_SPREAD": ""}) is None


def test_no_quincena_setting_read_outside_config() -> None:
    """Every QUINCENA_* environment read lives in core.config (other modules only name the variables)."""
    found = subprocess.run(
        ["grep", "-rnE", r"environ(\.get)?[\[(]\s*\"QUINCENA_", "src", "dags", "--include=*.py"],
        cwd=REPO, capture_output=True, text=True,
    ).stdout.splitlines()  # fmt: skip
    assert [line for line in found if not line.startswith("src/quincena/core/config.py:")] == []
