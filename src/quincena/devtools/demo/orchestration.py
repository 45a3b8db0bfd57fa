"""`demo start|stop|status`: the databases, the sample, the simulator and Airflow's four components
brought up in order (each step re-runnable), the cycle triggered; then stopped, or reported on."""

from __future__ import annotations

import configparser
import json
import os
import secrets
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from quincena.core import config
from quincena.devtools.demo.airflow_api import (
    AirflowApi,
    admin_password,
    airflow_ready,
    dag_parsed,
    health,
    trigger_cycle,
    unpause,
    user_password,
    wait_for_run,
)
from quincena.devtools.demo.processes import (
    Managed,
    port_in_use,
    read_managed,
    run_logged,
    running,
    spawn,
    terminate,
    wait_for,
    wait_for_component,
)
from quincena.devtools.demo.settings import (
    AIRFLOW_COMPONENTS,
    API_SERVER,
    BOOKS_DAG_ID,
    COMPONENTS,
    DAG_ID,
    DEMO_ACCOUNTANT,
    DEMO_KEY_NAMES,
    LOOPBACK,
    SIMULATOR,
    WEEKLY_DAG_ID,
    DemoError,
    DemoPaths,
    DemoSettings,
)
from quincena.ops import airflow_settings as shared_airflow


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


def import_demo_chart(paths: DemoPaths, env: dict[str, str]) -> str:
    """The first company keeps its books in its own chart of accounts (the sample's Siigo export): its
    invoices are classified into its auxiliaries. Re-importing the same file changes nothing."""
    from quincena.core import companies
    from quincena.devtools.sample import charts

    nit = sorted(companies.active_nits())[0]
    path = charts.write_chart(paths.local / "sample-charts" / f"plan_de_cuentas_{nit}.csv")
    argv = [*quincena_cli(), "chart", "import", "--company", nit, str(path)]
    run_logged(paths, "sample", argv, env, "importing the first company's chart of accounts")
    return nit


def quincena_cli() -> list[str]:
    return [sys.executable, "-m", "quincena.cli"]


def airflow_cli() -> list[str]:
    return [str(Path(sys.executable).parent / "airflow")]


def pool_slots() -> int:
    return config.deepseek_pool_slots()


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
        # A rehearsal of a balance running out mid-cycle (then POST /admin/topup and resume the run).
        *(["--spend-limit-usd", limit] if (limit := config.demo_setting("simulator_spend_limit_usd")) else []),
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


