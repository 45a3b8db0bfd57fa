"""The few calls the demo makes to Airflow's REST API: health, a JWT from the SimpleAuthManager's admin
login, whether the DAG is parsed, triggering the cycle's run and waiting for it."""

from __future__ import annotations

import json
from typing import Any

from quincena.books.approvals import request_prefix
from quincena.core import config, periods
from quincena.devtools.demo.processes import wait_for
from quincena.devtools.demo.settings import (
    BOOKS_DAG_ID,
    DAG_ID,
    TERMINAL_STATES,
    DemoError,
    DemoPaths,
    DemoSettings,
)


class AirflowApi:
    """The few REST calls the demo needs, with a JWT from the SimpleAuthManager's admin login."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        import requests

        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        response = self.session.post(
            f"{self.base_url}/auth/token", json={"username": username, "password": password}, timeout=10
        )
        response.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=15, **kwargs)

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any] | None:
        response = self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()


def health(settings: DemoSettings) -> dict[str, Any]:
    import requests

    response = requests.get(f"{settings.api_url}/api/v2/monitor/health", timeout=3)
    response.raise_for_status()
    return response.json()


def airflow_ready(settings: DemoSettings) -> bool:
    status = health(settings)
    return all(status.get(part, {}).get("status") == "healthy" for part in ("metadatabase", "scheduler"))


def admin_password(paths: DemoPaths) -> str | None:
    return user_password(paths, "admin")


def user_password(paths: DemoPaths, user: str) -> str | None:
    """A demo user's password, as the simple auth manager generated it (None before it has)."""
    try:
        return json.loads(paths.password_file.read_text(encoding="utf-8")).get(user)
    except (OSError, ValueError):
        return None


def dag_parsed(api: AirflowApi) -> bool:
    """True once the dag-processor has stored the DAG; DemoError at once if the file fails to import."""
    errors = api.request("GET", "/importErrors").json().get("import_errors", [])
    ours = [e for e in errors if "quincena_cycle" in str(e.get("filename", ""))]
    if ours:
        raise DemoError(f"dags/quincena_cycle.py does not import:\n{ours[0].get('stack_trace', '')[-1500:]}")
    return api.request("GET", f"/dags/{DAG_ID}").status_code == 200


def trigger_cycle(api: AirflowApi, settings: DemoSettings) -> dict[str, Any]:
    """Trigger the cycle for ``settings.cycle`` once (re-runs report the existing run), then unpause.

    The run carries the quincena's own data interval and logical date, so the scheduler, on
    unpausing, finds its run for that interval already there and does not add a second one.
    """
    import pendulum

    if existing := api.dag_run(DAG_ID, settings.run_id):
        api.request("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
        return existing
    start, end = periods.cycle_bounds(settings.cycle)
    bogota, hour = config.TIMEZONE, config.CYCLE_START_HOUR  # the schedule's own interval boundaries
    body = {
        "dag_run_id": settings.run_id,
        "logical_date": pendulum.datetime(start.year, start.month, start.day, hour, tz=bogota).isoformat(),
        "data_interval_start": pendulum.datetime(start.year, start.month, start.day, hour, tz=bogota).isoformat(),
        "data_interval_end": pendulum.datetime(end.year, end.month, end.day, hour, tz=bogota).isoformat(),
        "conf": {"cycle": settings.cycle},
        "note": "started by `quincena demo start`",
    }
    response = api.request("POST", f"/dags/{DAG_ID}/dagRuns", json=body)
    if response.status_code == 409:  # the scheduler already made the run of this interval: show that one
        runs = api.request("GET", f"/dags/{DAG_ID}/dagRuns", params={"logical_date_gte": body["logical_date"]})
        found = runs.json().get("dag_runs", [])
        api.request("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
        if found:
            return found[0]
    response.raise_for_status()
    api.request("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
    return response.json()


# An unattended approver answers a request only once it has been open this long. On Airflow 3.3.2's
# LocalExecutor an answer that lands before the scheduler has processed the exit of the worker that
# parked the task can fail that try (the resumed try finds it up_for_retry); a person never answers
# that fast, a script does.
MIN_OPEN_S = 15.0


def answerable(detail: dict[str, Any]) -> bool:
    """Whether an unattended approver may answer this approval request (a hitlDetails item) now: its task is
    parked and the request has been open for MIN_OPEN_S."""
    from datetime import UTC, datetime

    if detail["task_instance"]["state"] != "awaiting_input":  # not parked yet: answer at a later poll
        return False
    opened = datetime.fromisoformat(detail["created_at"].replace("Z", "+00:00"))
    return (datetime.now(UTC) - opened).total_seconds() >= MIN_OPEN_S


def approve_open_requests(api: AirflowApi, comment: str, cycle_id: str | None = None) -> int:
    """Answer "Aprobar" to every answerable approval request (of ``cycle_id``'s books runs, or all) as the
    API's user; returns how many were answered."""
    from quincena.pipeline.approval import APPROVE, COMMENT

    found = api.request("GET", f"/dags/{BOOKS_DAG_ID}/dagRuns/~/hitlDetails", params={"response_received": "false"})
    found.raise_for_status()
    answered = 0
    for detail in found.json()["hitl_details"]:
        ti = detail["task_instance"]
        if not answerable(detail) or (cycle_id and not ti["dag_run_id"].startswith(request_prefix(cycle_id))):
            continue
        path = f"/dags/{BOOKS_DAG_ID}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}/{ti['map_index']}"
        response = api.request(
            "PATCH", f"{path}/hitlDetails", json={"chosen_options": [APPROVE], "params_input": {COMMENT: comment}}
        )
        if response.status_code != 409:  # 409: someone answered in the meantime
            response.raise_for_status()
            answered += 1
    return answered


def books_runs(api: AirflowApi, cycle_id: str) -> list[dict[str, Any]]:
    """The quincena_books runs asking about ``cycle_id``'s companies."""
    params = {"run_id_pattern": request_prefix(cycle_id), "limit": 1000}
    response = api.request("GET", f"/dags/{BOOKS_DAG_ID}/dagRuns", params=params)
    response.raise_for_status()
    return [r for r in response.json()["dag_runs"] if r["dag_run_id"].startswith(request_prefix(cycle_id))]


def wait_for_run(api: AirflowApi, run_id: str, timeout_s: float, approve: bool = False, cycle_id: str = "") -> str:
    """The cycle run's final state. With ``approve`` (unattended runs: `demo start --wait`, benchmarks), every
    approval request of ``cycle_id`` is then answered "Aprobar" as it opens, until its books runs end; the
    state is "failed" when one of them failed."""

    def finished() -> str | None:
        run = api.dag_run(DAG_ID, run_id) or {}
        state = run.get("state") if run.get("state") in TERMINAL_STATES else None
        if state is None or not approve:
            return state
        approve_open_requests(api, "aprobada sin revisión (ejecución desatendida)", cycle_id)
        runs = books_runs(api, cycle_id)
        if any(r["state"] not in TERMINAL_STATES for r in runs):
            return None
        return "failed" if state == "failed" or any(r["state"] == "failed" for r in runs) else state

    return wait_for(f"run {run_id} to finish", finished, timeout_s, interval_s=5)


def unpause(api: AirflowApi, dag_id: str, timeout_s: float = 120) -> None:
    """Unpause a DAG once the dag-processor has stored it (404 until then)."""

    def done() -> bool:
        response = api.request("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        if response.status_code == 404:
            return False
        response.raise_for_status()
        return True

    wait_for(f"the dag-processor to load {dag_id}", done, timeout_s)
