"""Where things live, the firm's timezone, and every QUINCENA_* setting read from the environment.

Everything here is cheap and side-effect free, so DAG files may import it at parse time. Settings are
functions read at call time (a test or a deployment may change the environment after import).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

DB_CONN_ID = "quincena_db"
DEEPSEEK_CONN_ID = "deepseek_default"
DEEPSEEK_POOL = "deepseek"
# One run per company-cycle awaiting its accountant: the approval request and the export (dags/quincena_books.py).
BOOKS_DAG_ID = "quincena_books"
TIMEZONE = "America/Bogota"  # DIAN issue dates, quincenas and report weeks are Colombian calendar dates
TZ = ZoneInfo(TIMEZONE)
# Scheduled cycles start at this hour (Bogotá) on the 1st and 16th: 05:00 = 10:00 UTC, when DeepSeek's
# morning peak billing window ends (see deepseek.offpeak); the data intervals run 05:00 to 05:00.
CYCLE_START_HOUR = 5
# A cycle run is machine work; one still running this long (less than a quincena) is failed by Airflow.
CYCLE_RUN_TIMEOUT_DAYS = 12


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def setting(name: str, default: str | None = None, env: Mapping[str, str] | None = None) -> str | None:
    """A QUINCENA_* variable as text, stripped; ``default`` when unset or blank."""
    value = _env(env).get(name)
    return default if value is None or value.strip() == "" else value.strip()


# -- where things live ------------------------------------------------------------------------
def project_root() -> Path:
    """The repository (or image) root holding include/, dags/ and .local/."""
    override = os.environ.get("QUINCENA_HOME")
    return Path(override) if override else Path(__file__).resolve().parents[3]


def include_dir() -> Path:
    return project_root() / "include"


def sql_dir() -> Path:
    return include_dir() / "sql"


def local_dir() -> Path:
    """Machine-local state (embedded PostgreSQL, inbox, reports); gitignored."""
    return Path(os.environ.get("QUINCENA_LOCAL", project_root() / ".local"))


def inbox_dir() -> Path:
    return Path(os.environ.get("QUINCENA_INBOX", local_dir() / "inbox"))


def reports_dir() -> Path:
    return Path(os.environ.get("QUINCENA_REPORTS", local_dir() / "reports"))


def company_export_dir(cycle_id: str, company_nit: str) -> Path:
    """Where the cycle's export step writes a company's files for the accounting programs."""
    return reports_dir() / cycle_id / "export" / company_nit


def export_templates_override() -> Path | None:
    """QUINCENA_EXPORT_TEMPLATES: a folder of corrected export templates, winning over include/export/."""
    value = setting("QUINCENA_EXPORT_TEMPLATES")
    return Path(value) if value else None


def export_formats(env: Mapping[str, str] | None = None) -> list[str]:
    """QUINCENA_EXPORT_FORMATS: the formats the cycle exports each approved company in (comma-separated)."""
    value = setting("QUINCENA_EXPORT_FORMATS", "csv", env) or "csv"
    return [name.strip() for name in value.split(",") if name.strip()]


def usage_exports_dir() -> Path:
    """Where DeepSeek usage exports are dropped for the weekly reconciliation."""
    return Path(os.environ.get("QUINCENA_USAGE_EXPORTS", local_dir() / "usage_exports"))


def price_table_override() -> Path | None:
    """QUINCENA_PRICE_TABLE: a DeepSeek price table replacing include/prices.json (see deepseek.prices)."""
    value = os.environ.get("QUINCENA_PRICE_TABLE")
    return Path(value) if value else None


# -- the pipeline -------------------------------------------------------------------------------
def max_file_bytes() -> int:
    """Largest inbox file we parse; DIAN XMLs are tens of KB, so 5 MB is generous."""
    return int(os.environ.get("QUINCENA_MAX_FILE_BYTES", str(5 * 1024 * 1024)))


def max_lines_per_invoice() -> int:
    """More lines than this and an invoice goes to review instead of DeepSeek: it protects the API bill."""
    return int(os.environ.get("QUINCENA_MAX_LINES_PER_INVOICE", "300"))


def db_connect_timeout_s() -> int:
    """Seconds to wait for the firm's database to answer a new connection (QUINCENA_DB_CONNECT_TIMEOUT_S)."""
    return int(os.environ.get("QUINCENA_DB_CONNECT_TIMEOUT_S", "10"))


