"""The demo's process supervision and settings, without Airflow: real processes in their own sessions."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import psutil
import pytest

from quincena.devtools import demo
from quincena.devtools.demo import orchestration, processes

# A session leader that forks a grandchild, as the scheduler forks task processes.
PARENT_AND_CHILD = (
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
    "print('started', flush=True)\n"
    "time.sleep(120)\n"
)


@pytest.fixture
def paths(tmp_path: Path) -> demo.DemoPaths:
    result = demo.DemoPaths(tmp_path / "local")
    result.make()
    return result


def test_spawn_records_the_group_and_terminate_stops_all_of_it(paths: demo.DemoPaths) -> None:
    managed = demo.spawn(paths, "worker", [sys.executable, "-c", PARENT_AND_CHILD], dict(os.environ))
    try:
        assert json.loads(paths.pid_file("worker").read_text())["pid"] == managed.pid
        assert demo.read_managed(paths, "worker") == managed
        group = demo.wait_for("the grandchild", lambda: len(managed.processes()) == 2 and managed.processes(), 30, 0.1)
        assert {os.getpgid(p.pid) for p in group} == {managed.pid}  # its own session, not ours
        assert os.getpgid(managed.pid) != os.getpgid(0)
        assert demo.running(paths, "worker") == managed
    finally:
        outcome = demo.terminate([managed], grace_s=10)
    assert outcome == {"worker": (2, 0)}  # both processes, none needed SIGKILL
    assert not any(psutil.pid_exists(p.pid) and p.status() != psutil.STATUS_ZOMBIE for p in group)
    assert demo.running(paths, "worker") is None  # the PID file is left, the process is not alive
    assert "started" in processes.log_tail(paths, "worker")


def test_a_reused_pid_is_not_ours(paths: demo.DemoPaths) -> None:
    paths.pid_file("stale").write_text(json.dumps({"pid": os.getpid(), "create_time": 1.0}))
    stale = demo.read_managed(paths, "stale")
    assert stale is not None and not stale.alive()
    assert demo.running(paths, "stale") is None
    assert demo.read_managed(paths, "never-started") is None
    paths.pid_file("garbled").write_text("not json")
    assert demo.read_managed(paths, "garbled") is None


def test_wait_for_returns_the_result_or_names_what_it_waited_for() -> None:
    calls = iter([None, 0, "ready"])
    assert demo.wait_for("three polls", lambda: next(calls), 10, interval_s=0.01) == "ready"

    def broken() -> None:
        raise ConnectionError("refused")

    with pytest.raises(demo.DemoError, match=r"waiting for the api-server \(last error: refused\)"):
        demo.wait_for("the api-server", broken, 0.05, interval_s=0.01)

    def fatal() -> None:
        raise demo.DemoError("the DAG does not import")

    with pytest.raises(demo.DemoError, match="does not import"):
        demo.wait_for("the DAG", fatal, 60)  # a DemoError ends the wait at once


def test_run_logged_fails_with_the_log_tail(paths: demo.DemoPaths) -> None:
    argv = [sys.executable, "-c", "import sys; print('migration 42 broke'); sys.exit(3)"]
    with pytest.raises(demo.DemoError, match=r"(?s)db migrate failed \(exit 3\).*migration 42 broke"):
        processes.run_logged(paths, "setup", argv, dict(os.environ), "db migrate")


def test_settings_flags_win_over_environment_over_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUINCENA_DEMO_COMPANIES", "7")
    monkeypatch.setenv("QUINCENA_DEMO_API_PORT", "9090")
    monkeypatch.setenv("QUINCENA_DEMO_CYCLE", "2026-10-Q2")
    monkeypatch.delenv("QUINCENA_DEMO_INVOICES", raising=False)
    settings = demo.DemoSettings.resolve(companies=3, invoices=None)
    assert (settings.companies, settings.invoices, settings.api_port, settings.cycle) == (3, 60, 9090, "2026-10-Q2")
    assert settings.run_id == "demo__2026-10-Q2" and settings.api_url == "http://127.0.0.1:9090"
    with pytest.raises(ValueError, match="must differ"):
        demo.DemoSettings.resolve(api_port=8765, simulator_port=8765)
    with pytest.raises(ValueError):
        demo.DemoSettings.resolve(cycle="2026-13-Q1")


def test_demo_keys_are_private_and_stable(paths: demo.DemoPaths) -> None:
    keys = demo.demo_keys(paths)
    assert sorted(keys) == [f"contab-{n}" for n in range(1, 6)]
    assert stat.S_IMODE(paths.keys_file.stat().st_mode) == 0o600
    assert demo.demo_keys(paths) == keys
    assert len(set(keys.values())) == 5
    env = orchestration.airflow_env(paths, demo.DemoSettings(cycle="2026-11-Q1"), "postgresql://x")
    assert env["AIRFLOW_HOME"] == str(paths.airflow_home) and env["AIRFLOW_CONN_QUINCENA_DB"] == "postgresql://x"


def test_the_unattended_approver_answers_only_parked_requests_open_long_enough() -> None:
    from datetime import UTC, datetime, timedelta

    from quincena.devtools.demo.airflow_api import MIN_OPEN_S, answerable

    def request(state: str, open_s: float) -> dict:
        created = (datetime.now(UTC) - timedelta(seconds=open_s)).isoformat().replace("+00:00", "Z")
        return {"task_instance": {"state": state}, "created_at": created}

    assert answerable(request("awaiting_input", MIN_OPEN_S + 1))
    assert not answerable(request("awaiting_input", MIN_OPEN_S - 5))  # a script answers faster than a person
    assert not answerable(request("running", MIN_OPEN_S + 1))  # written, not parked yet


def test_a_restart_after_kill_9_stops_what_the_dead_leader_left(paths: demo.DemoPaths) -> None:
    """kill -9 of a leader (the scheduler) leaves its children (LocalExecutor workers) running in its group;
    starting the component again stops them before the PID file names the new group."""
    import signal

    first = demo.spawn(paths, "worker", [sys.executable, "-c", PARENT_AND_CHILD], dict(os.environ))
    group = demo.wait_for("the grandchild", lambda: len(first.processes()) == 2 and first.processes(), 30, 0.1)
    orphan = next(p for p in group if p.pid != first.pid)
    os.kill(first.pid, signal.SIGKILL)
    psutil.Process(first.pid).wait(timeout=10)
    assert orphan.is_running() and orphan.status() != psutil.STATUS_ZOMBIE  # survived its leader
    second = demo.spawn(paths, "worker", [sys.executable, "-c", PARENT_AND_CHILD], dict(os.environ))
    try:
        assert not (psutil.pid_exists(orphan.pid) and orphan.status() != psutil.STATUS_ZOMBIE)
        assert demo.read_managed(paths, "worker") == second
    finally:
        demo.terminate([second], grace_s=10)
