"""`quincena doctor`: the preflight of a deployment, one line per check (OK / WARN / FAIL).

Each check reads the real thing (the firm's database, DeepSeek, Airflow's metadata database and
settings, the folders, the tax rules) and changes nothing but a missing reports folder, created as the
cycle would create it. Exit code: 0 all OK, 1 a warning, 2 a failure.
Secrets never appear: keys are named, error texts are reduced to their class or HTTP status.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from quincena.core import config
from quincena.ops import airflow_settings, connections

OK, WARN, FAIL = "OK", "WARN", "FAIL"
EXIT_CODES = {OK: 0, WARN: 1, FAIL: 2}
DAG_IDS = ("quincena_cycle", "deepseek_weekly_health")
BALANCE_DEADLINE_S = 20.0
SPEND_DAYS = 30  # "the last month's spend", as a daily rate for the runway
MIN_BALANCE_USD = Decimal("10")  # the weekly report's default thresholds
MIN_RUNWAY_DAYS = Decimal("7")


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str


@dataclass
class Context:
    """What one check learns that a later one needs (the database is up, a key's balance)."""

    today: date
    database: bool = False
    key_names: list[str] = field(default_factory=list)
    balance: Any = None


def _first_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


def _needs_database(name: str) -> Check:
    return Check(name, WARN, "not checked: the firm's database is unreachable")


# -- the firm's database ----------------------------------------------------------------------
def check_database(ctx: Context) -> Check:
    from quincena.core import db

    try:
        with db.transaction() as cur:
            cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
            present = cur.fetchone()["present"]
            applied = set()
            if present:
                cur.execute("SELECT version FROM schema_migrations")
                applied = {row["version"] for row in cur.fetchall()}
    except Exception as exc:
        if "isn't defined" in str(exc):
            return Check("database", FAIL, connections.hint(config.DB_CONN_ID))
        return Check("database", FAIL, f"cannot reach the firm's database: {_first_line(exc)}")
    ctx.database = True
    pending = sorted(p.stem for p in (config.sql_dir() / "migrations").glob("*.sql") if p.stem not in applied)
    if pending:
        return Check("database", FAIL, f"reachable, {len(pending)} migration(s) pending: run `quincena db migrate`")
    return Check("database", OK, f"reachable, {len(applied)} migrations applied")


# -- DeepSeek ---------------------------------------------------------------------------------
def check_deepseek_connection(ctx: Context) -> Check:
    from deepseek_provider.connection import secrets_of, settings_of

    try:
        conn = connections.ensure_connection(config.DEEPSEEK_CONN_ID)
        names = sorted(secrets_of(conn, config.DEEPSEEK_CONN_ID))
        settings = settings_of(conn)
    except connections.MissingConnection as exc:
        return Check("deepseek connection", FAIL, str(exc))
    except Exception as exc:  # the provider's messages name the option, never a secret
        return Check("deepseek connection", FAIL, _first_line(exc))
    ctx.key_names = names
    return Check("deepseek connection", OK, f"{settings.base_url}, {len(names)} key(s): {', '.join(names)}")


def _key_balance(conn: Any, name: str, secret: str) -> Any:
    """GET /user/balance with this one key (not the hook: it would rotate to another key)."""
    from deepseek_provider.connection import settings_of
    from deepseek_provider.http import exchange, new_session
    from deepseek_provider.responses import parse_balance, raise_for_status

    settings = settings_of(conn)
    session = new_session(1)
    try:
        deadline = time.monotonic() + min(settings.timeout, BALANCE_DEADLINE_S)
        status, headers, raw = exchange(session, settings, secret, name, "GET", "/user/balance", None, deadline)
        raise_for_status(status, headers, raw, name, {name: secret})
        return parse_balance(raw, name)
    finally:
        session.close()


def _key_failure(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    if status == 401:
        return "HTTP 401 (revoked or wrong secret)"
    return f"HTTP {status}" if status else type(exc).__name__


def check_deepseek_keys(ctx: Context) -> Check:
    if not ctx.key_names:
        return Check("deepseek keys", FAIL, "not checked: no usable deepseek connection")
    from deepseek_provider.connection import secrets_of

    conn = connections.ensure_connection(config.DEEPSEEK_CONN_ID)
    secrets = secrets_of(conn, config.DEEPSEEK_CONN_ID)
    failed: dict[str, str] = {}
    for name in ctx.key_names:
        try:
            balance = _key_balance(conn, name, secrets[name])
        except Exception as exc:
            failed[name] = _key_failure(exc)
            continue
        ctx.balance = ctx.balance or balance
    answered = [name for name in ctx.key_names if name not in failed]
    bad = "; ".join(f"{name}: {why}" for name, why in failed.items())
    if not answered:
        return Check("deepseek keys", FAIL, f"no key answers GET /user/balance: {bad}")
    if failed:
        return Check("deepseek keys", WARN, f"{len(answered)} of {len(ctx.key_names)} answer; {bad}")
    return Check("deepseek keys", OK, f"all {len(answered)} answer GET /user/balance")


def _daily_spend() -> Decimal:
    from quincena.core import db

    sql = "SELECT COALESCE(sum(cost_usd), 0) AS spent FROM api_calls WHERE started_at > now() - %s * interval '1 day'"
    rows = db.query_text(sql, (SPEND_DAYS,))
    return Decimal(rows[0]["spent"]) / SPEND_DAYS


def check_balance(ctx: Context) -> Check:
    if ctx.balance is None:
        return Check("deepseek balance", WARN, "not checked: no key answered")
    usd = next((info for info in ctx.balance.balance_infos if info.currency == "USD"), None)
    if not ctx.balance.is_available:
        return Check("deepseek balance", FAIL, "DeepSeek says the balance is not available: top up the account")
    if usd is None:
        return Check("deepseek balance", WARN, "the balance is not in USD: runway not computed")
    total = usd.total_balance
    if not ctx.database:
        return Check("deepseek balance", WARN, f"USD {total}; runway not computed (database unreachable)")
    daily = _daily_spend()
    if not daily:
        return Check("deepseek balance", OK, f"USD {total}; no spend in the last {SPEND_DAYS} days")
    runway = (total / daily).quantize(Decimal("0.1"))
    detail = f"USD {total}, {runway} days at the last {SPEND_DAYS} days' USD {daily.quantize(Decimal('0.0001'))}/day"
    low = total < MIN_BALANCE_USD or runway < MIN_RUNWAY_DAYS
    return Check("deepseek balance", WARN if low else OK, detail + ("; top up soon" if low else ""))


# -- Airflow ----------------------------------------------------------------------------------
def check_pool(ctx: Context) -> Check:
    from airflow.models.pool import Pool

    expected = config.deepseek_pool_slots()
    try:
        pool = Pool.get_pool(config.DEEPSEEK_POOL)
    except Exception as exc:
        return Check("pool", FAIL, f"Airflow's metadata database: {_first_line(exc)}")
    if pool is None:
        return Check(
            "pool", FAIL, "pool deepseek missing (tasks would never run): airflow pools import include/pools.json"
        )
    if pool.slots != expected:
        return Check("pool", WARN, f"deepseek has {pool.slots} slots, include/pools.json {expected} (lanes)")
    return Check("pool", OK, f"deepseek, {pool.slots} slots as include/pools.json")


def check_parallelism(ctx: Context) -> Check:
    from airflow.configuration import conf

    needed = airflow_settings.required_task_slots()
    values = {key: conf.getint("core", key) for key in ("parallelism", "max_active_tasks_per_dag")}
    short = {key: value for key, value in values.items() if value < needed}
    shown = ", ".join(f"{key} {value}" for key, value in values.items())
    if short:
        return Check(
            "parallelism",
            FAIL,
            f"{shown}: below {needed} (lanes + {airflow_settings.HEADROOM}), see include/airflow.env",
        )
    return Check("parallelism", OK, f"{shown} (needs {needed})")


def _next_run(model: Any) -> str:
    import pendulum

    when = model.next_dagrun_create_after
    return pendulum.instance(when).in_tz(config.TIMEZONE).strftime("%Y-%m-%d %H:%M %Z") if when else "none"


def check_dags(ctx: Context) -> Check:
    from airflow.models.dag import DagModel

    try:
        models = {dag_id: DagModel.get_dagmodel(dag_id) for dag_id in DAG_IDS}
    except Exception as exc:
        return Check("dags", FAIL, f"Airflow's metadata database: {_first_line(exc)}")
    missing = [dag_id for dag_id, model in models.items() if model is None]
    if missing:
        return Check("dags", FAIL, f"not in Airflow yet: {', '.join(missing)} (airflow dags reserialize)")
    paused = [dag_id for dag_id, model in models.items() if model.is_paused]
    runs = ", ".join(f"{dag_id} next {_next_run(model)}" for dag_id, model in models.items())
    if paused:
        due = [f"{dag_id} for logical date {_logical(models[dag_id])}" for dag_id in paused if _due(models[dag_id])]
        at_once = f"; unpausing runs {', '.join(due)} at once" if due else ""
        return Check(
            "dags", WARN, f"paused, so never scheduled: {', '.join(paused)} (airflow dags unpause NAME){at_once}"
        )
    return Check("dags", OK, runs)


def _due(model: Any) -> bool:
    """Whether the next run's creation time has passed: catchup is off, so unpausing creates it at once."""
    import pendulum

    when = model.next_dagrun_create_after
    return when is not None and pendulum.instance(when) <= pendulum.now("UTC")


def _logical(model: Any) -> str:
    import pendulum

    return pendulum.instance(model.next_dagrun).in_tz(config.TIMEZONE).isoformat() if model.next_dagrun else "none"


def check_timezone(ctx: Context) -> Check:
    from airflow.configuration import conf

    zone = conf.get("core", "default_timezone")
    if zone != config.TIMEZONE:
        return Check("timezone", WARN, f"default_timezone {zone}: dates typed without a zone are not Bogotá's")
    return Check("timezone", OK, zone)


# -- folders ----------------------------------------------------------------------------------
def check_inbox(ctx: Context) -> Check:
    inbox = config.inbox_dir()
    try:
        folders = {p.name for p in inbox.iterdir() if p.is_dir() and p.name.isdigit()}
    except OSError as exc:
        return Check("inbox", FAIL, f"{inbox} not readable: {type(exc).__name__}")
    if not ctx.database:
        return Check("inbox", WARN, f"{inbox}: {len(folders)} folders; companies not compared (database unreachable)")
    from quincena.core import companies

    active = set(companies.active_nits())
    without_folder, without_company = sorted(active - folders), sorted(folders - active)
    problems = []
    if without_folder:
        problems.append(f"companies with no folder: {', '.join(without_folder)}")
    if without_company:
        problems.append(f"folders with no active company: {', '.join(without_company)}")
    if problems:
        return Check("inbox", WARN, f"{inbox}: " + "; ".join(problems))
    return Check("inbox", OK, f"{inbox}: one folder per active company ({len(active)})")


def _writable(directory: Path) -> str | None:
    """None when a file can be created and removed in ``directory`` (created if missing), else why not."""
    probe = directory / f".doctor-{uuid.uuid4().hex}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return type(exc).__name__
    return None


def check_writable(ctx: Context) -> Check:
    folders = {"reports/exports": config.reports_dir(), "usage exports": config.usage_exports_dir()}
    failures = {name: why for name, path in folders.items() if (why := _writable(path))}
    if failures:
        shown = "; ".join(f"{name} {folders[name]}: {why}" for name, why in failures.items())
        return Check("writable", FAIL, f"not writable by this user: {shown}")
    return Check("writable", OK, ", ".join(str(path) for path in folders.values()))


# -- the books --------------------------------------------------------------------------------
def _rules_problem(year: int) -> str | None:
    from quincena.books.withholdings import rules

    try:
        for day in rules.change_dates(year):
            rules.rules_for(day)
    except rules.RulesError as exc:
        return str(exc)
    return None


def check_tax_rules(ctx: Context) -> Check:
    this_year, next_year = ctx.today.year, ctx.today.year + 1
    if problem := _rules_problem(this_year):
        return Check("tax rules", FAIL, problem)
    if problem := _rules_problem(next_year):
        return Check("tax rules", WARN, f"{this_year} present; {problem}")
    return Check("tax rules", OK, f"{this_year} and {next_year} present")


def check_registry(ctx: Context) -> Check:
    if not ctx.database:
        return _needs_database("registry")
    from quincena.books.withholdings import rules
    from quincena.core import db

    rows = db.query_text("SELECT nit, ica_city FROM companies WHERE active ORDER BY nit")
    if not rows:
        return Check("registry", FAIL, "no active company: quincena companies import FILE.csv")
    try:
        cities = set(rules.rules_for(ctx.today).reteica)
    except rules.RulesError:
        return Check("registry", WARN, f"{len(rows)} active companies; ReteICA cities not checked (no tax rules)")
    unknown = [f"{row['nit']} ({row['ica_city']})" for row in rows if row["ica_city"] and row["ica_city"] not in cities]
    if unknown:
        return Check("registry", WARN, f"ReteICA city with no rules this year: {', '.join(unknown)}")
    return Check("registry", OK, f"{len(rows)} active companies, each with its tax profile")


# The counter-accounts an entry may carry: every one must have a postable account in a company's own chart.
COUNTER_ACCOUNTS = ("220505", "233525", "233550", "233595", "236515", "236525", "236530", "236540", "236701",
                    "236801", "240810")  # fmt: skip


def check_charts(ctx: Context) -> Check:
    if not ctx.database:
        return _needs_database("charts")
    from quincena.chart import store
    from quincena.core import db

    nits = [r["company_nit"] for r in db.query_text("SELECT DISTINCT company_nit FROM company_accounts ORDER BY 1")]
    if not nits:
        return Check("charts", OK, "no company keeps its own chart: every one is classified into the catalog")
    empty, refused = [], []
    for nit in nits:
        chart = store.load(nit)
        if not chart.targets():
            empty.append(nit)
        if missing := store.unexportable(chart, set(COUNTER_ACCOUNTS)):
            refused.append(f"{nit} ({', '.join(missing)})")
    if empty:
        return Check("charts", FAIL, f"no active account that takes purchases in the chart of {', '.join(empty)}")
    if refused:
        return Check("charts", WARN, "counter-accounts with no postable account (map them, or the export stops): "
                     + "; ".join(refused))  # fmt: skip
    return Check("charts", OK, f"{len(nits)} compan{'y' if len(nits) == 1 else 'ies'} with its own chart, complete")


CHECKS: tuple[Callable[[Context], Check], ...] = (
    check_database,
    check_deepseek_connection,
    check_deepseek_keys,
    check_balance,
    check_pool,
    check_parallelism,
    check_dags,
    check_inbox,
    check_writable,
    check_timezone,
    check_tax_rules,
    check_registry,
    check_charts,
)


def run_checks(today: date | None = None) -> list[Check]:
    """Every check in order; one that crashes is a FAIL with its reason, and the others still run."""
    ctx = Context(today=today or _bogota_today())
    results = []
    for check in CHECKS:
        try:
            results.append(check(ctx))
        except Exception as exc:
            results.append(Check(check.__name__.removeprefix("check_").replace("_", " "), FAIL, _first_line(exc)))
    return results


def _bogota_today() -> date:
    import pendulum

    return pendulum.now(config.TIMEZONE).date()


def exit_code(checks: Iterable[Check]) -> int:
    return max((EXIT_CODES[c.status] for c in checks), default=0)


def render_text(checks: Iterable[Check]) -> str:
    return "\n".join(f"{c.status:<4}  {c.name:<20} {c.detail}" for c in checks)


def render_json(checks: list[Check]) -> str:
    status = {0: OK, 1: WARN, 2: FAIL}[exit_code(checks)]
    return json.dumps({"status": status, "checks": [asdict(c) for c in checks]}, ensure_ascii=False)
