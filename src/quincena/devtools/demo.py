"""`make demo`: a real quincena cycle in the Airflow UI on this machine, and `make demo-stop`.

Everything lives under .local/ (QUINCENA_LOCAL): the embedded PostgreSQL (databases ``quincena``
and ``airflow``), the sample inbox, AIRFLOW_HOME (.local/airflow), process logs (.local/logs) and
PID files (.local/run). Every background process is started in its own session, so stopping its
process group stops everything it spawned (scheduler, LocalExecutor workers, task processes) and
nothing else.
"""

from __future__ import annotations

import configparser
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from quincena.core import config, periods

log = logging.getLogger(__name__)

DAG_ID = "quincena_cycle"
LOOPBACK = "127.0.0.1"
DEMO_KEY_NAMES = tuple(f"contab-{n}" for n in range(1, 6))
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
# Two cores: more task processes than this only queue on the CPU (each one is a Python + Airflow import).
PARALLELISM = 8


class DemoError(Exception):
    """Something the user can act on (a busy port, a component that did not come up)."""


# -- settings -----------------------------------------------------------------------------------
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


# -- background processes -------------------------------------------------------------------------
@dataclass(frozen=True)
class Managed:
    """A process we started as a session leader; its PID file remembers when it started (PID reuse)."""

    name: str
    pid: int
    create_time: float

    def processes(self) -> list[Any]:
        """Every live process of its group (or descending from it), started no earlier than it."""
        import psutil

        found: dict[int, Any] = {}
        for proc in psutil.process_iter(["pid", "create_time", "status"]):
            with suppress(psutil.Error, ProcessLookupError):
                if os.getpgid(proc.pid) == self.pid and proc.info["create_time"] >= self.create_time - 1:
                    found[proc.pid] = proc
        with suppress(psutil.Error):
            leader = psutil.Process(self.pid)
            if abs(leader.create_time() - self.create_time) < 1:
                found.setdefault(leader.pid, leader)
                for child in leader.children(recursive=True):
                    found.setdefault(child.pid, child)
        return [p for p in found.values() if _is_running(p)]

    def alive(self) -> bool:
        import psutil

        try:
            leader = psutil.Process(self.pid)
            return abs(leader.create_time() - self.create_time) < 1 and _is_running(leader)
        except psutil.Error:
            return False


def _is_running(proc: Any) -> bool:
    import psutil

    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def spawn(paths: DemoPaths, name: str, argv: list[str], env: dict[str, str]) -> Managed:
    """Start ``argv`` in a new session with its output appended to .local/logs/<name>.log."""
    import psutil

    with paths.log_file(name).open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - argv is ours, no shell
            argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    managed = Managed(name, proc.pid, psutil.Process(proc.pid).create_time())
    paths.pid_file(name).write_text(json.dumps({"pid": managed.pid, "create_time": managed.create_time}))
    return managed


def read_managed(paths: DemoPaths, name: str) -> Managed | None:
    try:
        data = json.loads(paths.pid_file(name).read_text())
        return Managed(name, int(data["pid"]), float(data["create_time"]))
    except (OSError, ValueError, KeyError):
        return None


def running(paths: DemoPaths, name: str) -> Managed | None:
    managed = read_managed(paths, name)
    return managed if managed and managed.alive() else None


def terminate(groups: list[Managed], grace_s: float = 20.0) -> dict[str, tuple[int, int]]:
    """SIGTERM every process of the groups at once, SIGKILL what is left after ``grace_s``.

    All at once, so slow shutdowns overlap instead of adding up. Returns, per group,
    (processes found, processes that needed SIGKILL).
    """
    import psutil

    found = {m.name: m.processes() for m in groups}
    for procs in found.values():
        for proc in procs:
            with suppress(psutil.Error):
                proc.send_signal(signal.SIGTERM)
    everyone = [proc for procs in found.values() for proc in procs]
    _, left = psutil.wait_procs(everyone, timeout=grace_s)
    stubborn = {proc.pid for proc in left}
    # Late children (a task process forked while we signalled) are still in the groups: kill them too.
    late = [proc for m in groups for proc in m.processes()]
    for proc in [*left, *late]:
        with suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs([*left, *late], timeout=10)
    return {name: (len(procs), sum(p.pid in stubborn for p in procs)) for name, procs in found.items()}


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((LOOPBACK, port)) == 0


