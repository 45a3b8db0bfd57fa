"""The pipeline's PostgreSQL plug-ins for the DeepSeek hook: shared key rotation and the cost ledger.

Airflow runs every task in its own process (possibly on other machines), so rotation state and key
health live in table ``api_keys``; every HTTP attempt becomes one ``api_calls`` row, written ahead as
``in_flight`` and completed once its answer is read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterable
from dataclasses import asdict
from typing import Any

from deepseek_provider.exceptions import NoUsableKeyError
from deepseek_provider.hooks.deepseek import DeepSeekHook
from deepseek_provider.keystore import KeyStatus
from deepseek_provider.ledger import AttemptRecord
from deepseek_provider.redact import clip

from quincena.core import config, db

CONTEXT_COLUMNS = ("company_nit", "cycle_id", "purpose")
RECORD_RETRY_S = 60.0  # how long an attempt's ledger row waits out a database restart or failover


class _ThreadConnections:
    """One database connection per thread: a hook serves several threads, psycopg connections do not.

    Deliberately not ``db.session()``'s connection: a ledger row must commit on its own even when the
    caller has a transaction open on its session, and a broken connection is replaced here (``get``) so
    ``PostgresCallRecorder`` can retry through a database restart."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = db.connect()
            self._local.conn = conn
        return conn


class PostgresKeyStore:
    """KeyStore over ``api_keys``: atomic least-used picks shared by every process."""

    def __init__(self, conn_id: str = config.DEEPSEEK_CONN_ID) -> None:
        self.conn_id = conn_id
        self._connections = _ThreadConnections()

    def register(self, names: Iterable[str]) -> None:
        conn = self._connections.get()
        with db.transaction(conn) as cur:
            db.execute_many("api_key_register", [{"name": n, "conn_id": self.conn_id} for n in names], cur)

    def pick(self, names: Collection[str], exclude: Collection[str] = ()) -> str:
        params = {"names": list(names), "exclude": list(exclude)}
        conn = self._connections.get()
        # SKIP LOCKED finds nothing when every active key is being picked right now; then wait for one.
        rows = db.query("api_key_pick", params, conn) or db.query("api_key_pick_wait", params, conn)
        if not rows:
            raise NoUsableKeyError(f"no usable DeepSeek key: all of {sorted(names)} are disabled or unknown")
        return rows[0]["name"]

    def disable(self, name: str, reason: str) -> None:
        """The reason is scrubbed of anything key-shaped, then cut: it lands in a table (and the WAL)."""
        db.execute("api_key_disable", {"name": name, "reason": clip(reason)}, self._connections.get())

    def enable(self, name: str) -> bool:
        return bool(db.query("api_key_enable", {"name": name}, self._connections.get()))

    def statuses(self) -> dict[str, KeyStatus]:
        return {
            row["name"]: KeyStatus(
                name=row["name"],
                active=row["status"] == "active",
                picks=row["picks"],
                disabled_at=row["disabled_at"],
                disabled_reason=row["disabled_reason"],
            )
            for row in db.query("api_key_list", conn=self._connections.get())
            if row["conn_id"] == self.conn_id
        }


class PostgresCallRecorder:
    """Write-ahead CallRecorder: one ``api_calls`` row per attempt, ``in_flight`` before the request and
    completed after it (both idempotent on attempt_id)."""

    def __init__(self) -> None:
        self._connections = _ThreadConnections()

    def begin(self, attempt: AttemptRecord) -> None:
        self._write("api_call_insert", attempt)

    def finish(self, attempt: AttemptRecord) -> None:
        self._write("api_call_finish", attempt)

    record = finish  # a one-shot record of a finished attempt

    def _write(self, statement: str, attempt: AttemptRecord) -> None:
        """Write the row, retrying through a lost connection: the attempt happened and may be billed,
        so its row must not be dropped while PostgreSQL restarts (both writes are idempotent)."""
        import psycopg

        row = row_of(attempt)
        give_up = time.monotonic() + RECORD_RETRY_S
        while True:
            try:
                db.execute(statement, row, self._connections.get())
                return
            except psycopg.OperationalError:
                if time.monotonic() >= give_up:
                    raise
                time.sleep(0.2)  # a reconnection backoff (the broken connection is replaced by get())


def row_of(attempt: AttemptRecord) -> dict[str, Any]:
    """The api_calls parameters of an attempt: context keys become columns, the rest is dropped."""
    row = asdict(attempt)
    context = row.pop("context") or {}
    row.update({column: context.get(column) for column in CONTEXT_COLUMNS})
    return row


def pipeline_hook(conn_id: str = config.DEEPSEEK_CONN_ID) -> DeepSeekHook:
    """The hook as the pipeline uses it: PostgreSQL rotation and ledger, the project's price table
    (deepseek.prices: QUINCENA_PRICE_TABLE, else include/prices.json, else the provider's)."""
    from quincena.deepseek import prices

    return DeepSeekHook(
        deepseek_conn_id=conn_id,
        key_store=PostgresKeyStore(conn_id),
        recorder=PostgresCallRecorder(),
        price_table=prices.load(),
    )