def airflow_settings(paths: DemoPaths, settings: DemoSettings, airflow_db_uri: str) -> dict[str, dict[str, str]]:
    """airflow.cfg options the demo owns; everything else keeps Airflow's defaults."""
    repo = config.project_root()
    socket_dir = airflow_db_uri.split("host=", 1)[1]
    # Parallelism, per-DAG concurrency and the time zone: the file compose gives production too.
    shared = shared_airflow.as_cfg(shared_airflow.shared_env())
    return {
        **shared,
        "core": {
            **shared.get("core", {}),
            "dags_folder": str(repo / "dags"),
            "plugins_folder": str(repo / "plugins"),
            "load_examples": "False",
            "executor": "LocalExecutor",
            # The demo triggers its own run of the quincena; a scheduled one would queue beside it.
            "dags_are_paused_at_creation": "True",
            "execution_api_server_url": f"{settings.api_url}/execution/",
            # Two demo users of the simple auth manager: the firm's admin and an accountant (Airflow's
            # "user" role: may answer approvals) who sees only the companies granted to her.
            "simple_auth_manager_users": f"admin:admin,{DEMO_ACCOUNTANT}:user",
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
    """Environment of every Airflow process: its home, the firm's database, the venv first on PATH.

    Inherited AIRFLOW__* / AIRFLOW_CONN_* are dropped so the demo's airflow.cfg and metadata database
    are what runs. ``deepseek_default`` lives in the metadata database (see ``deepseek_connection``),
    so Admin → Connections shows it and edits there take effect; only a real account given as a URI
    (not JSON) stays an environment variable.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_")) and k not in ("AIRFLOW_HOME", "AIRFLOW_CONFIG")
    }
    # The demo runs now, whatever the hour: no off-peak wait unless the user set a policy explicitly.
    env.setdefault("QUINCENA_OFFPEAK_POLICY", "ignore")
    env.update(
        AIRFLOW_HOME=str(paths.airflow_home),
        QUINCENA_LOCAL=str(paths.local),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        AIRFLOW_CONN_QUINCENA_DB=firm_db_uri,
    )
    real_account = os.environ.get("AIRFLOW_CONN_DEEPSEEK_DEFAULT")
    if real_account and _json_object(real_account) is None:
        env["AIRFLOW_CONN_DEEPSEEK_DEFAULT"] = real_account
    return env


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def deepseek_connection(paths: DemoPaths, settings: DemoSettings) -> Path | None:
    """Write the ``deepseek_default`` connection for `airflow connections import` (0600, under .local).

    The simulator with the demo's keys, or the real account exported as JSON in
    AIRFLOW_CONN_DEEPSEEK_DEFAULT. The keys go in as the form's JSON text field, so the UI can edit them.
    """
    real_account = os.environ.get("AIRFLOW_CONN_DEEPSEEK_DEFAULT")
    if real_account:
        conn = _json_object(real_account)
        if conn is None:
            return None  # a URI: passed through the environment instead
    else:
        conn = {"conn_type": "deepseek", "host": settings.simulator_url, "extra": {"api_keys": demo_keys(paths)}}
    extra = conn.get("extra") or {}
    if isinstance(extra, str):
        extra = _json_object(extra) or {}
    if isinstance(extra.get("api_keys"), dict):
        extra = {**extra, "api_keys": json.dumps(extra["api_keys"])}
    path = paths.airflow_home / "connections.json"
    path.touch(mode=0o600)  # deleted right after the import: see import_connections
    path.write_text(json.dumps({config.DEEPSEEK_CONN_ID: {**conn, "extra": json.dumps(extra)}}), encoding="utf-8")
    return path


def start_airflow(paths: DemoPaths, env: dict[str, str]) -> list[Managed]:
    """Start whichever of the four components is not running (a re-run restarts only what died)."""
    return [
        running(paths, name) or spawn(paths, name, [*airflow_cli(), *args], env)
        for name, args in AIRFLOW_COMPONENTS.items()
    ]


# -- the commands ---------------------------------------------------------------------------------
@dataclass
class Login:
    user: str
    password: str
    companies: list[str]


@dataclass
class StartResult:
    run_id: str
    password: str
    report: Path
    accountant: Login | None = None


def import_connections(paths: DemoPaths, env: dict[str, str], connections: Path) -> None:
    """`airflow connections import`, then the file goes: its keys are in plain text."""
    import_args = ["connections", "import", "--overwrite", str(connections)]
    try:
        run_logged(paths, "airflow-setup", [*airflow_cli(), *import_args], env, "airflow connections import")
    finally:
        connections.unlink(missing_ok=True)


def secure_password_file(paths: DemoPaths) -> None:
    """The simple auth manager keeps the demo users' passwords in plain text in this file, opened for
    appending: created 0600 before it writes there (and made 0600 if an older run left it readable)."""
    paths.password_file.touch(mode=0o600, exist_ok=True)
    paths.password_file.chmod(0o600)


def accountant_share(companies: int) -> int:
    """How many of the demo's companies the demo accountant is granted: a few, never all of them."""
    return max(1, min(3, companies // 2))


def grant_demo_accountant(settings: DemoSettings) -> list[str]:
    from quincena.core import companies
    from quincena.review import access

    nits = sorted(companies.active_nits())[: accountant_share(settings.companies)]
    access.grant_user(DEMO_ACCOUNTANT, nits)
    return nits


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
    say(f"company {import_demo_chart(paths, env)} books to its own chart of accounts (quincena chart import)")
    if os.environ.get("AIRFLOW_CONN_DEEPSEEK_DEFAULT"):
        say("DeepSeek: your AIRFLOW_CONN_DEEPSEEK_DEFAULT (a real account: the run costs real money)")
    say(f"DeepSeek simulator on {settings.simulator_url} (5 demo keys, ~1.2 s latency, some 429s)")
    start_simulator(paths, settings, env)
    write_airflow_cfg(paths, airflow_settings(paths, settings, uris["airflow"]))
    say(f"Airflow home {paths.airflow_home}: migrating its metadata database")
    run_logged(paths, "airflow-setup", [*airflow_cli(), "db", "migrate"], env, "airflow db migrate")
    pools = str(config.include_dir() / "pools.json")
    run_logged(paths, "airflow-setup", [*airflow_cli(), "pools", "import", pools], env, "airflow pools import")
    if connections := deepseek_connection(paths, settings):
        import_connections(paths, env, connections)
    secure_password_file(paths)
    accountant_companies = grant_demo_accountant(settings)
    say(f"starting Airflow: api-server, scheduler (LocalExecutor), dag-processor, triggerer; logs in {paths.logs}")
    airflow = start_airflow(paths, env)
    wait_for_component(
        paths, airflow, f"Airflow to be healthy on {settings.api_url}", lambda: airflow_ready(settings), 240
    )
    password = wait_for("the admin password file", lambda: admin_password(paths), 60)
    accountant = Login(DEMO_ACCOUNTANT, user_password(paths, DEMO_ACCOUNTANT) or "?", accountant_companies)
    api = AirflowApi(settings.api_url, "admin", password)
    wait_for_component(paths, airflow, "the dag-processor to load quincena_cycle", lambda: dag_parsed(api), 180)
    unpause(api, BOOKS_DAG_ID)  # created unpaused; waits until the dag-processor stored it
    run = trigger_cycle(api, settings)
    unpause(api, WEEKLY_DAG_ID)  # the weekly health report runs for the last closed week, too
    paths.settings_file.write_text(json.dumps(asdict(settings)), encoding="utf-8")
    report = config.reports_dir() / settings.cycle / "cycle_report.html"
    result = StartResult(run["dag_run_id"], password, report, accountant)
    print_banner(paths, settings, result, time.monotonic() - began)
    if wait:
        say("--wait: approving every company's quincena as admin as soon as it asks (unattended run)")
        state = wait_for_run(api, result.run_id, timeout_s, approve=True, cycle_id=settings.cycle)
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


def print_banner(paths: DemoPaths, settings: DemoSettings, result: StartResult, elapsed_s: float) -> None:
    lines = [
        f"ready in {elapsed_s:.0f}s — the cycle {settings.cycle} is running:",
        f"  Airflow UI   {settings.ui_url}   (login: admin / {result.password})",
        *_accountant_line(result.accountant),
        f"  the run      {settings.ui_url}/dags/{DAG_ID}/runs/{result.run_id}",
        f"  review       {settings.ui_url}/review/ciclo/{settings.cycle}  (correct, approve invoices)",
        f"  approvals    {settings.ui_url}/dags/{BOOKS_DAG_ID}  (one run per company, in Required Actions)",
        f"  cost report  {result.report}  (written when classification ends, updated by each approval)",
        f"  logs         {paths.logs}/  (task logs: {paths.airflow_home / 'logs'})",
        "  stop it      make demo-stop",
    ]
    for line in lines:
        say(line)


def _accountant_line(login: Login | None) -> list[str]:
    if login is None:
        return []
    return [f"  accountant   login: {login.user} / {login.password}   (sees only {', '.join(login.companies)})"]


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