def wait_for(what: str, check: Callable[[], Any], timeout_s: float, interval_s: float = 1.0) -> Any:
    """Poll ``check`` until it returns something truthy; DemoError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except DemoError:
            raise
        except Exception as exc:  # a component still starting answers with all sorts of errors
            last_error = exc
        time.sleep(interval_s)
    detail = f" (last error: {last_error})" if last_error else ""
    raise DemoError(f"timed out after {timeout_s:.0f}s waiting for {what}{detail}")


def log_tail(paths: DemoPaths, name: str, lines: int = 15) -> str:
    try:
        text = paths.log_file(name).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# -- the pieces -----------------------------------------------------------------------------------
def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def start_databases() -> dict[str, str]:
    """The embedded PostgreSQL (persistent) with the firm's database and Airflow's metadata database."""
    from quincena.devtools import embedded

    return {name: embedded.start(persistent=True, database=name) for name in ("quincena", "airflow")}


def prepare_firm_database(uri: str) -> None:
    from quincena.core import db

    os.environ[db.CONN_ENV] = uri
    db.prepare()


def generate_sample(paths: DemoPaths, settings: DemoSettings, env: dict[str, str]) -> bool:
    """Sample invoices + company registry, once per (cycle, scale, seed). Returns whether it generated."""
    from quincena.core import companies

    stamp = paths.sample_stamp(settings)
    if stamp.exists() and len(companies.active_nits()) >= settings.companies:
        return False
    argv = [
        *quincena_cli(),
        "sample",
        "--companies", str(settings.companies),
        "--invoices", str(settings.invoices),
        "--inbox", str(config.inbox_dir()),
        "--seed", str(settings.seed),
        "--period", settings.cycle,
    ]  # fmt: skip
    run_logged(paths, "sample", argv, env, "generating the sample invoices")
    stamp.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
    return True


def quincena_cli() -> list[str]:
    return [sys.executable, "-m", "quincena.cli"]


def airflow_cli() -> list[str]:
    return [str(Path(sys.executable).parent / "airflow")]


def run_logged(paths: DemoPaths, name: str, argv: list[str], env: dict[str, str], what: str) -> None:
    """Run a step to completion with its output in .local/logs/<name>.log; DemoError with the tail on failure."""
    with paths.log_file(name).open("ab") as out:
        result = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    if result.returncode != 0:
        raise DemoError(
            f"{what} failed (exit {result.returncode}); {paths.log_file(name)} ends:\n{log_tail(paths, name)}"
        )


def pool_slots() -> int:
    pools = json.loads((config.include_dir() / "pools.json").read_text(encoding="utf-8"))
    return int(pools[config.DEEPSEEK_POOL]["slots"])


def demo_keys(paths: DemoPaths) -> dict[str, str]:
    """The simulator's five named keys; random per machine, kept in a 0600 file, never printed."""
    try:
        keys = json.loads(paths.keys_file.read_text(encoding="utf-8"))
        if sorted(keys) == sorted(DEMO_KEY_NAMES):
            return keys
    except (OSError, ValueError):
        pass
    keys = {name: f"sk-demo-{secrets.token_hex(16)}" for name in DEMO_KEY_NAMES}
    paths.keys_file.touch(mode=0o600)
    paths.keys_file.write_text(json.dumps(keys), encoding="utf-8")
    return keys


def simulator_argv(paths: DemoPaths, settings: DemoSettings) -> list[str]:
    """Realistic enough to watch: ~1.2 s answers, an account limit a bit above the pool, ~2 % random 429s."""
    return [
        *quincena_cli(),
        SIMULATOR,
        "--host", LOOPBACK,
        "--port", str(settings.simulator_port),
        "--keys-file", str(paths.keys_file),
        "--concurrency", str(pool_slots() + 4),
        "--latency-ms", "1200",
        "--latency-sd-ms", "500",
        "--rate-429", "0.02",
        "--retry-after", "1",
        "--seed", str(settings.seed),
    ]  # fmt: skip


def simulator_healthy(settings: DemoSettings) -> bool:
    import requests

    return requests.get(f"{settings.simulator_url}/admin/stats", timeout=2).status_code == 200