def deepseek_pool_slots() -> int:
    """The deepseek pool's size as deployed (include/pools.json), for planning; Airflow enforces the pool."""
    import json

    pools = json.loads((include_dir() / "pools.json").read_text(encoding="utf-8"))
    return int(pools[DEEPSEEK_POOL]["slots"])


def lesson_wait_s() -> int:
    """QUINCENA_LESSON_WAIT_S: how long after planning a wave-2 batch waits for the wave-1 answers its
    look-alikes learn from before it asks DeepSeek itself (default 30 minutes); lanes send other ready
    batches meanwhile."""
    return int(setting("QUINCENA_LESSON_WAIT_S", "1800") or "1800")


OFFPEAK_POLICIES = ("strict", "prefer", "ignore")


def offpeak_policy(env: Mapping[str, str] | None = None) -> str:
    """QUINCENA_OFFPEAK_POLICY: when the cycle's DeepSeek calls may run (the price table's peak windows).

    ``strict`` (default): no request starts inside a peak window: classification waits for the window
    to end and a batch about to start inside one waits again (both holding no worker or pool slot);
    ``prefer``: classification starts off-peak but, once started, runs through a window;
    ``ignore``: never wait.
    """
    value = (setting("QUINCENA_OFFPEAK_POLICY", "strict", env=env) or "strict").lower()
    if value not in OFFPEAK_POLICIES:
        raise ValueError(f"QUINCENA_OFFPEAK_POLICY must be one of {', '.join(OFFPEAK_POLICIES)}, not {value!r}")
    return value


def reconcile_tolerance_text() -> str:
    """QUINCENA_RECONCILE_TOLERANCE as text (validated by costs.reconcile), default 1 %."""
    return setting("QUINCENA_RECONCILE_TOLERANCE", "0.01") or "0.01"


# -- the accountant's approval of each company's quincena ----------------------------------------
APPROVAL_OUTCOMES = ("approve", "reject")
# quincena_books runs open at once: one per company-cycle waiting for its accountant, none holding a worker
# or a pool slot while it waits (100 companies x a few quincenas in arrears).
BOOKS_MAX_ACTIVE_RUNS = 1000


def approval_waiting_days(env: Mapping[str, str] | None = None) -> float:
    """QUINCENA_APPROVAL_WAITING_DAYS: the weekly report lists (and alerts on) approvals waiting longer (default 3)."""
    value = setting("QUINCENA_APPROVAL_WAITING_DAYS", "3", env=env) or "3"
    days = float(value)
    if days <= 0:
        raise ValueError(f"QUINCENA_APPROVAL_WAITING_DAYS must be positive, got {value!r}")
    return days


def approval_timeout_hours(env: Mapping[str, str] | None = None) -> float | None:
    """QUINCENA_APPROVAL_TIMEOUT_HOURS: how long the approval step waits for an accountant; unset = for ever."""
    value = setting("QUINCENA_APPROVAL_TIMEOUT_HOURS", env=env)
    if value is None:
        return None
    hours = float(value)
    if hours <= 0:
        raise ValueError(f"QUINCENA_APPROVAL_TIMEOUT_HOURS must be positive, got {value!r}")
    return hours


def approval_default(env: Mapping[str, str] | None = None) -> str:
    """QUINCENA_APPROVAL_DEFAULT: the outcome when the wait times out, ``reject`` (default: the company stays
    open and its export is held) or ``approve``."""
    value = (setting("QUINCENA_APPROVAL_DEFAULT", "reject", env=env) or "reject").lower()
    if value not in APPROVAL_OUTCOMES:
        raise ValueError(f"QUINCENA_APPROVAL_DEFAULT must be one of {APPROVAL_OUTCOMES}, got {value!r}")
    return value


def approval_auto_when_clean(env: Mapping[str, str] | None = None) -> bool:
    """QUINCENA_APPROVAL_AUTO_WHEN_CLEAN: approve a company with nothing in review without asking (default no)."""
    value = (setting("QUINCENA_APPROVAL_AUTO_WHEN_CLEAN", "false", env=env) or "false").lower()
    return value in ("1", "true", "yes", "si", "sí")


def review_base_url(env: Mapping[str, str] | None = None) -> str:
    """QUINCENA_REVIEW_BASE_URL: where the approval request links the review pages (default: this
    api-server's own /review, a link relative to the UI)."""
    return (setting("QUINCENA_REVIEW_BASE_URL", "", env=env) or "").rstrip("/") or "/review"


