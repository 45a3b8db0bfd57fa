"""`quincena db`: the firm's PostgreSQL (embedded unless DATABASE_URL or the connection is set)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path

from quincena.cli import UserError


def add_cli(sub: argparse._SubParsersAction) -> None:
    db_parser = sub.add_parser("db", help="the firm's PostgreSQL (embedded unless DATABASE_URL is set)")
    db_sub = db_parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("migrate", help="apply schema migrations and load the PUC catalog").set_defaults(handler=_migrate)
    db_sub.add_parser("start", help="start the embedded PostgreSQL and print its URI").set_defaults(handler=_start)
    db_sub.add_parser("stop", help="stop the embedded PostgreSQL").set_defaults(handler=_stop)


def prepare_database() -> str:
    """Resolve, migrate and load the catalog; every command that needs data calls this."""
    from quincena.core import db

    return db.prepare()[0]


def import_csv(path: Path, read: Callable[[Path], list], upsert: Callable[[list], object], what: str) -> int:
    """`… import FILE`: validate the whole file (one line per error), then write it, then say how many."""
    from quincena.core.spreadsheet import SpreadsheetError

    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        rows = read(path)
    except SpreadsheetError as exc:
        raise UserError(str(exc)) from None
    prepare_database()
    upsert(rows)
    print(f"{len(rows)} {what} imported from {path}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from quincena.core import db

    where, applied, accounts = db.prepare()
    print(f"database: {redact(where)}; applied {len(applied)} migration(s) {applied}; {accounts} PUC accounts")
    return 0


def _start(args: argparse.Namespace) -> int:
    from quincena.devtools import embedded

    print(embedded.start(persistent=True))
    return 0


def _stop(args: argparse.Namespace) -> int:
    from quincena.devtools import embedded

    print("stopped" if embedded.stop() else "not running")
    return 0


def redact(uri: str) -> str:
    """Hide a password in a URI before printing it."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", uri)
