"""The firm's database: every access goes through PostgresHook (connection ``quincena_db``).

SQL lives in include/sql/*.sql; values always travel as driver parameters.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from quincena.core import config

log = logging.getLogger(__name__)

CONN_ENV = "AIRFLOW_CONN_" + config.DB_CONN_ID.upper()
Params = Mapping[str, Any] | Sequence[Any] | None


def ensure_configured(persistent: bool = True) -> str:
    """Make connection ``quincena_db`` resolvable and return where it points.

    Order: an explicit Airflow connection in the environment, then DATABASE_URL, then the
    embedded PostgreSQL under .local/ (started on demand).
    """
    if os.environ.get(CONN_ENV):
        return "connection " + config.DB_CONN_ID
    url = os.environ.get("DATABASE_URL")
    if not url:
        from quincena.devtools import embedded

        url = embedded.start(persistent=persistent)
    os.environ[CONN_ENV] = url
    return url


def connect():
    """A new psycopg connection (dict rows) from the ``quincena_db`` Airflow connection.

    libpq's own PGCONNECT_TIMEOUT bounds the wait (default here: 10 s), so a server that accepts TCP
    and never answers fails in seconds instead of hanging a task or a command.
    """
    from airflow.providers.postgres.hooks.postgres import PostgresHook
    from psycopg.rows import dict_row

    os.environ.setdefault("PGCONNECT_TIMEOUT", str(config.db_connect_timeout_s()))
    conn = PostgresHook(postgres_conn_id=config.DB_CONN_ID).get_conn()
    conn.row_factory = dict_row
    return conn


_FRAGMENT_RE = re.compile(r"^([ \t]*)@([a-z_]+)@", re.MULTILINE)


@functools.cache
def load_sql(name: str) -> str:
    """Text of include/sql/<name>.sql; ``@fragment@`` becomes include/sql/fragments/<fragment>.sql."""
    path = config.sql_dir() / f"{name}.sql"
    text = path.read_text(encoding="utf-8")
    return _FRAGMENT_RE.sub(lambda m: m.group(1) + _fragment(m.group(2)).replace("\n", "\n" + m.group(1)), text)


def _fragment(name: str) -> str:
    """A shared piece of SQL (its comment lines dropped), spliced into the query that names it."""
    text = (config.sql_dir() / "fragments" / f"{name}.sql").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("--")]
    return "\n".join(lines)


_session = threading.local()


@contextmanager
def session() -> Iterator[None]:
    """Within the block, this thread's calls without a ``conn`` share one connection (opened here, closed
    at the end). A classify lane runs a dozen statements per request for hours: a fresh connection each
    would cost more CPU than the request itself."""
    if getattr(_session, "conn", None) is not None:  # nested: the outer block owns it
        yield
        return
    _session.conn = connect()
    try:
        yield
    finally:
        conn, _session.conn = _session.conn, None
        conn.close()


@contextmanager
def transaction(conn=None) -> Iterator[Any]:
    """A cursor inside one transaction: committed on success, rolled back on any error.

    With ``conn`` given (or inside a ``session``), that connection is used and left open; otherwise a
    fresh one is opened and closed.
    """
    conn = conn or getattr(_session, "conn", None)
    own = conn is None
    conn = conn or connect()
    try:
        with conn.transaction(), conn.cursor() as cur:
            yield cur
    finally:
        if own:
            conn.close()


def query(name: str, params: Params = None, conn=None) -> list[dict[str, Any]]:
    """Rows of a named SQL file, as dicts."""
    with transaction(conn) as cur:
        cur.execute(load_sql(name), params)
        return list(cur.fetchall()) if cur.description else []


def query_text(sql: str, params: Params = None, conn=None) -> list[dict[str, Any]]:
    """Rows of an ad-hoc statement (tests and one-off reports; product SQL belongs in files)."""
    with transaction(conn) as cur:
        cur.execute(sql, params)
        return list(cur.fetchall()) if cur.description else []


def execute(name: str, params: Params = None, conn=None) -> int:
    """Run a named SQL file; returns the affected row count."""
    with transaction(conn) as cur:
        cur.execute(load_sql(name), params)
        return cur.rowcount


def execute_many(name: str, rows: Sequence[Params], cur) -> None:
    """Run a named SQL file once per parameter set on an open cursor."""
    if rows:
        cur.executemany(load_sql(name), rows)


# Only one migrator at a time, whoever calls (CLI, a task, the test fixture).
_MIGRATION_LOCK = 727_001


def migrate() -> list[str]:
    """Apply include/sql/migrations/*.sql in order, each once, each in its own transaction."""
    applied: list[str] = []
    files = sorted((config.sql_dir() / "migrations").glob("*.sql"))
    conn = connect()
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur.execute("SELECT version FROM schema_migrations")
            done = {row["version"] for row in cur.fetchall()}
        for path in files:
            if path.stem in done:
                continue
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(path.read_text(encoding="utf-8"))
                cur.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (path.stem,))
            applied.append(path.stem)
            log.info("applied migration %s", path.stem)
    finally:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
        conn.close()
    return applied


def prepare() -> tuple[str, list[str], int]:
    """Resolve the database, migrate it and load the PUC catalog: every command or step that needs data calls this.

    Returns where the database is, the migrations applied now and the catalog's account count.
    """
    from quincena.core import puc

    where = ensure_configured()
    applied = migrate()
    return where, applied, puc.sync_to_db()