# -- the weekly health report (a trigger Param wins over these) ----------------------------------
# Param name -> environment variable.
HEALTH_THRESHOLD_VARIABLES = {
    "max_429_rate": "QUINCENA_HEALTH_MAX_429_RATE",
    "max_spread": "QUINCENA_HEALTH_MAX_SPREAD",
    "budget_ratio": "QUINCENA_HEALTH_BUDGET_RATIO",
    "min_balance_usd": "QUINCENA_HEALTH_MIN_BALANCE_USD",
    "min_runway_days": "QUINCENA_HEALTH_MIN_RUNWAY_DAYS",
    "low_429_rate": "QUINCENA_HEALTH_LOW_429_RATE",
    "raise_pool_min_p50_ms": "QUINCENA_HEALTH_RAISE_POOL_MIN_P50_MS",
    "min_agreement": "QUINCENA_HEALTH_MIN_AGREEMENT",
    "max_agreement_drop": "QUINCENA_HEALTH_MAX_AGREEMENT_DROP",
}
HEALTH_VARIABLES = {
    **HEALTH_THRESHOLD_VARIABLES,
    "monthly_budget_usd": "QUINCENA_MONTHLY_BUDGET_USD",
    "trend_weeks": "QUINCENA_HEALTH_TREND_WEEKS",
    "pool_slots": "QUINCENA_DEEPSEEK_POOL_SLOTS",
    "balance_deadline_s": "QUINCENA_BALANCE_DEADLINE_S",
}


def health_setting(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The environment's value for a weekly-health Param (``max_429_rate``, ``monthly_budget_usd``…)."""
    return setting(HEALTH_VARIABLES[name], env=env)


# -- alert channels -------------------------------------------------------------------------------
def alert_settings(env: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """The raw QUINCENA_ALERT_* values (None when unset; an empty value is kept: it switches a channel off)."""
    env = _env(env)
    return {
        "webhook_conn_id": env.get("QUINCENA_ALERT_WEBHOOK_CONN_ID"),
        "webhook_url": env.get("QUINCENA_ALERT_WEBHOOK_URL"),
        "slack_conn_id": env.get("QUINCENA_ALERT_SLACK_CONN_ID"),
        "email_to": env.get("QUINCENA_ALERT_EMAIL_TO"),
        "smtp_conn_id": env.get("QUINCENA_ALERT_SMTP_CONN_ID"),
    }


# -- the demo (devtools) --------------------------------------------------------------------------
DEMO_INT_VARIABLES = {
    "companies": "QUINCENA_DEMO_COMPANIES",
    "invoices": "QUINCENA_DEMO_INVOICES",
    "api_port": "QUINCENA_DEMO_API_PORT",
    "simulator_port": "QUINCENA_DEMO_SIMULATOR_PORT",
    "seed": "QUINCENA_DEMO_SEED",
}


DEMO_TEXT_VARIABLES = {
    "cycle": "QUINCENA_DEMO_CYCLE",
    "simulator_spend_limit_usd": "QUINCENA_DEMO_SIMULATOR_SPEND_LIMIT_USD",
}


def demo_setting(name: str) -> str | None:
    """A QUINCENA_DEMO_* value (``companies``, ``invoices``, ``api_port``, ``simulator_port``, ``seed``, ``cycle``,
    ``simulator_spend_limit_usd``: the simulated account answers 402 once its spend reaches it)."""
    variable = DEMO_INT_VARIABLES.get(name) or DEMO_TEXT_VARIABLES.get(name)
    if variable is None:
        raise KeyError(name)
    return os.environ.get(variable) or None


# -- client statements --------------------------------------------------------------------------
def firm_name(env: Mapping[str, str] | None = None) -> str:
    """QUINCENA_FIRM_NAME: the firm's name printed on every client statement."""
    return setting("QUINCENA_FIRM_NAME", "Firma contable", env) or "Firma contable"


def statement_rate(env: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """QUINCENA_STATEMENT_COP_PER_USD and QUINCENA_STATEMENT_RATE_DATE (the TRM's date; empty: a fixed
    rate), as text; the statement validates them."""
    return setting("QUINCENA_STATEMENT_COP_PER_USD", None, env), setting("QUINCENA_STATEMENT_RATE_DATE", None, env)
