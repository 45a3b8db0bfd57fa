"""Where things live and the few settings read from the environment.

Everything here is cheap and side-effect free, so DAG files may import it at parse time.
"""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo

DB_CONN_ID = "quincena_db"
DEEPSEEK_CONN_ID = "deepseek_default"
DEEPSEEK_POOL = "deepseek"
# The firm's clock: DIAN issue dates are Colombian calendar dates; quincenas and weeks are Bogotá's.
TIMEZONE = "America/Bogota"


def local_zone() -> ZoneInfo:
    return ZoneInfo(TIMEZONE)


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


def max_file_bytes() -> int:
    """Largest inbox file we parse; DIAN XMLs are tens of KB, so 5 MB is generous."""
    return int(os.environ.get("QUINCENA_MAX_FILE_BYTES", str(5 * 1024 * 1024)))


def max_lines_per_invoice() -> int:
    """More lines than this and an invoice goes to review instead of DeepSeek: it protects the API bill."""
    return int(os.environ.get("QUINCENA_MAX_LINES_PER_INVOICE", "300"))


def db_connect_timeout_s() -> int:
    """Seconds to wait for the firm's database to answer a new connection (QUINCENA_DB_CONNECT_TIMEOUT_S)."""
    return int(os.environ.get("QUINCENA_DB_CONNECT_TIMEOUT_S", "10"))