def start_simulator(paths: DemoPaths, settings: DemoSettings, env: dict[str, str]) -> Managed:
    if managed := running(paths, SIMULATOR):
        return managed
    if port_in_use(settings.simulator_port):
        raise DemoError(
            f"port {settings.simulator_port} (simulator) is busy: stop what uses it or pick another with "
            "--simulator-port / QUINCENA_DEMO_SIMULATOR_PORT"
        )
    demo_keys(paths)
    managed = spawn(paths, SIMULATOR, simulator_argv(paths, settings), env)
    wait_for_component(paths, [managed], "the simulator", lambda: simulator_healthy(settings), 30)
    return managed


def wait_for_component(
    paths: DemoPaths, components: list[Managed], what: str, check: Callable[[], Any], timeout_s: float
) -> Any:
    """Wait for ``check``, failing at once (with its log) if one of the processes died meanwhile."""

    def checked() -> Any:
        for managed in components:
            if not managed.alive():
                tail = log_tail(paths, managed.name)
                raise DemoError(f"{managed.name} exited; {paths.log_file(managed.name)} ends:\n{tail}")
        return check()

    return wait_for(what, checked, timeout_s)


def airflow_settings(paths: DemoPaths, settings: DemoSettings, airflow_db_uri: str) -> dict[str, dict[str, str]]:
    """airflow.cfg options the demo owns; everything else keeps Airflow's defaults."""
    repo = config.project_root()
    socket_dir = airflow_db_uri.split("host=", 1)[1]
    return {
        "core": {
            "dags_folder": str(repo / "dags"),
            "plugins_folder": str(repo / "plugins"),
            "load_examples": "False",
            "executor": "LocalExecutor",
            "parallelism": str(PARALLELISM),
            "max_active_tasks_per_dag": str(PARALLELISM),
            "dags_are_paused_at_creation": "True",
            "execution_api_server_url": f"{settings.api_url}/execution/",
        },
        # psycopg 3 over the Unix socket: a real PostgreSQL, so LocalExecutor may run tasks in parallel.
        "database": {"sql_alchemy_conn": f"postgresql+psycopg://postgres:@/airflow?host={socket_dir}"},
        "api": {"host": LOOPBACK, "port": str(settings.api_port), "base_url": settings.ui_url, "workers": "1"},
        "dag_processor": {"parsing_processes": "1"},
        "logging": {"base_log_folder": str(paths.airflow_home / "logs")},
    }


def write_airflow_cfg(paths: DemoPaths, options: dict[str, dict[str, str]]) -> Path:
    """Create or update $AIRFLOW_HOME/airflow.cfg; the generated secrets survive re-runs."""
    from cryptography.fernet import Fernet

    cfg_path = paths.airflow_home / "airflow.cfg"
    parser = configparser.RawConfigParser()  # raw: Airflow's own values hold %-formats
    parser.read(cfg_path, encoding="utf-8")
    generated = {
        ("core", "fernet_key"): lambda: Fernet.generate_key().decode(),
        ("api", "secret_key"): lambda: secrets.token_urlsafe(32),
        ("api_auth", "jwt_secret"): lambda: secrets.token_urlsafe(32),
    }
    for (section, key), make in generated.items():
        if not parser.has_section(section):
            parser.add_section(section)
        if not parser.get(section, key, fallback=""):
            parser.set(section, key, make())
    for section, values in options.items():
        if not parser.has_section(section):
            parser.add_section(section)
        for key, value in values.items():
            parser.set(section, key, value)
    cfg_path.touch(mode=0o600)
    with cfg_path.open("w", encoding="utf-8") as handle:
        parser.write(handle)
    return cfg_path


def airflow_env(paths: DemoPaths, settings: DemoSettings, firm_db_uri: str) -> dict[str, str]:
    """Environment of every Airflow process: its home, our two connections, the venv first on PATH.

    Inherited AIRFLOW__* / AIRFLOW_CONN_* are dropped so the demo's airflow.cfg is what runs; the one
    exception is AIRFLOW_CONN_DEEPSEEK_DEFAULT, the documented switch to a real DeepSeek account.
    """
    real_account = os.environ.get("AIRFLOW_CONN_DEEPSEEK_DEFAULT")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_")) and k not in ("AIRFLOW_HOME", "AIRFLOW_CONFIG")
    }
    deepseek = {
        "conn_type": "deepseek",
        "host": settings.simulator_url,
        "extra": {"api_keys": demo_keys(paths)},
    }
    env.update(
        AIRFLOW_HOME=str(paths.airflow_home),
        QUINCENA_LOCAL=str(paths.local),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        AIRFLOW_CONN_QUINCENA_DB=firm_db_uri,
        AIRFLOW_CONN_DEEPSEEK_DEFAULT=real_account or json.dumps(deepseek),
    )
    return env


def start_airflow(paths: DemoPaths, env: dict[str, str]) -> list[Managed]:
    """Start whichever of the four components is not running (a re-run restarts only what died)."""
    return [
        running(paths, name) or spawn(paths, name, [*airflow_cli(), *args], env)
        for name, args in AIRFLOW_COMPONENTS.items()
    ]


# -- Airflow's REST API -----------------------------------------------------------------------------
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
    try:
        return json.loads(paths.password_file.read_text(encoding="utf-8")).get("admin")
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
    bogota = config.TIMEZONE
    body = {
        "dag_run_id": settings.run_id,
        "logical_date": pendulum.datetime(start.year, start.month, start.day, tz=bogota).isoformat(),
        "data_interval_start": pendulum.datetime(start.year, start.month, start.day, tz=bogota).isoformat(),
        "data_interval_end": pendulum.datetime(end.year, end.month, end.day, tz=bogota).isoformat(),
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


# -- the commands ---------------------------------------------------------------------------------
@dataclass
class StartResult:
    run_id: str
    password: str
    report: Path


def start(settings: DemoSettings, wait: bool = False, timeout_s: float = 1800) -> StartResult:
    paths = DemoPaths.default()
    paths.make()
    # This process imports Airflow too (PostgresHook): keep it in the demo's home, not ~/airflow.
    os.environ["AIRFLOW_HOME"] = str(paths.airflow_home)
    began = time.monotonic()
    check_ports_or_ours(paths, settings)
    say(f"embedded PostgreSQL under {paths.local / 'pgdata'} (databases quincena, airflow)")
    uris = start_databases()
    prepare_firm_database(uris["quincena"])
    env = airflow_env(paths, settings, uris["quincena"])
    say(f"sample invoices: {settings.companies} companies x {settings.invoices} for {settings.cycle}")
    if not generate_sample(paths, settings, env):
        say(f"  already generated in {config.inbox_dir()} (delete {paths.sample_stamp(settings)} to redo)")
    if os.environ.get("AIRFLOW_CONN_DEEPSEEK_DEFAULT"):
        say("DeepSeek: your AIRFLOW_CONN_DEEPSEEK_DEFAULT (a real account: the run costs real money)")
    say(f"DeepSeek simulator on {settings.simulator_url} (5 demo keys, ~1.2 s latency, some 429s)")
    start_simulator(paths, settings, env)
    write_airflow_cfg(paths, airflow_settings(paths, settings, uris["airflow"]))
    say(f"Airflow home {paths.airflow_home}: migrating its metadata database")
    run_logged(paths, "airflow-setup", [*airflow_cli(), "db", "migrate"], env, "airflow db migrate")
    pools = str(config.include_dir() / "pools.json")
    run_logged(paths, "airflow-setup", [*airflow_cli(), "pools", "import", pools], env, "airflow pools import")
    say(f"starting Airflow: api-server, scheduler (LocalExecutor), dag-processor, triggerer; logs in {paths.logs}")
    airflow = start_airflow(paths, env)
    wait_for_component(
        paths, airflow, f"Airflow to be healthy on {settings.api_url}", lambda: airflow_ready(settings), 240
    )
    password = wait_for("the admin password file", lambda: admin_password(paths), 60)
    api = AirflowApi(settings.api_url, "admin", password)
    wait_for_component(paths, airflow, "the dag-processor to load quincena_cycle", lambda: dag_parsed(api), 180)
    run = trigger_cycle(api, settings)
    paths.settings_file.write_text(json.dumps(asdict(settings)), encoding="utf-8")
    result = StartResult(run["dag_run_id"], password, config.reports_dir() / settings.cycle / "cycle_report.html")
    print_banner(paths, settings, result, time.monotonic() - began)
    if wait:
        state = wait_for_run(api, result.run_id, timeout_s)
        say(f"run {result.run_id}: {state} after {time.monotonic() - began:.0f}s")
        if state != "success":
            raise DemoError(f"run {result.run_id} ended {state}: see its task logs in the UI")
    return result


def check_ports_or_ours(paths: DemoPaths, settings: DemoSettings) -> None:
    """Fail before touching anything when a port is taken by something that is not this demo."""
    for name, port, flag in (
        (API_SERVER, settings.api_port, "--api-port"),
        (SIMULATOR, settings.simulator_port, "--simulator-port"),
    ):
        if not running(paths, name) and port_in_use(port):
            raise DemoError(f"port {port} is busy (another Airflow or demo?): free it or choose another with {flag}")


def wait_for_run(api: AirflowApi, run_id: str, timeout_s: float) -> str:
    def finished() -> str | None:
        run = api.dag_run(DAG_ID, run_id) or {}
        return run.get("state") if run.get("state") in TERMINAL_STATES else None

    return wait_for(f"run {run_id} to finish", finished, timeout_s, interval_s=5)


def print_banner(paths: DemoPaths, settings: DemoSettings, result: StartResult, elapsed_s: float) -> None:
    lines = [
        f"ready in {elapsed_s:.0f}s — the cycle {settings.cycle} is running:",
        f"  Airflow UI   {settings.ui_url}   (login: admin / {result.password})",
        f"  the run      {settings.ui_url}/dags/{DAG_ID}/runs/{result.run_id}",
        f"  cost report  {result.report}  (written by aggregate_costs at the end of the run)",
        f"  logs         {paths.logs}/  (task logs: {paths.airflow_home / 'logs'})",
        "  stop it      make demo-stop",
    ]
    for line in lines:
        say(line)


def stop() -> list[str]:
    """Stop what `demo start` started: its process groups (PID files), then the embedded PostgreSQL."""
    from quincena.devtools import embedded

    paths = DemoPaths.default()
    groups = [m for name in COMPONENTS if (m := read_managed(paths, name))]
    stopped: list[str] = []
    outcome = terminate(groups)
    for managed in groups:
        paths.pid_file(managed.name).unlink(missing_ok=True)
    for name, (count, killed) in outcome.items():
        if count:
            forced = f", {killed} killed after the grace period" if killed else ""
            stopped.append(f"{name} ({count} process{'es' if count > 1 else ''}{forced})")
    if embedded.stop():
        stopped.append(f"embedded PostgreSQL ({embedded.data_dir()})")
    return stopped


def status() -> Iterator[str]:
    from quincena.devtools import embedded

    paths = DemoPaths.default()
    settings = started_settings(paths) or DemoSettings.resolve()
    for name in COMPONENTS:
        managed = running(paths, name)
        yield f"{name:22} " + (
            f"running (pid {managed.pid}, {len(managed.processes())} processes)" if managed else "stopped"
        )
    pg_running = (embedded.data_dir() / "postmaster.pid").exists()
    yield f"{'postgresql':22} " + (f"running ({embedded.data_dir()})" if pg_running else "stopped")
    if running(paths, API_SERVER):
        yield from run_status(paths, settings)


def started_settings(paths: DemoPaths) -> DemoSettings | None:
    """The settings of the last `demo start` (ports, cycle), so status and tests look where it ran."""
    try:
        return DemoSettings(**json.loads(paths.settings_file.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def run_status(paths: DemoPaths, settings: DemoSettings) -> Iterator[str]:
    try:
        parts = health(settings)
        yield f"{'health':22} " + ", ".join(f"{k} {v.get('status')}" for k, v in parts.items() if isinstance(v, dict))
        password = admin_password(paths)
        if password:
            run = AirflowApi(settings.api_url, "admin", password).dag_run(DAG_ID, settings.run_id)
            state = run["state"] if run else "not triggered"
            yield f"{'run':22} {settings.run_id}: {state}  ({settings.ui_url}/dags/{DAG_ID}/runs/{settings.run_id})"
    except Exception as exc:  # status must report, not crash, while components start or stop
        yield f"{'health':22} unavailable ({type(exc).__name__}) on {settings.api_url}"
